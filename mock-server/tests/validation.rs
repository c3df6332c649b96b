//! Every validation rule of spec section 5, through the raw generated stubs: tables of
//! request bodies and the exact field paths the BadRequest names.

mod common;

use std::time::Duration;

use common::{bodies::*, *};
use coreweave_api::{
    inference::v1alpha1::{
        CreateGatewayRequest, DeleteGatewayRequest, GetGatewayParametersRequest,
        ListGatewaysRequest, UpdateGatewayRequest,
    },
    json,
    networking::v1beta1::{
        prefix, CreateVpcRequest, DeleteVpcRequest, GetVpcRequest, UpdateVpcRequest,
    },
};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn vpc_create_validation_table() {
    let mock = instant_mock().await;
    let token = unique_token("vpc-validation");
    let mut stub = vpc_stub(&mock, &token);
    for (label, body, expected) in vpc_create_cases() {
        let request: CreateVpcRequest = parse(body);
        let result = stub.create_vpc(request).await;
        if expected.is_empty() {
            let vpc: coreweave_api::networking::v1beta1::Vpc =
                answered(Ok(result.unwrap_or_else(|e| panic!("{label}: {e:?}"))));
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
        let items = list_vpcs(&mut stub).await;
        assert!(items.is_empty(), "{label}: {items:?}");
    }
}

#[tokio::test]
async fn vpc_defaults_are_applied_by_the_server() {
    let mock = instant_mock().await;
    let mut stub = vpc_stub(&mock, &unique_token("defaults"));
    let vpc = created_vpc(&mut stub, vpc_body(json!({"zone": "us-west-09b", "vpcPrefixes": [{"name": "w", "value": "172.16.0.0/16"}]}))).await;
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
    let legacy_vpc = created_vpc(
        &mut stub,
        json!({"name": "legacy", "zone": "US-EAST-04A", "hostPrefix": "10.8.0.0/16"}),
    )
    .await;
    assert_eq!(legacy_vpc.host_prefixes[0].name, "host primary");
    assert_eq!(legacy_vpc.host_prefixes[0].prefixes, ["10.8.0.0/16"]);
    let dual = created_vpc(&mut stub, json!({"name": "dual", "zone": "US-EAST-04A", "hostPrefixes": [primary(&["fd00::/48", "10.9.0.0/16"])]})).await;
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
    assert_eq!(list_vpcs(&mut stub).await.len(), 1);
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
    // An id that is no UUID names nothing, and is named as sent; a UUID in capitals is
    // named the way the server spells ids.
    for (sent, named) in [("my-vpc", "my-vpc"), (&id.to_uppercase(), id)] {
        let status = refused(stub.get_vpc(GetVpcRequest { id: sent.into() }).await);
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), format!("VPC {named} not found"));
    }
    let status = refused(stub.get_vpc(GetVpcRequest { id: String::new() }).await);
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), ["id"]);
}

#[tokio::test]
async fn vpc_update_follows_the_mask() {
    let mock = instant_mock().await;
    let mut stub = vpc_stub(&mock, &unique_token("update"));
    let created = created_vpc(&mut stub, vpc_body(json!({"vpcPrefixes": [{"name": "a", "value": "172.16.0.0/16"}], "dhcp": {"dns": {"servers": ["1.1.1.1"]}}}))).await;
    let id = created.id.clone();

    // Only the masked path changes; the unlisted path `name` changes nothing.
    let update: UpdateVpcRequest = parse(json!({
        "id": id, "updateMask": "ingress.disablePublicServices,name",
        "ingress": {"disablePublicServices": true}, "egress": {"disablePublicAccess": true}
    }));
    let vpc = answered(stub.update_vpc(update).await);
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
    let vpc = answered(stub.update_vpc(update).await);
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
    let after = answered(stub.get_vpc(GetVpcRequest { id: id.clone() }).await);
    assert_eq!(after.vpc_prefixes.len(), 2);
}

#[tokio::test]
async fn deleting_resources_cannot_be_updated() {
    let (mock, _clock) = clocked_mock(Duration::from_secs(5)).await;
    let token = unique_token("deleting");
    let mut vpcs = vpc_stub(&mock, &token);
    let mut gateways = gateway_stub(&mock, &token);
    let vpc = new_vpc(&mut vpcs).await;
    let gateway = new_gateway(&mut gateways).await;
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

#[tokio::test]
async fn gateway_create_and_update_validation_table() {
    let mock = instant_mock().await;
    let mut stub = gateway_stub(&mock, &unique_token("gw-validation"));
    let existing = new_gateway(&mut stub).await;
    let existing_id = existing.spec.unwrap().id;
    for (label, body, expected) in gateway_cases() {
        // Create.
        let result = stub
            .create_gateway(parse::<CreateGatewayRequest>(body.clone()))
            .await;
        if expected.is_empty() {
            let gateway: coreweave_api::inference::v1alpha1::Gateway =
                answered(Ok(result.unwrap_or_else(|e| panic!("{label}: {e:?}"))));
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
    let gateway = created_gateway(&mut stub, body.clone()).await;
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
