//! Helpers for the mock's integration tests: the shared ones of `coreweave-test-support`,
//! request bodies, and the mock binary as a child process.
#![allow(dead_code, unused_imports)]

pub mod bodies;
pub mod process;
pub mod wire;

pub use coreweave_test_support::*;

use coreweave_api::{
    inference::v1alpha1::{
        gateway_service_client::GatewayServiceClient, CreateGatewayRequest, Gateway,
    },
    networking::v1beta1::{vpc_service_client::VpcServiceClient, CreateVpcRequest, Vpc},
};

/// Creates the VPC `body` describes (proto3 JSON) and returns it.
pub async fn created_vpc(stub: &mut VpcServiceClient<Authed>, body: serde_json::Value) -> Vpc {
    answered(
        stub.create_vpc(bodies::parse::<CreateVpcRequest>(body))
            .await,
    )
}

/// Creates the gateway `body` describes (proto3 JSON) and returns it.
pub async fn created_gateway(
    stub: &mut GatewayServiceClient<Authed>,
    body: serde_json::Value,
) -> Gateway {
    answered(
        stub.create_gateway(bodies::parse::<CreateGatewayRequest>(body))
            .await,
    )
}

/// Creates the default VPC of [`bodies::vpc_body`] and returns it.
pub async fn new_vpc(stub: &mut VpcServiceClient<Authed>) -> Vpc {
    created_vpc(stub, bodies::vpc_body(serde_json::json!({}))).await
}

/// Creates the default gateway of [`bodies::gateway_body`] and returns it.
pub async fn new_gateway(stub: &mut GatewayServiceClient<Authed>) -> Gateway {
    created_gateway(stub, bodies::gateway_body(serde_json::json!({}))).await
}
