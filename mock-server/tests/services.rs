//! The mock server through the raw generated stubs: every validation rule (spec section 5),
//! the lifecycle (section 6), auth and isolation (section 7), error details (section 8),
//! limits, faults, concurrency and graceful shutdown.

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::*;
use coreweave_api::{
    inference::v1alpha1::{
        condition, CreateGatewayRequest, DeleteGatewayRequest, GetGatewayParametersRequest,
        GetGatewayRequest, ListGatewaysRequest, Status as GatewayStatus, UpdateGatewayRequest,
    },
    json,
    networking::v1beta1::{
        prefix, vpc, CreateVpcRequest, DeleteVpcRequest, GetVpcRequest, ListVpCsRequest,
        UpdateVpcRequest,
    },
};
use coreweave_mock::{Fault, Limits, ManualClock, Method, MockServer};
use serde_json::{json, Value};
use tonic::Code;
use tonic_types::StatusExt;

fn parse<T: prost::Message + prost::Name + Default>(value: Value) -> T {
    json::from_value(value, json::Unknown::Reject)
        .expect("test body parses")
        .message
}

fn primary(prefixes: &[&str]) -> Value {
    json!({"name": "primary", "type": "PRIMARY", "prefixes": prefixes})
}

fn secondary(name: &str, kind: &str, prefixes: &[&str], ipam: Option<Value>) -> Value {
    let mut value = json!({"name": name, "type": kind, "prefixes": prefixes});
    if let Some(ipam) = ipam {
        value["ipam"] = ipam;
    }
    value
}

fn vpc_body(extra: Value) -> Value {
    let mut body = json!({"name": "test-vpc", "zone": "US-EAST-04A"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

/// Each case: a label, a create body, and the exact sorted field paths expected in the
/// BadRequest (empty for a valid request).
fn vpc_create_cases() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    let dns: Vec<String> = (0..17).map(|i| format!("10.0.0.{i}")).collect();
    vec![
        ("minimal", vpc_body(json!({})), vec![]),
        (
            "lowercase zone",
            vpc_body(json!({"zone": "us-east-04a"})),
            vec![],
        ),
        (
            "30-char name",
            vpc_body(json!({"name": "a".repeat(30)})),
            vec![],
        ),
        (
            "legacy host prefix",
            vpc_body(json!({"hostPrefix": "10.0.0.0/16"})),
            vec![],
        ),
        (
            "legacy ipv6 host prefix",
            vpc_body(json!({"hostPrefix": "fd00::/48"})),
            vec![],
        ),
        (
            "dual stack with secondaries",
            vpc_body(json!({"hostPrefixes": [
                primary(&["10.0.0.0/18", "fd00:1::/48"]),
                secondary("pods", "ROUTED", &["10.64.0.0/16"], Some(json!({"prefixLength": 24, "gatewayAddressPolicy": "FIRST_IP"}))),
                secondary("pods6", "ATTACHED", &["fd00:2::/48"], Some(json!({"prefixLength": 64, "gatewayAddressPolicy": "EUI64"}))),
                secondary("more", "ROUTED", &["10.65.0.0/16", "10.66.0.0/16"], None),
            ]})),
            vec![],
        ),
        (
            "16 dns servers",
            vpc_body(json!({"dhcp": {"dns": {"servers": dns[..16]}}})),
            vec![],
        ),
        (
            "vpc prefixes",
            vpc_body(
                json!({"vpcPrefixes": [{"name": "a", "value": "172.16.0.0/16"}, {"name": "b", "value": "172.17.0.0/24"}]}),
            ),
            vec![],
        ),
        ("missing name and zone", json!({}), vec!["name", "zone"]),
        (
            "31-char name",
            vpc_body(json!({"name": "a".repeat(31)})),
            vec!["name"],
        ),
        (
            "uppercase name",
            vpc_body(json!({"name": "My-VPC"})),
            vec!["name"],
        ),
        (
            "leading dash",
            vpc_body(json!({"name": "-vpc"})),
            vec!["name"],
        ),
        (
            "trailing dash",
            vpc_body(json!({"name": "vpc-"})),
            vec!["name"],
        ),
        (
            "underscore",
            vpc_body(json!({"name": "my_vpc"})),
            vec!["name"],
        ),
        (
            "unknown zone",
            vpc_body(json!({"zone": "MARS-01A"})),
            vec!["zone"],
        ),
        (
            "both host prefix fields",
            vpc_body(
                json!({"hostPrefix": "10.0.0.0/16", "hostPrefixes": [primary(&["10.0.0.0/16"])]}),
            ),
            vec!["host_prefix"],
        ),
        (
            "legacy host bits",
            vpc_body(json!({"hostPrefix": "10.0.0.1/16"})),
            vec!["host_prefix"],
        ),
        (
            "legacy too small",
            vpc_body(json!({"hostPrefix": "10.0.0.0/24"})),
            vec!["host_prefix"],
        ),
        (
            "not a cidr",
            vpc_body(json!({"hostPrefixes": [primary(&["banana"])]})),
            vec!["host_prefixes[0].prefixes[0]"],
        ),
        (
            "ipv6 too small",
            vpc_body(json!({"hostPrefixes": [primary(&["fd00::/56"])]})),
            vec!["host_prefixes[0].prefixes[0]"],
        ),
        (
            "ipv6 /51 is fine, /52 is not",
            vpc_body(
                json!({"hostPrefixes": [primary(&["fd00::/51"]), secondary("r", "ROUTED", &["fd01::/52"], None)]}),
            ),
            vec!["host_prefixes[1].prefixes[0]"],
        ),
        (
            "no primary",
            vpc_body(json!({"hostPrefixes": [secondary("r", "ROUTED", &["10.0.0.0/16"], None)]})),
            vec!["host_prefixes"],
        ),
        (
            "two primaries",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), {"name": "p2", "type": "PRIMARY", "prefixes": ["10.1.0.0/16"]}]}),
            ),
            vec!["host_prefixes"],
        ),
        (
            "primary with two ipv4",
            vpc_body(json!({"hostPrefixes": [primary(&["10.0.0.0/16", "10.1.0.0/16"])]})),
            vec!["host_prefixes[0].prefixes"],
        ),
        (
            "primary with ipam",
            vpc_body(
                json!({"hostPrefixes": [{"name": "p", "type": "PRIMARY", "prefixes": ["10.0.0.0/16"], "ipam": {"prefixLength": 24, "gatewayAddressPolicy": "FIRST_IP"}}]}),
            ),
            vec!["host_prefixes[0].ipam"],
        ),
        (
            "mixed routed families",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.1.0.0/16", "fd00::/48"], None)]}),
            ),
            vec!["host_prefixes[1].prefixes"],
        ),
        (
            "mixed attached families",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("a", "ATTACHED", &["10.1.0.0/16", "fd00::/48"], None)]}),
            ),
            vec!["host_prefixes[1].prefixes"],
        ),
        (
            "unspecified type",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), {"name": "x", "prefixes": ["10.1.0.0/16"]}]}),
            ),
            vec!["host_prefixes[1].type"],
        ),
        (
            "empty and duplicate names",
            vpc_body(
                json!({"hostPrefixes": [{"type": "PRIMARY", "prefixes": ["10.0.0.0/16"]}, secondary("r", "ROUTED", &["10.1.0.0/16"], None), secondary("r", "ROUTED", &["10.2.0.0/16"], None)]}),
            ),
            vec!["host_prefixes[0].name", "host_prefixes[2].name"],
        ),
        (
            "no cidrs",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &[], None)]}),
            ),
            vec!["host_prefixes[1].prefixes"],
        ),
        (
            "overlap",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.0.0.0/17"], None)]}),
            ),
            vec!["host_prefixes[1].prefixes[0]"],
        ),
        (
            "ipam shorter than aggregate",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.1.0.0/16"], Some(json!({"prefixLength": 8, "gatewayAddressPolicy": "LAST_IP"})))]}),
            ),
            vec!["host_prefixes[1].ipam.prefix_length"],
        ),
        (
            "ipam longer than 32",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.1.0.0/16"], Some(json!({"prefixLength": 33, "gatewayAddressPolicy": "LAST_IP"})))]}),
            ),
            vec!["host_prefixes[1].ipam.prefix_length"],
        ),
        (
            "ipam 128 on ipv6 is fine",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["fd00::/48"], Some(json!({"prefixLength": 128, "gatewayAddressPolicy": "LAST_IP"})))]}),
            ),
            vec![],
        ),
        (
            "eui64 on ipv4",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.1.0.0/16"], Some(json!({"prefixLength": 24, "gatewayAddressPolicy": "EUI64"})))]}),
            ),
            vec!["host_prefixes[1].ipam.gateway_address_policy"],
        ),
        (
            "ipam without policy",
            vpc_body(
                json!({"hostPrefixes": [primary(&["10.0.0.0/16"]), secondary("r", "ROUTED", &["10.1.0.0/16"], Some(json!({"prefixLength": 24})))]}),
            ),
            vec!["host_prefixes[1].ipam.gateway_address_policy"],
        ),
        (
            "bad vpc prefixes",
            vpc_body(
                json!({"vpcPrefixes": [{"name": "", "value": "172.16.0.0/16"}, {"name": "b", "value": "fd00::/64"}, {"name": "b", "value": "172.16.0.1/16"}, {"name": "c"}]}),
            ),
            vec![
                "vpc_prefixes[0].name",
                "vpc_prefixes[1].value",
                "vpc_prefixes[2].name",
                "vpc_prefixes[2].value",
                "vpc_prefixes[3].value",
            ],
        ),
        (
            "17 dns servers",
            vpc_body(json!({"dhcp": {"dns": {"servers": dns}}})),
            vec!["dhcp.dns.servers"],
        ),
        (
            "dns not an ip",
            vpc_body(json!({"dhcp": {"dns": {"servers": ["1.1.1.1", "dns.google"]}}})),
            vec!["dhcp.dns.servers[1]"],
        ),
        (
            "every violation at once",
            json!({"name": "Bad_Name", "zone": "nowhere", "hostPrefix": "banana", "dhcp": {"dns": {"servers": ["x"]}}}),
            vec!["dhcp.dns.servers[0]", "host_prefix", "name", "zone"],
        ),
    ]
}

#[tokio::test]
async fn vpc_create_validation_table() {
    let mock = instant_mock().await;
    let token = unique_token("vpc-validation");
    let mut stub = vpc_stub(&mock, &token);
    for (label, body, expected) in vpc_create_cases() {
        let request: CreateVpcRequest = parse(body);
        let result = stub.create_vpc(request).await;
        if expected.is_empty() {
            let vpc = result
                .unwrap_or_else(|e| panic!("{label}: {e:?}"))
                .into_inner()
                .vpc
                .unwrap();
            stub.delete_vpc(DeleteVpcRequest { id: vpc.id })
                .await
                .unwrap();
            continue;
        }
        let status = result.expect_err(label);
        assert_eq!(status.code(), Code::InvalidArgument, "{label}: {status:?}");
        assert_eq!(
            violated_fields(&status),
            expected,
            "{label}: {}",
            status.message()
        );
        // A rejected request changes nothing.
        let items = stub
            .list_vp_cs(ListVpCsRequest {})
            .await
            .unwrap()
            .into_inner()
            .items;
        assert!(items.is_empty(), "{label}: {items:?}");
    }
}

#[tokio::test]
async fn vpc_defaults_are_applied_by_the_server() {
    let mock = instant_mock().await;
    let mut stub = vpc_stub(&mock, &unique_token("defaults"));
    let vpc = stub
        .create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({"zone": "us-west-09b", "vpcPrefixes": [{"name": "w", "value": "172.16.0.0/16"}]}))))
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    assert_eq!(vpc.zone, "US-WEST-09B");
    assert_eq!(vpc.host_prefixes.len(), 1);
    assert_eq!(vpc.host_prefixes[0].name, "host primary");
    assert_eq!(
        vpc.host_prefixes[0].r#type(),
        coreweave_api::networking::v1beta1::host_prefix::Type::Primary
    );
    #[allow(deprecated)]
    let legacy = vpc.host_prefix.clone();
    assert_eq!(legacy, vpc.host_prefixes[0].prefixes[0]);
    assert!(legacy.ends_with("/18"));
    assert!(uuid::Uuid::parse_str(&vpc.id).is_ok());
    assert_eq!(vpc.vpc_prefixes[0].status(), prefix::Status::Available);
    assert!(vpc.vpc_prefixes[0].created_at.is_some());

    // A legacy host prefix becomes the named PRIMARY; a dual-stack PRIMARY reports its IPv4.
    let legacy_vpc = stub
        .create_vpc(parse::<CreateVpcRequest>(
            json!({"name": "legacy", "zone": "US-EAST-04A", "hostPrefix": "10.8.0.0/16"}),
        ))
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    assert_eq!(legacy_vpc.host_prefixes[0].name, "host primary");
    assert_eq!(legacy_vpc.host_prefixes[0].prefixes, ["10.8.0.0/16"]);
    let dual = stub
        .create_vpc(parse::<CreateVpcRequest>(json!({"name": "dual", "zone": "US-EAST-04A", "hostPrefixes": [primary(&["fd00::/48", "10.9.0.0/16"])]})))
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    #[allow(deprecated)]
    let dual_legacy = dual.host_prefix;
    assert_eq!(dual_legacy, "10.9.0.0/16");
}

#[tokio::test]
async fn duplicate_vpc_name_is_already_exists_with_resource_info() {
    let mock = instant_mock().await;
    let mut stub = vpc_stub(&mock, &unique_token("dup"));
    stub.create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap();
    let status = stub
        .create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    let info = status.get_details_resource_info().expect("ResourceInfo");
    assert_eq!(info.resource_type, "coreweave.networking.v1beta1.VPC");
    assert_eq!(info.resource_name, "test-vpc");
    assert_eq!(
        stub.list_vp_cs(ListVpCsRequest {})
            .await
            .unwrap()
            .into_inner()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn not_found_names_the_vpc_and_carries_resource_info() {
    let mock = instant_mock().await;
    let mut stub = vpc_stub(&mock, &unique_token("nf"));
    let id = "5b1f0e8e-0000-4000-8000-000000000000";
    for status in [
        stub.get_vpc(GetVpcRequest { id: id.into() })
            .await
            .unwrap_err(),
        stub.delete_vpc(DeleteVpcRequest { id: id.into() })
            .await
            .unwrap_err(),
        stub.update_vpc(UpdateVpcRequest {
            id: id.into(),
            ..Default::default()
        })
        .await
        .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), format!("VPC {id} not found"));
        let info = status.get_details_resource_info().unwrap();
        assert_eq!(
            (info.resource_type.as_str(), info.resource_name.as_str()),
            ("coreweave.networking.v1beta1.VPC", id)
        );
    }
    let status = stub
        .get_vpc(GetVpcRequest { id: String::new() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["id"]);
}

#[tokio::test]
async fn vpc_update_follows_the_mask() {
    let mock = instant_mock().await;
    let mut stub = vpc_stub(&mock, &unique_token("update"));
    let created = stub
        .create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({"vpcPrefixes": [{"name": "a", "value": "172.16.0.0/16"}], "dhcp": {"dns": {"servers": ["1.1.1.1"]}}}))))
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    let id = created.id.clone();

    // Only the masked path changes; the unlisted path `name` changes nothing.
    let update: UpdateVpcRequest = parse(json!({
        "id": id, "updateMask": "ingress.disablePublicServices,name",
        "ingress": {"disablePublicServices": true}, "egress": {"disablePublicAccess": true}
    }));
    let vpc = stub
        .update_vpc(update)
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    assert!(vpc.ingress.unwrap().disable_public_services);
    assert!(!vpc.egress.unwrap().disable_public_access);
    assert_eq!(vpc.vpc_prefixes.len(), 1);
    assert_eq!(vpc.dhcp.unwrap().dns.unwrap().servers, ["1.1.1.1"]);
    assert_eq!(vpc.name, "test-vpc");
    assert_eq!(vpc.created_at, created.created_at);

    // Without a mask every updatable field takes the request's value.
    let update: UpdateVpcRequest = parse(
        json!({"id": id, "vpcPrefixes": [{"name": "a", "value": "172.16.0.0/16"}, {"name": "b", "value": "172.18.0.0/16"}]}),
    );
    let vpc = stub
        .update_vpc(update)
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    assert_eq!(vpc.vpc_prefixes.len(), 2);
    assert_eq!(
        vpc.vpc_prefixes[0].created_at, created.vpc_prefixes[0].created_at,
        "unchanged prefix keeps its timestamps"
    );
    assert!(!vpc.ingress.unwrap().disable_public_services);
    assert!(vpc.dhcp.unwrap().dns.unwrap_or_default().servers.is_empty());

    // Invalid values are rejected with their paths, and change nothing.
    let update: UpdateVpcRequest = parse(
        json!({"id": id, "updateMask": "vpcPrefixes,dhcp.dns.servers", "vpcPrefixes": [{"name": "x", "value": "fd00::/64"}], "dhcp": {"dns": {"servers": ["nope"]}}}),
    );
    let status = stub.update_vpc(update).await.unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["dhcp.dns.servers[0]", "vpc_prefixes[0].value"]
    );
    let after = stub
        .get_vpc(GetVpcRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    assert_eq!(after.vpc_prefixes.len(), 2);
}

#[tokio::test]
async fn deleting_resources_cannot_be_updated() {
    let clock = ManualClock::new();
    let mock = start(
        MockServer::builder()
            .clock(clock.clone())
            .transition_delay(Duration::from_secs(5)),
    )
    .await;
    let token = unique_token("deleting");
    let mut vpcs = vpc_stub(&mock, &token);
    let mut gateways = gateway_stub(&mock, &token);
    let vpc = vpcs
        .create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    let gateway = gateways
        .create_gateway(parse::<CreateGatewayRequest>(gateway_body(json!({}))))
        .await
        .unwrap()
        .into_inner()
        .gateway
        .unwrap();
    let gateway_id = gateway.spec.unwrap().id;
    vpcs.delete_vpc(DeleteVpcRequest { id: vpc.id.clone() })
        .await
        .unwrap();
    gateways
        .delete_gateway(DeleteGatewayRequest {
            id: gateway_id.clone(),
        })
        .await
        .unwrap();

    let status = vpcs
        .update_vpc(UpdateVpcRequest {
            id: vpc.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let failure = status
        .get_details_precondition_failure()
        .expect("PreconditionFailure");
    assert_eq!(failure.violations[0].subject, format!("vpcs/{}", vpc.id));

    let mut update: UpdateGatewayRequest = parse(gateway_body(json!({})));
    update.id = gateway_id.clone();
    let status = gateways.update_gateway(update).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.get_details_precondition_failure().is_some());
}

fn gateway_body(extra: Value) -> Value {
    let mut body = json!({"name": "test-gateway", "coreWeaveAuth": {}, "bodyBasedRouting": {"apiType": "API_TYPE_OPENAI"}});
    let object = body.as_object_mut().unwrap();
    for (key, value) in extra.as_object().unwrap() {
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.clone(), value.clone());
        }
    }
    body
}

fn gateway_cases() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    let wandb = json!({"apiKey": "secret", "serverUrl": "https://api.wandb.ai", "enableUsageReports": true});
    vec![
        ("minimal", gateway_body(json!({})), vec![]),
        (
            "zones any case",
            gateway_body(json!({"zones": ["us-east-04a", "US-WEST-09B"]})),
            vec![],
        ),
        (
            "wandb and header routing",
            gateway_body(
                json!({"coreWeaveAuth": null, "weightsAndBiasesAuth": wandb, "bodyBasedRouting": null, "headerBasedRouting": {"headerName": "x-model"}}),
            ),
            vec![],
        ),
        (
            "path routing and dns",
            gateway_body(
                json!({"bodyBasedRouting": null, "pathBasedRouting": {}, "endpointConfiguration": {"additionalDns": ["models.example.com"]}}),
            ),
            vec![],
        ),
        (
            "63-char name",
            gateway_body(json!({"name": "n".repeat(63)})),
            vec![],
        ),
        (
            "no auth, no routing",
            gateway_body(json!({"coreWeaveAuth": null, "bodyBasedRouting": null})),
            vec!["auth", "routing"],
        ),
        (
            "empty name",
            gateway_body(json!({"name": ""})),
            vec!["name"],
        ),
        (
            "64-char name",
            gateway_body(json!({"name": "n".repeat(64)})),
            vec!["name"],
        ),
        (
            "unknown zone",
            gateway_body(json!({"zones": ["MARS-01A"]})),
            vec!["zones[0]"],
        ),
        (
            "duplicate zone",
            gateway_body(json!({"zones": ["US-EAST-04A", "us-east-04a"]})),
            vec!["zones[1]"],
        ),
        (
            "empty header",
            gateway_body(
                json!({"bodyBasedRouting": null, "headerBasedRouting": {"headerName": ""}}),
            ),
            vec!["header_based_routing.header_name"],
        ),
        (
            "invalid header",
            gateway_body(
                json!({"bodyBasedRouting": null, "headerBasedRouting": {"headerName": "x model"}}),
            ),
            vec!["header_based_routing.header_name"],
        ),
        (
            "101-char header",
            gateway_body(
                json!({"bodyBasedRouting": null, "headerBasedRouting": {"headerName": "h".repeat(101)}}),
            ),
            vec!["header_based_routing.header_name"],
        ),
        (
            "unspecified api type",
            gateway_body(json!({"bodyBasedRouting": {}})),
            vec!["body_based_routing.api_type"],
        ),
        (
            "wandb key without url",
            gateway_body(json!({"coreWeaveAuth": null, "weightsAndBiasesAuth": {"apiKey": "k"}})),
            vec!["weights_and_biases_auth.server_url"],
        ),
        (
            "bad dns",
            gateway_body(
                json!({"endpointConfiguration": {"additionalDns": ["ok.example.com", "not a name"]}}),
            ),
            vec!["endpoint_configuration.additional_dns[1]"],
        ),
    ]
}

#[tokio::test]
async fn gateway_create_and_update_validation_table() {
    let mock = instant_mock().await;
    let mut stub = gateway_stub(&mock, &unique_token("gw-validation"));
    let existing = stub
        .create_gateway(parse::<CreateGatewayRequest>(gateway_body(json!({}))))
        .await
        .unwrap()
        .into_inner()
        .gateway
        .unwrap();
    let existing_id = existing.spec.unwrap().id;
    for (label, body, expected) in gateway_cases() {
        // Create.
        let result = stub
            .create_gateway(parse::<CreateGatewayRequest>(body.clone()))
            .await;
        if expected.is_empty() {
            let gateway = result
                .unwrap_or_else(|e| panic!("{label}: {e:?}"))
                .into_inner()
                .gateway
                .unwrap();
            stub.delete_gateway(DeleteGatewayRequest {
                id: gateway.spec.unwrap().id,
            })
            .await
            .unwrap();
        } else {
            let status = result.expect_err(label);
            assert_eq!(status.code(), Code::InvalidArgument, "{label}");
            assert_eq!(
                violated_fields(&status),
                expected,
                "create {label}: {}",
                status.message()
            );
        }
        // Update, with the same rules.
        let mut update: UpdateGatewayRequest = parse(body);
        update.id = existing_id.clone();
        let result = stub.update_gateway(update).await;
        if expected.is_empty() {
            result.unwrap_or_else(|e| panic!("update {label}: {e:?}"));
        } else {
            let status = result.expect_err(label);
            assert_eq!(
                violated_fields(&status),
                expected,
                "update {label}: {}",
                status.message()
            );
        }
        let items = stub
            .list_gateways(ListGatewaysRequest::default())
            .await
            .unwrap()
            .into_inner()
            .items;
        assert_eq!(
            items.len(),
            1,
            "{label}: a rejected request changed the state"
        );
    }
}

#[tokio::test]
async fn gateway_ids_and_secrets() {
    let mock = instant_mock().await;
    let mut stub = gateway_stub(&mock, &unique_token("gw-ids"));
    let id = "3F1C2A9E-8B7D-4E6F-A5C4-1D2E3F4A5B6C";
    let body = gateway_body(
        json!({"id": id, "coreWeaveAuth": null, "weightsAndBiasesAuth": {"apiKey": "secret", "serverUrl": "https://api.wandb.ai"}, "zones": ["us-lab-01a"]}),
    );
    let gateway = stub
        .create_gateway(parse::<CreateGatewayRequest>(body.clone()))
        .await
        .unwrap()
        .into_inner()
        .gateway
        .unwrap();
    let spec = gateway.spec.unwrap();
    assert_eq!(spec.id, id.to_lowercase());
    assert_eq!(spec.zones, ["US-LAB-01A"]);
    assert!(!spec.organization_id.is_empty());
    let json = json::to_value(&spec, json::Output::Canonical).unwrap();
    assert!(
        json["weightsAndBiasesAuth"].get("apiKey").is_none(),
        "api_key leaked: {json}"
    );
    assert_eq!(
        json["weightsAndBiasesAuth"]["serverUrl"],
        "https://api.wandb.ai"
    );

    let status = stub
        .create_gateway(parse::<CreateGatewayRequest>(body))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(
        status.get_details_resource_info().unwrap().resource_name,
        id.to_lowercase()
    );

    let status = stub
        .create_gateway(parse::<CreateGatewayRequest>(gateway_body(
            json!({"id": "not-a-uuid"}),
        )))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["id"]);

    let zones = stub
        .get_gateway_parameters(GetGatewayParametersRequest {})
        .await
        .unwrap()
        .into_inner()
        .zones;
    for zone in [
        "US-EAST-04A",
        "US-EAST-06A",
        "US-WEST-09B",
        "US-CENTRAL-07A",
        "US-LAB-01A",
    ] {
        assert!(
            zones.contains(&zone.to_owned()),
            "{zone} missing from {zones:?}"
        );
    }
}

#[tokio::test]
async fn vpc_lifecycle_follows_the_clock() {
    let clock = ManualClock::new();
    let delay = Duration::from_secs(30);
    let mock = start(
        MockServer::builder()
            .clock(clock.clone())
            .transition_delay(delay),
    )
    .await;
    let mut stub = vpc_stub(&mock, &unique_token("vpc-life"));
    let get = |stub: &mut VpcStubRef, id: String| {
        let mut stub = stub.clone();
        async move { stub.get_vpc(GetVpcRequest { id }).await }
    };

    let created = stub
        .create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    assert_eq!(created.status(), vpc::Status::Creating);
    clock.advance(delay - Duration::from_millis(1));
    assert_eq!(
        get(&mut stub, created.id.clone())
            .await
            .unwrap()
            .into_inner()
            .vpc
            .unwrap()
            .status(),
        vpc::Status::Creating
    );
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        get(&mut stub, created.id.clone())
            .await
            .unwrap()
            .into_inner()
            .vpc
            .unwrap()
            .status(),
        vpc::Status::Ready
    );

    clock.advance(Duration::from_secs(1));
    let updated = stub
        .update_vpc(parse::<UpdateVpcRequest>(json!({"id": created.id, "updateMask": "egress.disablePublicAccess", "egress": {"disablePublicAccess": true}})))
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    assert_eq!(updated.status(), vpc::Status::Updating);
    assert_eq!(updated.created_at, created.created_at);
    assert!(
        updated.updated_at.as_ref().unwrap().seconds > created.updated_at.as_ref().unwrap().seconds
    );
    clock.advance(delay);
    assert_eq!(
        get(&mut stub, created.id.clone())
            .await
            .unwrap()
            .into_inner()
            .vpc
            .unwrap()
            .status(),
        vpc::Status::Ready
    );

    let deleted = stub
        .delete_vpc(DeleteVpcRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    assert_eq!(deleted.status(), vpc::Status::Deleting);
    assert_eq!(
        get(&mut stub, created.id.clone())
            .await
            .unwrap()
            .into_inner()
            .vpc
            .unwrap()
            .status(),
        vpc::Status::Deleting
    );
    assert_eq!(
        stub.list_vp_cs(ListVpCsRequest {})
            .await
            .unwrap()
            .into_inner()
            .items
            .len(),
        1
    );
    // A second delete while deleting answers the same, without restarting the delay.
    clock.advance(delay / 2);
    stub.delete_vpc(DeleteVpcRequest {
        id: created.id.clone(),
    })
    .await
    .unwrap();
    clock.advance(delay / 2);
    assert_eq!(
        get(&mut stub, created.id.clone()).await.unwrap_err().code(),
        Code::NotFound
    );
    assert!(stub
        .list_vp_cs(ListVpCsRequest {})
        .await
        .unwrap()
        .into_inner()
        .items
        .is_empty());
    // The name is free again.
    stub.create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap();
}

type VpcStubRef = coreweave_api::networking::v1beta1::vpc_service_client::VpcServiceClient<Authed>;

#[tokio::test]
async fn gateway_lifecycle_endpoints_and_conditions() {
    let clock = ManualClock::new();
    let delay = Duration::from_secs(10);
    let mock = start(
        MockServer::builder()
            .clock(clock.clone())
            .transition_delay(delay),
    )
    .await;
    let mut stub = gateway_stub(&mock, &unique_token("gw-life"));
    let body =
        gateway_body(json!({"endpointConfiguration": {"additionalDns": ["models.example.com"]}}));
    let created = stub
        .create_gateway(parse::<CreateGatewayRequest>(body.clone()))
        .await
        .unwrap()
        .into_inner()
        .gateway
        .unwrap();
    let id = created.spec.as_ref().unwrap().id.clone();
    let status = created.status.unwrap();
    assert_eq!(status.status(), GatewayStatus::Creating);
    assert!(status.endpoints.is_empty());
    assert!(status
        .conditions
        .iter()
        .any(|c| c.r#type == "Progressing" && c.status() == condition::Status::True));

    clock.advance(delay);
    let ready = stub
        .get_gateway(GetGatewayRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .gateway
        .unwrap()
        .status
        .unwrap();
    assert_eq!(ready.status(), GatewayStatus::Ready);
    assert_eq!(
        ready.endpoints,
        [
            format!("https://{id}.inference.coreweave.com"),
            "https://models.example.com".to_owned()
        ]
    );
    let ready_condition = ready
        .conditions
        .iter()
        .find(|c| c.r#type == "Ready")
        .expect("Ready condition");
    assert_eq!(ready_condition.status(), condition::Status::True);
    assert_eq!(ready_condition.reason, "AsExpected");

    // updated_after sees only gateways changed later.
    let checkpoint = ready.updated_at;
    let listed = stub
        .list_gateways(ListGatewaysRequest {
            updated_after: checkpoint,
        })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert!(listed.is_empty());
    clock.advance(Duration::from_secs(1));
    let mut update: UpdateGatewayRequest = parse(gateway_body(json!({"name": "renamed"})));
    update.id = id.clone();
    let updated = stub
        .update_gateway(update)
        .await
        .unwrap()
        .into_inner()
        .gateway
        .unwrap();
    assert_eq!(
        updated.status.as_ref().unwrap().status(),
        GatewayStatus::Updating
    );
    assert!(
        updated.status.as_ref().unwrap().endpoints.len() == 1,
        "endpoints stay while updating; additional DNS was removed"
    );
    let listed = stub
        .list_gateways(ListGatewaysRequest {
            updated_after: checkpoint,
        })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(listed.len(), 1);
    clock.advance(delay);

    stub.delete_gateway(DeleteGatewayRequest { id: id.clone() })
        .await
        .unwrap();
    let deleting = stub
        .get_gateway(GetGatewayRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .gateway
        .unwrap();
    assert_eq!(deleting.status.unwrap().status(), GatewayStatus::Deleting);
    clock.advance(delay);
    let status = stub
        .get_gateway(GetGatewayRequest { id: id.clone() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), format!("gateway {id} not found"));
    assert_eq!(
        status.get_details_resource_info().unwrap().resource_type,
        "coreweave.inference.v1alpha1.Gateway"
    );
}

#[tokio::test]
async fn auth_is_required_and_checked() {
    let mock = instant_mock().await;
    for header in [
        None,
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer"),
        Some("CW-SECRET-no-scheme"),
    ] {
        let status = vpc_stub_with_header(&mock, header)
            .list_vp_cs(ListVpCsRequest {})
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{header:?}");
    }

    let strict = start(MockServer::builder().token("CW-SECRET-good")).await;
    assert!(vpc_stub(&strict, "CW-SECRET-good")
        .list_vp_cs(ListVpCsRequest {})
        .await
        .is_ok());
    let status = vpc_stub(&strict, "CW-SECRET-other")
        .list_vp_cs(ListVpCsRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(
        !status.message().contains("CW-SECRET-other"),
        "the token must not be echoed"
    );
}

#[tokio::test]
async fn organizations_are_isolated() {
    let mock = instant_mock().await;
    let mut alice = vpc_stub(&mock, &unique_token("alice"));
    let mut bob = vpc_stub(&mock, &unique_token("bob"));
    let vpc = alice
        .create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap()
        .into_inner()
        .vpc
        .unwrap();
    assert_eq!(
        bob.get_vpc(GetVpcRequest { id: vpc.id.clone() })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        bob.delete_vpc(DeleteVpcRequest { id: vpc.id.clone() })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert!(bob
        .list_vp_cs(ListVpCsRequest {})
        .await
        .unwrap()
        .into_inner()
        .items
        .is_empty());
    // Names are unique per organization only.
    bob.create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap();
    assert_eq!(
        alice
            .list_vp_cs(ListVpCsRequest {})
            .await
            .unwrap()
            .into_inner()
            .items
            .len(),
        1
    );

    let mut alice_gw = gateway_stub(&mock, &unique_token("alice-gw"));
    let mut bob_gw = gateway_stub(&mock, &unique_token("bob-gw"));
    let gateway = alice_gw
        .create_gateway(parse::<CreateGatewayRequest>(gateway_body(json!({}))))
        .await
        .unwrap()
        .into_inner()
        .gateway
        .unwrap();
    let id = gateway.spec.unwrap().id;
    assert_eq!(
        bob_gw
            .get_gateway(GetGatewayRequest { id })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert!(bob_gw
        .list_gateways(ListGatewaysRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items
        .is_empty());
}

#[tokio::test]
async fn concurrent_calls_leave_exactly_the_acknowledged_state() {
    let mock = instant_mock().await;
    let tokens: Vec<String> = (0..4).map(|i| unique_token(&format!("conc{i}"))).collect();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let mut stub = vpc_stub(&mock, &tokens[i % tokens.len()]);
        tasks.push(tokio::spawn(async move {
            let name = format!("vpc-{i}");
            let vpc = stub.create_vpc(parse::<CreateVpcRequest>(json!({"name": name, "zone": "US-EAST-06A"}))).await.unwrap().into_inner().vpc.unwrap();
            if i % 3 == 0 {
                let update = json!({"id": vpc.id, "updateMask": "dhcp.dns.servers", "dhcp": {"dns": {"servers": [format!("10.0.0.{i}")]}}});
                stub.update_vpc(parse::<UpdateVpcRequest>(update)).await.unwrap();
            }
            if i % 4 == 0 {
                stub.delete_vpc(DeleteVpcRequest { id: vpc.id.clone() }).await.unwrap();
            }
            (i, vpc.id)
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.push(task.await.unwrap());
    }
    for (t, token) in tokens.iter().enumerate() {
        let items = vpc_stub(&mock, token)
            .list_vp_cs(ListVpCsRequest {})
            .await
            .unwrap()
            .into_inner()
            .items;
        let actual: BTreeMap<String, Vec<String>> = items
            .into_iter()
            .map(|v| {
                (
                    v.name,
                    v.dhcp
                        .and_then(|d| d.dns)
                        .map(|d| d.servers)
                        .unwrap_or_default(),
                )
            })
            .collect();
        let expected: BTreeMap<String, Vec<String>> = acknowledged
            .iter()
            .filter(|(i, _)| i % tokens.len() == t && i % 4 != 0)
            .map(|(i, _)| {
                (
                    format!("vpc-{i}"),
                    if i % 3 == 0 {
                        vec![format!("10.0.0.{i}")]
                    } else {
                        vec![]
                    },
                )
            })
            .collect();
        assert_eq!(actual, expected, "organization {t}");
    }
}

#[tokio::test]
async fn oversized_requests_and_quotas_are_resource_exhausted() {
    let limits = Limits {
        max_vpcs_per_org: Some(2),
        ..Limits::default()
    };
    let mock = start(
        MockServer::builder()
            .transition_delay(Duration::ZERO)
            .limits(limits),
    )
    .await;
    let mut stub = vpc_stub(&mock, &unique_token("limits"));
    let huge = CreateVpcRequest {
        name: "x".repeat(5 * 1024 * 1024),
        zone: "US-EAST-04A".into(),
        ..Default::default()
    };
    let status = stub.create_vpc(huge).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("exceeds the limit"),
        "{}",
        status.message()
    );

    for name in ["one", "two"] {
        stub.create_vpc(parse::<CreateVpcRequest>(
            json!({"name": name, "zone": "US-EAST-04A"}),
        ))
        .await
        .unwrap();
    }
    let status = stub
        .create_vpc(parse::<CreateVpcRequest>(
            json!({"name": "three", "zone": "US-EAST-04A"}),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(!status
        .get_details_quota_failure()
        .unwrap()
        .violations
        .is_empty());
}

#[tokio::test]
async fn scripted_faults_fail_delay_and_lose_replies() {
    let mock = start(
        MockServer::builder()
            .transition_delay(Duration::ZERO)
            .fault(Fault::fail(Method::ListVpcs, 2, Code::Unavailable))
            .fault(Fault::lose_reply(Method::CreateVpc, 1))
            .fault(Fault::delay(Method::GetVpc, Duration::from_secs(30))),
    )
    .await;
    let mut stub = vpc_stub(&mock, &unique_token("faults"));
    for _ in 0..2 {
        assert_eq!(
            stub.list_vp_cs(ListVpCsRequest {})
                .await
                .unwrap_err()
                .code(),
            Code::Unavailable
        );
    }
    assert!(stub
        .list_vp_cs(ListVpCsRequest {})
        .await
        .unwrap()
        .into_inner()
        .items
        .is_empty());

    // The lost reply still created the VPC.
    let status = stub
        .create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let items = stub
        .list_vp_cs(ListVpCsRequest {})
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(items.len(), 1);

    // The caller's deadline cuts an injected delay short.
    let mut request = tonic::Request::new(GetVpcRequest {
        id: items[0].id.clone(),
    });
    request.set_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let status = stub.get_vpc(request).await.unwrap_err();
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the deadline was not honoured"
    );
}

#[tokio::test]
async fn health_and_graceful_shutdown() {
    let mock = start(
        MockServer::builder().fault(Fault::delay(Method::ListVpcs, Duration::from_millis(300))),
    )
    .await;
    let channel = tonic::transport::Endpoint::from_shared(mock.endpoint())
        .unwrap()
        .connect_lazy();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for service in [
        "",
        "coreweave.networking.v1beta1.VPCService",
        "coreweave.inference.v1alpha1.GatewayService",
    ] {
        let response = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            response.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "{service:?}"
        );
    }

    // An in-flight call finishes during shutdown.
    let mut stub = vpc_stub(&mock, &unique_token("shutdown"));
    let in_flight = tokio::spawn(async move { stub.list_vp_cs(ListVpCsRequest {}).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    mock.shutdown().await.expect("clean shutdown");
    assert!(
        in_flight.await.unwrap().is_ok(),
        "the in-flight call was cut off"
    );
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_every_service_and_error_details() {
    use tonic_reflection::pb::{v1, v1alpha};
    let mock = instant_mock().await;
    let channel = tonic::transport::Endpoint::from_shared(mock.endpoint())
        .unwrap()
        .connect_lazy();
    let expected = [
        "coreweave.inference.v1alpha1.GatewayService",
        "coreweave.networking.v1beta1.VPCService",
        "grpc.health.v1.Health",
    ];

    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let requests = [
        v1::ServerReflectionRequest {
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
            ..Default::default()
        },
        v1::ServerReflectionRequest {
            message_request: Some(
                v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                    "google.rpc.BadRequest".into(),
                ),
            ),
            ..Default::default()
        },
    ];
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1 list services");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in expected {
        assert!(
            names.contains(&service.to_owned()),
            "v1 lacks {service}: {names:?}"
        );
    }
    let details = responses.message().await.unwrap().unwrap().message_response;
    assert!(
        matches!(
            details,
            Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
        ),
        "google.rpc.BadRequest is not served: {details:?}"
    );

    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
        ..Default::default()
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1alpha list services");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in expected {
        assert!(
            names.contains(&service.to_owned()),
            "v1alpha lacks {service}: {names:?}"
        );
    }
}
