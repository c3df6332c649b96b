//! Auth and isolation (spec section 7): every call needs a bearer token, and each token is
//! its own organization.

mod common;

use common::{bodies::*, *};
use coreweave_api::{
    inference::v1alpha1::{GetGatewayRequest, ListGatewaysRequest},
    networking::v1beta1::{CreateVpcRequest, DeleteVpcRequest, GetVpcRequest, ListVpCsRequest},
};
use coreweave_mock::MockServer;
use serde_json::json;
use tonic::Code;

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
    let vpc = new_vpc(&mut alice).await;
    assert_eq!(
        error_code(bob.get_vpc(GetVpcRequest { id: vpc.id.clone() }).await),
        Code::NotFound
    );
    assert_eq!(
        error_code(
            bob.delete_vpc(DeleteVpcRequest { id: vpc.id.clone() })
                .await
        ),
        Code::NotFound
    );
    assert!(list_vpcs(&mut bob).await.is_empty());
    // Names are unique per organization only.
    bob.create_vpc(parse::<CreateVpcRequest>(vpc_body(json!({}))))
        .await
        .unwrap();
    assert_eq!(list_vpcs(&mut alice).await.len(), 1);

    let mut alice_gw = gateway_stub(&mock, &unique_token("alice-gw"));
    let mut bob_gw = gateway_stub(&mock, &unique_token("bob-gw"));
    let gateway = new_gateway(&mut alice_gw).await;
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
