//! The generated descriptors match the contract in spec sections 1-3, name for name and
//! number for number, and the JSON mapping matches section 4 and the seed documents.

use coreweave_test_support::{json_keys, VPC_JSON_KEYS};
use std::collections::BTreeSet;

use coreweave_api::{
    inference::v1alpha1::{
        create_gateway_request, CreateGatewayRequest, CreateGatewayResponse, DeleteGatewayResponse,
        Gateway, GetGatewayParametersResponse, GetGatewayResponse, ListGatewaysResponse,
        UpdateGatewayResponse,
    },
    json::{self, Output, Unknown},
    networking::v1beta1::{
        host_prefix, CreateVpcRequest, CreateVpcResponse, DeleteVpcResponse, GetVpcResponse,
        HostPrefix, ListVpCsResponse, UpdateVpcRequest, UpdateVpcResponse, Vpc,
    },
    FILE_DESCRIPTOR_SET,
};
use prost::{Message, Name};
use prost_types::{
    field_descriptor_proto::{Label, Type},
    DescriptorProto, EnumDescriptorProto, FileDescriptorSet,
};
use serde_json::{json, Value};
use tonic_types::{ErrorDetails, StatusExt};

/// The contract, one line per RPC, field and enum value, in the format `dump` produces.
const EXPECTED: &str = "
rpc coreweave.networking.v1beta1.VPCService.CreateVPC(CreateVPCRequest) returns (CreateVPCResponse)
rpc coreweave.networking.v1beta1.VPCService.GetVPC(GetVPCRequest) returns (GetVPCResponse)
rpc coreweave.networking.v1beta1.VPCService.ListVPCs(ListVPCsRequest) returns (ListVPCsResponse)
rpc coreweave.networking.v1beta1.VPCService.UpdateVPC(UpdateVPCRequest) returns (UpdateVPCResponse)
rpc coreweave.networking.v1beta1.VPCService.DeleteVPC(DeleteVPCRequest) returns (DeleteVPCResponse)
field VPC.name = 1 string
field VPC.zone = 2 string
field VPC.id = 3 string
field VPC.vpc_prefixes = 4 repeated Prefix
field VPC.created_at = 5 google.protobuf.Timestamp
field VPC.updated_at = 6 google.protobuf.Timestamp
field VPC.host_prefix = 7 string
field VPC.host_prefixes = 8 repeated HostPrefix
field VPC.ingress = 9 Ingress
field VPC.egress = 10 Egress
field VPC.dhcp = 11 DHCP
field VPC.status = 12 VPC.Status
enum VPC.Status STATUS_UNSPECIFIED = 0
enum VPC.Status STATUS_CREATING = 1
enum VPC.Status STATUS_READY = 2
enum VPC.Status STATUS_UPDATING = 3
enum VPC.Status STATUS_DELETING = 4
field HostPrefix.name = 1 string
field HostPrefix.prefixes = 2 repeated string
field HostPrefix.type = 3 HostPrefix.Type
field HostPrefix.ipam = 4 IPAddressManagementPolicy
enum HostPrefix.Type UNSPECIFIED = 0
enum HostPrefix.Type PRIMARY = 1
enum HostPrefix.Type ROUTED = 2
enum HostPrefix.Type ATTACHED = 3
field IPAddressManagementPolicy.prefix_length = 1 int32
field IPAddressManagementPolicy.gateway_address_policy = 2 IPAddressManagementPolicy.GatewayAddressPolicy
enum IPAddressManagementPolicy.GatewayAddressPolicy UNSPECIFIED = 0
enum IPAddressManagementPolicy.GatewayAddressPolicy EUI64 = 1
enum IPAddressManagementPolicy.GatewayAddressPolicy FIRST_IP = 2
enum IPAddressManagementPolicy.GatewayAddressPolicy LAST_IP = 3
field Prefix.name = 1 string
field Prefix.value = 2 string
field Prefix.created_at = 3 google.protobuf.Timestamp
field Prefix.updated_at = 4 google.protobuf.Timestamp
field Prefix.status = 5 Prefix.Status
enum Prefix.Status STATUS_UNSPECIFIED = 0
enum Prefix.Status STATUS_AVAILABLE = 1
field Ingress.disable_public_services = 1 bool
field Egress.disable_public_access = 1 bool
field DHCP.dns = 1 DHCP.DNS
field DHCP.DNS.servers = 1 repeated string
field CreateVPCRequest.name = 1 string
field CreateVPCRequest.zone = 2 string
field CreateVPCRequest.vpc_prefixes = 3 repeated Prefix
field CreateVPCRequest.host_prefix = 4 string
field CreateVPCRequest.host_prefixes = 5 repeated HostPrefix
field CreateVPCRequest.ingress = 6 Ingress
field CreateVPCRequest.egress = 7 Egress
field CreateVPCRequest.dhcp = 8 DHCP
field CreateVPCResponse.vpc = 1 VPC
field GetVPCRequest.id = 1 string
field GetVPCResponse.vpc = 1 VPC
message ListVPCsRequest
field ListVPCsResponse.items = 1 repeated VPC
field UpdateVPCRequest.id = 1 string
field UpdateVPCRequest.update_mask = 2 google.protobuf.FieldMask
field UpdateVPCRequest.vpc_prefixes = 3 repeated Prefix
field UpdateVPCRequest.ingress = 4 Ingress
field UpdateVPCRequest.egress = 5 Egress
field UpdateVPCRequest.dhcp = 6 DHCP
field UpdateVPCResponse.vpc = 1 VPC
field DeleteVPCRequest.id = 1 string
field DeleteVPCResponse.vpc = 1 VPC
rpc coreweave.inference.v1alpha1.GatewayService.CreateGateway(CreateGatewayRequest) returns (CreateGatewayResponse)
rpc coreweave.inference.v1alpha1.GatewayService.GetGateway(GetGatewayRequest) returns (GetGatewayResponse)
rpc coreweave.inference.v1alpha1.GatewayService.ListGateways(ListGatewaysRequest) returns (ListGatewaysResponse)
rpc coreweave.inference.v1alpha1.GatewayService.UpdateGateway(UpdateGatewayRequest) returns (UpdateGatewayResponse)
rpc coreweave.inference.v1alpha1.GatewayService.DeleteGateway(DeleteGatewayRequest) returns (DeleteGatewayResponse)
rpc coreweave.inference.v1alpha1.GatewayService.GetGatewayParameters(GetGatewayParametersRequest) returns (GetGatewayParametersResponse)
enum Status STATUS_UNSPECIFIED = 0
enum Status STATUS_CREATING = 1
enum Status STATUS_READY = 2
enum Status STATUS_UPDATING = 3
enum Status STATUS_DELETING = 4
enum Status STATUS_ERROR = 5
enum Status STATUS_FAILED = 6
field Gateway.spec = 1 GatewaySpec
field Gateway.status = 2 GatewayStatus
field GatewaySpec.id = 1 string
field GatewaySpec.name = 2 string
field GatewaySpec.zones = 3 repeated string
field GatewaySpec.core_weave_auth = 4 CoreWeaveAuth oneof auth
field GatewaySpec.weights_and_biases_auth = 5 WeightsAndBiasesAuth oneof auth
field GatewaySpec.organization_id = 6 string
field GatewaySpec.endpoint_configuration = 7 EndpointConfiguration
field GatewaySpec.body_based_routing = 8 BodyBasedRouting oneof routing
field GatewaySpec.header_based_routing = 9 HeaderBasedRouting oneof routing
field GatewaySpec.path_based_routing = 10 PathBasedRouting oneof routing
field GatewayStatus.created_at = 1 google.protobuf.Timestamp
field GatewayStatus.updated_at = 2 google.protobuf.Timestamp
field GatewayStatus.status = 3 Status
field GatewayStatus.conditions = 4 repeated Condition
field GatewayStatus.endpoints = 5 repeated string
field Condition.type = 1 string
field Condition.status = 2 Condition.Status
field Condition.last_update_time = 3 google.protobuf.Timestamp
field Condition.reason = 4 string
field Condition.message = 5 string
field Condition.zone = 6 string
enum Condition.Status STATUS_UNSPECIFIED = 0
enum Condition.Status STATUS_TRUE = 1
enum Condition.Status STATUS_FALSE = 2
enum Condition.Status STATUS_UNKNOWN = 3
message CoreWeaveAuth
field WeightsAndBiasesAuth.api_key = 1 string
field WeightsAndBiasesAuth.server_url = 2 string
field WeightsAndBiasesAuth.enable_usage_reports = 3 bool
field WeightsAndBiasesAuth.enable_rate_limiting = 4 bool
field BodyBasedRouting.api_type = 1 BodyBasedRouting.APIType
enum BodyBasedRouting.APIType API_TYPE_UNSPECIFIED = 0
enum BodyBasedRouting.APIType API_TYPE_OPENAI = 1
field HeaderBasedRouting.header_name = 1 string
message PathBasedRouting
field EndpointConfiguration.additional_dns = 1 repeated string
field CreateGatewayRequest.name = 1 string
field CreateGatewayRequest.zones = 2 repeated string
field CreateGatewayRequest.id = 3 string
field CreateGatewayRequest.core_weave_auth = 4 CoreWeaveAuth oneof auth
field CreateGatewayRequest.weights_and_biases_auth = 5 WeightsAndBiasesAuth oneof auth
field CreateGatewayRequest.endpoint_configuration = 6 EndpointConfiguration
field CreateGatewayRequest.body_based_routing = 7 BodyBasedRouting oneof routing
field CreateGatewayRequest.header_based_routing = 8 HeaderBasedRouting oneof routing
field CreateGatewayRequest.path_based_routing = 9 PathBasedRouting oneof routing
field CreateGatewayResponse.gateway = 1 Gateway
field GetGatewayRequest.id = 1 string
field GetGatewayResponse.gateway = 1 Gateway
field ListGatewaysRequest.updated_after = 1 google.protobuf.Timestamp
field ListGatewaysResponse.items = 1 repeated Gateway
field UpdateGatewayRequest.id = 1 string
field UpdateGatewayRequest.name = 2 string
field UpdateGatewayRequest.zones = 3 repeated string
field UpdateGatewayRequest.core_weave_auth = 4 CoreWeaveAuth oneof auth
field UpdateGatewayRequest.weights_and_biases_auth = 5 WeightsAndBiasesAuth oneof auth
field UpdateGatewayRequest.endpoint_configuration = 6 EndpointConfiguration
field UpdateGatewayRequest.body_based_routing = 7 BodyBasedRouting oneof routing
field UpdateGatewayRequest.header_based_routing = 8 HeaderBasedRouting oneof routing
field UpdateGatewayRequest.path_based_routing = 9 PathBasedRouting oneof routing
field UpdateGatewayResponse.gateway = 1 Gateway
field DeleteGatewayRequest.id = 1 string
field DeleteGatewayResponse.gateway = 1 Gateway
message GetGatewayParametersRequest
field GetGatewayParametersResponse.zones = 1 repeated string
";

/// Renders our two files of the descriptor set in the line format of `EXPECTED`.
fn dump(set: &FileDescriptorSet) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    for file in set
        .file
        .iter()
        .filter(|f| f.package().starts_with("coreweave."))
    {
        let package = file.package();
        for service in &file.service {
            for method in &service.method {
                lines.insert(format!(
                    "rpc {package}.{}.{}({}) returns ({})",
                    service.name(),
                    method.name(),
                    short(package, method.input_type()),
                    short(package, method.output_type()),
                ));
            }
        }
        for message in &file.message_type {
            dump_message(package, "", message, &mut lines);
        }
        for enumeration in &file.enum_type {
            dump_enum("", enumeration, &mut lines);
        }
    }
    lines
}

fn dump_message(
    package: &str,
    prefix: &str,
    message: &DescriptorProto,
    lines: &mut BTreeSet<String>,
) {
    let name = format!("{prefix}{}", message.name());
    if message.field.is_empty() {
        lines.insert(format!("message {name}"));
    }
    for field in &message.field {
        let repeated = if field.label() == Label::Repeated {
            "repeated "
        } else {
            ""
        };
        let kind = match field.r#type() {
            Type::Message | Type::Enum => short(package, field.type_name()),
            Type::String => "string".into(),
            Type::Bool => "bool".into(),
            Type::Int32 => "int32".into(),
            other => format!("{other:?}"),
        };
        let oneof = field
            .oneof_index
            .map(|i| format!(" oneof {}", message.oneof_decl[i as usize].name()))
            .unwrap_or_default();
        lines.insert(format!(
            "field {name}.{} = {} {repeated}{kind}{oneof}",
            field.name(),
            field.number()
        ));
    }
    for nested in &message.nested_type {
        dump_message(package, &format!("{name}."), nested, lines);
    }
    for enumeration in &message.enum_type {
        dump_enum(&format!("{name}."), enumeration, lines);
    }
}

fn dump_enum(prefix: &str, enumeration: &EnumDescriptorProto, lines: &mut BTreeSet<String>) {
    for value in &enumeration.value {
        lines.insert(format!(
            "enum {prefix}{} {} = {}",
            enumeration.name(),
            value.name(),
            value.number()
        ));
    }
}

/// `.coreweave.x.v1.Foo` becomes `Foo` in its own package; other types lose only the dot.
fn short(package: &str, type_name: &str) -> String {
    let type_name = type_name.trim_start_matches('.');
    type_name
        .strip_prefix(package)
        .map(|rest| rest.trim_start_matches('.').to_owned())
        .unwrap_or_else(|| type_name.to_owned())
}

#[test]
fn descriptors_match_the_contract_exactly() {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
    let actual = dump(&set);
    let expected: BTreeSet<String> = EXPECTED
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let missing: Vec<_> = expected.difference(&actual).collect();
    let unexpected: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "contract mismatch\nmissing from the protos: {missing:#?}\nnot in the contract: {unexpected:#?}"
    );
}

#[test]
fn files_and_packages_are_where_the_spec_puts_them() {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
    let files: BTreeSet<(&str, &str)> = set
        .file
        .iter()
        .map(|f| (f.name(), f.package()))
        .filter(|(_, p)| p.starts_with("coreweave."))
        .collect();
    assert_eq!(
        files,
        BTreeSet::from([
            (
                "coreweave/networking/v1beta1/vpc.proto",
                "coreweave.networking.v1beta1"
            ),
            (
                "coreweave/inference/v1alpha1/gateway.proto",
                "coreweave.inference.v1alpha1"
            ),
        ])
    );
    // Reflection needs the imported well-known types too.
    assert!(set
        .file
        .iter()
        .any(|f| f.name() == "google/protobuf/timestamp.proto"));
    assert!(set
        .file
        .iter()
        .any(|f| f.name() == "google/protobuf/field_mask.proto"));
}

#[test]
fn every_service_rpc_message_and_field_is_documented() {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
    for file in set
        .file
        .iter()
        .filter(|f| f.package().starts_with("coreweave."))
    {
        let info = file.source_code_info.as_ref().expect("source info is kept");
        let documented: BTreeSet<Vec<i32>> = info
            .location
            .iter()
            .filter(|l| !l.leading_comments().trim().is_empty())
            .map(|l| l.path.clone())
            .collect();
        // Services (6), their methods (2), messages (4), their fields (2): every element.
        for (s, service) in file.service.iter().enumerate() {
            assert!(
                documented.contains(&vec![6, s as i32]),
                "service {}",
                service.name()
            );
            for (m, method) in service.method.iter().enumerate() {
                assert!(
                    documented.contains(&vec![6, s as i32, 2, m as i32]),
                    "rpc {}",
                    method.name()
                );
            }
        }
        for (m, message) in file.message_type.iter().enumerate() {
            assert!(
                documented.contains(&vec![4, m as i32]),
                "message {}",
                message.name()
            );
            for (f, field) in message.field.iter().enumerate() {
                assert!(
                    documented.contains(&vec![4, m as i32, 2, f as i32]),
                    "field {}.{}",
                    message.name(),
                    field.name()
                );
            }
        }
    }
}

// ---- JSON (spec section 4) ----

/// The gateway create body from the seed document, with the placeholders filled in. The seed
/// lists both auth members to show the choice; a real request sends one.
const SEED_GATEWAY_BODY: &str = r#"
{
"name": "my-gateway",
"zones": [
"US-EAST-04A"
],
"id": "3f1c2a9e-8b7d-4e6f-a5c4-1d2e3f4a5b6c",
"weightsAndBiasesAuth": {
"apiKey": "wandb-key-123",
"serverUrl": "https://api.wandb.ai",
"enableUsageReports": true,
"enableRateLimiting": true
},
"endpointConfiguration": {
"additionalDns": [
"inference.example.com"
]
},
"pathBasedRouting": {}
}
"#;

/// The VPC create body from the seed document, with realistic values.
const SEED_VPC_BODY: &str = r#"{"name": "my-vpc","zone": "US-EAST-04A","hostPrefixes": [{"name": "primary","type": "PRIMARY","prefixes": ["10.16.0.0/18","fd00:16::/48"]},{"name": "pods","type": "ROUTED","prefixes": ["10.128.0.0/16"],"ipam": {"prefixLength": 24,"gatewayAddressPolicy": "FIRST_IP"}}],"vpcPrefixes": [{"name": "workloads","value": "172.16.0.0/16"}],"ingress": {"disablePublicServices": true},"egress": {"disablePublicAccess": false},"dhcp": {"dns": {"servers": ["1.1.1.1","8.8.8.8"]}}}"#;

fn read<T: Message + Name + Default>(body: &str) -> T {
    json::from_slice(body.as_bytes(), Unknown::Reject)
        .expect("body parses")
        .message
}

fn canonical<T: Message + Name>(message: &T) -> Value {
    json::to_value(message, Output::Canonical).expect("message writes")
}

#[test]
fn seed_gateway_body_parses_and_round_trips_with_camel_case_keys() {
    let request: CreateGatewayRequest = read(SEED_GATEWAY_BODY);
    assert_eq!(request.name, "my-gateway");
    let Some(create_gateway_request::Auth::WeightsAndBiasesAuth(wandb)) = &request.auth else {
        panic!("auth: {:?}", request.auth);
    };
    assert_eq!(wandb.server_url, "https://api.wandb.ai");
    assert!(wandb.enable_rate_limiting);
    assert!(matches!(
        request.routing,
        Some(create_gateway_request::Routing::PathBasedRouting(_))
    ));

    let json = canonical(&request);
    assert_eq!(json["weightsAndBiasesAuth"]["apiKey"], "wandb-key-123");
    assert_eq!(
        json["endpointConfiguration"]["additionalDns"][0],
        "inference.example.com"
    );
    assert_eq!(json["pathBasedRouting"], json!({}));
    let core_weave: CreateGatewayRequest =
        read(r#"{"name":"g","coreWeaveAuth":{},"bodyBasedRouting":{"apiType":"API_TYPE_OPENAI"}}"#);
    let json = canonical(&core_weave);
    assert_eq!(json["coreWeaveAuth"], json!({}));
    assert_eq!(json["bodyBasedRouting"]["apiType"], "API_TYPE_OPENAI");
}

#[test]
fn seed_vpc_body_parses_with_enums_by_name() {
    let request: CreateVpcRequest = read(SEED_VPC_BODY);
    assert_eq!(request.host_prefixes.len(), 2);
    assert_eq!(
        request.host_prefixes[0].r#type(),
        host_prefix::Type::Primary
    );
    assert_eq!(
        request.host_prefixes[1]
            .ipam
            .as_ref()
            .unwrap()
            .prefix_length,
        24
    );
    let json = canonical(&request);
    assert_eq!(json["hostPrefixes"][0]["type"], "PRIMARY");
    assert_eq!(
        json["hostPrefixes"][1]["ipam"]["gatewayAddressPolicy"],
        "FIRST_IP"
    );
    assert_eq!(json["ingress"]["disablePublicServices"], true);
    assert_eq!(json["dhcp"]["dns"]["servers"][1], "8.8.8.8");
}

#[test]
fn update_mask_is_one_comma_separated_camel_case_string() {
    let body = r#"{"updateMask":"vpcPrefixes,ingress.disablePublicServices","ingress":{"disablePublicServices":true}}"#;
    let request: UpdateVpcRequest = read(body);
    let paths = &request.update_mask.as_ref().unwrap().paths;
    assert_eq!(paths, &["vpc_prefixes", "ingress.disable_public_services"]);
    assert_eq!(
        canonical(&request)["updateMask"],
        "vpcPrefixes,ingress.disablePublicServices"
    );
}

#[test]
fn snake_case_keys_are_accepted_too() {
    let request: CreateVpcRequest =
        read(r#"{"name":"v","zone":"z","host_prefix":"10.0.0.0/16","vpc_prefixes":[]}"#);
    #[allow(deprecated)]
    let legacy = request.host_prefix;
    assert_eq!(legacy, "10.0.0.0/16");
}

#[test]
fn two_members_of_one_oneof_are_rejected() {
    let parse =
        |body: &str| json::from_slice::<CreateGatewayRequest>(body.as_bytes(), Unknown::Report);
    let error = parse(r#"{"name":"g","coreWeaveAuth":{},"weightsAndBiasesAuth":{"apiKey":"k"},"pathBasedRouting":{}}"#)
        .unwrap_err();
    assert_eq!(error.field.as_deref(), Some("weights_and_biases_auth"));
    assert!(error.description.contains("oneof 'auth'"), "{error}");
    let error =
        parse(r#"{"name":"g","coreWeaveAuth":{},"pathBasedRouting":{},"headerBasedRouting":{"headerName":"x"}}"#)
            .unwrap_err();
    assert!(error.description.contains("oneof 'routing'"), "{error}");
}

#[test]
fn bad_enum_names_are_rejected_and_name_the_choices() {
    let bad_enum = r#"{"hostPrefixes":[{"name":"p","type":"primary"}]}"#;
    let error =
        json::from_slice::<CreateVpcRequest>(bad_enum.as_bytes(), Unknown::Report).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("host_prefixes[0].type"));
    assert!(
        error
            .description
            .contains("one of UNSPECIFIED, PRIMARY, ROUTED, ATTACHED"),
        "{error}"
    );
}

#[test]
fn parameters_response_writes_zones() {
    let response = GetGatewayParametersResponse {
        zones: vec!["US-EAST-04A".into()],
    };
    assert_eq!(canonical(&response), json!({"zones": ["US-EAST-04A"]}));
}

/// A fully populated VPC and gateway, as the mock returns them.
fn populated() -> (Vpc, Gateway) {
    let vpc: Vpc = read(
        r#"{"name":"v","zone":"US-EAST-04A","id":"8c1b7c43-4a4e-4a43-9d7c-1e1f0c2b5a11",
        "vpcPrefixes":[{"name":"w","value":"172.16.0.0/16","createdAt":"2025-01-01T00:00:00Z",
        "updatedAt":"2025-01-01T00:00:01.5Z","status":"STATUS_AVAILABLE"}],
        "createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-02T00:00:00Z",
        "hostPrefix":"10.16.0.0/18","hostPrefixes":[{"name":"p","type":"PRIMARY","prefixes":["10.16.0.0/18"]},
        {"name":"r","type":"ROUTED","prefixes":["10.128.0.0/16"],"ipam":{"prefixLength":24,"gatewayAddressPolicy":"LAST_IP"}}],
        "ingress":{"disablePublicServices":true},"egress":{"disablePublicAccess":true},
        "dhcp":{"dns":{"servers":["1.1.1.1"]}},"status":"STATUS_READY"}"#,
    );
    let gateway: Gateway = read(
        r#"{"spec":{"id":"8c1b7c43-4a4e-4a43-9d7c-1e1f0c2b5a11","name":"g","zones":["US-EAST-04A"],
        "weightsAndBiasesAuth":{"serverUrl":"https://api.wandb.ai","enableUsageReports":true},
        "organizationId":"org","endpointConfiguration":{"additionalDns":["a.example.com"]},
        "headerBasedRouting":{"headerName":"x-model"}},
        "status":{"createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-01T00:00:00Z","status":"STATUS_READY",
        "conditions":[{"type":"Ready","status":"STATUS_TRUE","lastUpdateTime":"2025-01-01T00:00:00Z",
        "reason":"AsExpected","message":"ready","zone":"US-EAST-04A"}],"endpoints":["https://g.example.com"]}}"#,
    );
    (vpc, gateway)
}

/// Writes a message in both output modes and reads each back.
fn round_trips<T: json::ApiMessage + Default + PartialEq + std::fmt::Debug>(message: &T) {
    for output in [Output::Canonical, Output::EmitUnpopulated] {
        let text = json::to_vec(message, output).unwrap();
        let back: T = json::from_slice(&text, Unknown::Reject).unwrap().message;
        assert_eq!(
            &back,
            message,
            "{output:?}: {}",
            String::from_utf8_lossy(&text)
        );
    }
}

#[test]
fn every_response_message_round_trips_in_both_output_modes() {
    let (vpc, gateway) = populated();
    round_trips(&CreateVpcResponse {
        vpc: Some(vpc.clone()),
    });
    round_trips(&GetVpcResponse {
        vpc: Some(vpc.clone()),
    });
    round_trips(&UpdateVpcResponse {
        vpc: Some(vpc.clone()),
    });
    round_trips(&DeleteVpcResponse {
        vpc: Some(vpc.clone()),
    });
    round_trips(&ListVpCsResponse {
        items: vec![vpc.clone(), Vpc::default()],
    });
    round_trips(&CreateGatewayResponse {
        gateway: Some(gateway.clone()),
    });
    round_trips(&GetGatewayResponse {
        gateway: Some(gateway.clone()),
    });
    round_trips(&UpdateGatewayResponse {
        gateway: Some(gateway.clone()),
    });
    round_trips(&DeleteGatewayResponse {
        gateway: Some(gateway.clone()),
    });
    round_trips(&ListGatewaysResponse {
        items: vec![gateway, Gateway::default()],
    });
    round_trips(&GetGatewayParametersResponse {
        zones: vec!["US-EAST-04A".into()],
    });
    round_trips(&ListVpCsResponse::default());
}

#[test]
fn emit_unpopulated_writes_every_field_as_the_spec_lists() {
    let vpc = Vpc {
        name: "v".into(),
        zone: "US-EAST-04A".into(),
        host_prefixes: vec![HostPrefix {
            name: "host primary".into(),
            prefixes: vec!["10.16.0.0/18".into()],
            r#type: host_prefix::Type::Primary.into(),
            ipam: None,
        }],
        ..Vpc::default()
    };
    let json = json::to_value(&vpc, Output::EmitUnpopulated).unwrap();
    assert_eq!(json_keys(&json), VPC_JSON_KEYS.into());
    assert_eq!(json["id"], "");
    assert_eq!(json["vpcPrefixes"], json!([]));
    assert_eq!(json["createdAt"], Value::Null);
    assert_eq!(json["dhcp"], Value::Null);
    assert_eq!(json["status"], "STATUS_UNSPECIFIED");
    assert_eq!(json["hostPrefixes"][0]["ipam"], Value::Null);
    assert_eq!(json["hostPrefixes"][0]["type"], "PRIMARY");

    // Oneof members: the set one is written, the unset ones are left out.
    let (_, gateway) = populated();
    let json = json::to_value(&gateway, Output::EmitUnpopulated).unwrap();
    let spec = json["spec"].as_object().unwrap();
    assert_eq!(spec["weightsAndBiasesAuth"]["apiKey"], "");
    assert_eq!(spec["weightsAndBiasesAuth"]["enableRateLimiting"], false);
    assert!(!spec.contains_key("coreWeaveAuth"));
    assert!(!spec.contains_key("bodyBasedRouting"));
    assert!(!spec.contains_key("pathBasedRouting"));
    assert_eq!(spec["headerBasedRouting"]["headerName"], "x-model");

    // Canonical output leaves the defaults out.
    let json = canonical(&Vpc {
        name: "v".into(),
        ..Vpc::default()
    });
    assert_eq!(json, json!({"name": "v"}));
}

#[test]
fn error_statuses_are_written_with_every_field_and_their_details() {
    let status = tonic::Status::with_error_details(
        tonic::Code::InvalidArgument,
        "name: bad",
        ErrorDetails::with_bad_request_violation("name", "bad"),
    );
    let rpc = tonic_types::pb::Status::decode(status.details()).unwrap();
    let json = json::status_to_value(&rpc, Output::EmitUnpopulated).unwrap();
    assert_eq!(json["code"], 3);
    assert_eq!(json["message"], "name: bad");
    let detail = &json["details"][0];
    assert_eq!(detail["@type"], "type.googleapis.com/google.rpc.BadRequest");
    assert_eq!(detail["fieldViolations"][0]["field"], "name");
    assert_eq!(detail["fieldViolations"][0]["reason"], "");

    let read = json::status_from_slice(json.to_string().as_bytes()).unwrap();
    assert_eq!(read, rpc);
}
