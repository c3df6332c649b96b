//! Helpers for the mock's integration tests: the shared ones of `coreweave-test-support`,
//! request bodies, and the mock binary as a child process.
#![allow(dead_code, unused_imports)]

pub mod bodies;
pub mod process;

pub use coreweave_test_support::*;

use coreweave_api::{
    inference::v1alpha1::{
        gateway_service_client::GatewayServiceClient, CreateGatewayRequest, Gateway,
    },
    networking::v1beta1::{vpc_service_client::VpcServiceClient, CreateVpcRequest, Vpc},
};

/// Creates the default VPC of [`bodies::vpc_body`] and returns it.
pub async fn new_vpc(stub: &mut VpcServiceClient<Authed>) -> Vpc {
    let request = bodies::parse::<CreateVpcRequest>(bodies::vpc_body(serde_json::json!({})));
    let response = stub
        .create_vpc(request)
        .await
        .expect("the default VPC is valid");
    response
        .into_inner()
        .vpc
        .expect("a create answers with the VPC")
}

/// Creates the default gateway of [`bodies::gateway_body`] and returns it.
pub async fn new_gateway(stub: &mut GatewayServiceClient<Authed>) -> Gateway {
    let body = bodies::gateway_body(serde_json::json!({}));
    let request = bodies::parse::<CreateGatewayRequest>(body);
    let response = stub
        .create_gateway(request)
        .await
        .expect("the default gateway is valid");
    response
        .into_inner()
        .gateway
        .expect("a create answers with the gateway")
}
