//! Helpers for the mock's integration tests: the shared ones of `coreweave-test-support`,
//! request bodies, and the mock binary as a child process.
#![allow(dead_code, unused_imports)]

pub mod bodies;
pub mod process;

pub use coreweave_test_support::*;

use coreweave_api::{
    inference::v1alpha1::{
        gateway_service_client::GatewayServiceClient, CreateGatewayRequest, Gateway,
        UpdateGatewayRequest,
    },
    networking::v1beta1::{
        vpc_service_client::VpcServiceClient, CreateVpcRequest, GetVpcRequest, UpdateVpcRequest,
        Vpc,
    },
};

/// Creates the VPC `body` describes (proto3 JSON) and returns it.
pub async fn created_vpc(stub: &mut VpcServiceClient<Authed>, body: serde_json::Value) -> Vpc {
    let request = bodies::parse::<CreateVpcRequest>(body);
    let response = stub.create_vpc(request).await.expect("the VPC is created");
    response
        .into_inner()
        .vpc
        .expect("a create answers with the VPC")
}

/// Creates the gateway `body` describes (proto3 JSON) and returns it.
pub async fn created_gateway(
    stub: &mut GatewayServiceClient<Authed>,
    body: serde_json::Value,
) -> Gateway {
    let request = bodies::parse::<CreateGatewayRequest>(body);
    let response = stub
        .create_gateway(request)
        .await
        .expect("the gateway is created");
    response
        .into_inner()
        .gateway
        .expect("a create answers with the gateway")
}

/// Sends an update and returns the VPC it answers with.
pub async fn updated_vpc(stub: &mut VpcServiceClient<Authed>, request: UpdateVpcRequest) -> Vpc {
    let response = stub.update_vpc(request).await.expect("the VPC is updated");
    response
        .into_inner()
        .vpc
        .expect("an update answers with the VPC")
}

/// Reads VPC `id`.
pub async fn fetched_vpc(stub: &mut VpcServiceClient<Authed>, id: String) -> Vpc {
    let response = stub
        .get_vpc(GetVpcRequest { id })
        .await
        .expect("the VPC is read");
    response
        .into_inner()
        .vpc
        .expect("a get answers with the VPC")
}

/// Sends a gateway update and returns the gateway it answers with.
pub async fn updated_gateway(
    stub: &mut GatewayServiceClient<Authed>,
    request: UpdateGatewayRequest,
) -> Gateway {
    let response = stub
        .update_gateway(request)
        .await
        .expect("the gateway is updated");
    response
        .into_inner()
        .gateway
        .expect("an update answers with the gateway")
}

/// Creates the default VPC of [`bodies::vpc_body`] and returns it.
pub async fn new_vpc(stub: &mut VpcServiceClient<Authed>) -> Vpc {
    created_vpc(stub, bodies::vpc_body(serde_json::json!({}))).await
}

/// Creates the default gateway of [`bodies::gateway_body`] and returns it.
pub async fn new_gateway(stub: &mut GatewayServiceClient<Authed>) -> Gateway {
    created_gateway(stub, bodies::gateway_body(serde_json::json!({}))).await
}
