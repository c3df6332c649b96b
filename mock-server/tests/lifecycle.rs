//! The lifecycle of spec section 6: CREATING, UPDATING and DELETING settle with the clock;
//! gateways get their endpoints and conditions.

mod common;

use std::time::Duration;

use common::{bodies::*, *};
use coreweave_api::{
    inference::v1alpha1::{
        condition, DeleteGatewayRequest, GetGatewayRequest, ListGatewaysRequest,
        Status as GatewayStatus, UpdateGatewayRequest,
    },
    networking::v1beta1::{
        vpc, CreateVpcRequest, DeleteVpcRequest, GetVpcRequest, UpdateVpcRequest,
    },
};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn vpc_lifecycle_follows_the_clock() {
    let delay = Duration::from_secs(30);
    let (mock, clock) = clocked_mock(delay).await;
    let mut stub = vpc_stub(&mock, &unique_token("vpc-life"));
    let get = |stub: &mut VpcStubRef, id: String| {
        let mut stub = stub.clone();
        async move { stub.get_vpc(GetVpcRequest { id }).await }
    };
    let status = |stub: &mut VpcStubRef, id: &str| {
        let read = get(stub, id.to_owned());
        async move { read.await.unwrap().into_inner().vpc.unwrap().status() }
    };

    let created = new_vpc(&mut stub).await;
    assert_eq!(created.status(), vpc::Status::Creating);
    clock.advance(delay - Duration::from_millis(1));
    assert_eq!(status(&mut stub, &created.id).await, vpc::Status::Creating);
    clock.advance(Duration::from_millis(1));
    assert_eq!(status(&mut stub, &created.id).await, vpc::Status::Ready);

    clock.advance(Duration::from_secs(1));
    let updated = answered(stub.update_vpc(parse::<UpdateVpcRequest>(json!({"id": created.id, "updateMask": "egress.disablePublicAccess", "egress": {"disablePublicAccess": true}}))).await);
    assert_eq!(updated.status(), vpc::Status::Updating);
    assert_eq!(updated.created_at, created.created_at);
    assert!(
        updated.updated_at.as_ref().unwrap().seconds > created.updated_at.as_ref().unwrap().seconds
    );
    clock.advance(delay);
    assert_eq!(status(&mut stub, &created.id).await, vpc::Status::Ready);

    let deleted = answered(
        stub.delete_vpc(DeleteVpcRequest {
            id: created.id.clone(),
        })
        .await,
    );
    assert_eq!(deleted.status(), vpc::Status::Deleting);
    assert_eq!(status(&mut stub, &created.id).await, vpc::Status::Deleting);
    assert_eq!(list_vpcs(&mut stub).await.len(), 1);
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
    assert!(list_vpcs(&mut stub).await.is_empty());
    // The name is free again.
    stub.create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap();
}

type GatewayStub =
    coreweave_api::inference::v1alpha1::gateway_service_client::GatewayServiceClient<Authed>;

type VpcStubRef = coreweave_api::networking::v1beta1::vpc_service_client::VpcServiceClient<Authed>;

#[tokio::test]
async fn gateway_lifecycle_endpoints_and_conditions() {
    let delay = Duration::from_secs(10);
    let (mock, clock) = clocked_mock(delay).await;
    let mut stub = gateway_stub(&mock, &unique_token("gw-life"));
    let body =
        gateway_body(json!({"endpointConfiguration": {"additionalDns": ["models.example.com"]}}));
    let created = created_gateway(&mut stub, body.clone()).await;
    let id = created.spec.as_ref().unwrap().id.clone();
    let status = created.status.unwrap();
    assert_eq!(status.status(), GatewayStatus::Creating);
    assert!(status.endpoints.is_empty());
    assert!(status
        .conditions
        .iter()
        .any(|c| c.r#type == "Progressing" && c.status() == condition::Status::True));

    clock.advance(delay);
    let ready = answered(stub.get_gateway(GetGatewayRequest { id: id.clone() }).await)
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
    let changed_after = |stub: &mut GatewayStub, updated_after| {
        let mut stub = stub.clone();
        let request = ListGatewaysRequest { updated_after };
        async move {
            stub.list_gateways(request)
                .await
                .unwrap()
                .into_inner()
                .items
        }
    };
    let listed = changed_after(&mut stub, checkpoint).await;
    assert!(listed.is_empty());
    clock.advance(Duration::from_secs(1));
    let mut update: UpdateGatewayRequest = parse(gateway_body(json!({"name": "renamed"})));
    update.id = id.clone();
    let updated = answered(stub.update_gateway(update).await);
    assert_eq!(
        updated.status.as_ref().unwrap().status(),
        GatewayStatus::Updating
    );
    assert!(
        updated.status.as_ref().unwrap().endpoints.len() == 1,
        "endpoints stay while updating; additional DNS was removed"
    );
    let listed = changed_after(&mut stub, checkpoint).await;
    assert_eq!(listed.len(), 1);
    clock.advance(delay);

    stub.delete_gateway(DeleteGatewayRequest { id: id.clone() })
        .await
        .unwrap();
    let deleting = answered(stub.get_gateway(GetGatewayRequest { id: id.clone() }).await);
    assert_eq!(deleting.status.unwrap().status(), GatewayStatus::Deleting);
    clock.advance(delay);
    let status = refused(stub.get_gateway(GetGatewayRequest { id: id.clone() }).await);
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), format!("gateway {id} not found"));
    assert_eq!(
        status.get_details_resource_info().unwrap().resource_type,
        "coreweave.inference.v1alpha1.Gateway"
    );
}
