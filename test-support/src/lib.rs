//! Helpers shared by the tests of both crates (a dev-dependency only, never published):
//! tokens no other test uses, in-process mocks, the generated stubs with a token, and
//! readers for `google.rpc` details.
#![warn(missing_docs, unreachable_pub)]

use std::{
    collections::BTreeSet,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use coreweave_api::{
    inference::v1alpha1::{
        gateway_service_client::GatewayServiceClient, CreateGatewayResponse, DeleteGatewayResponse,
        Gateway, GetGatewayResponse, UpdateGatewayResponse,
    },
    networking::v1beta1::{
        vpc_service_client::VpcServiceClient, CreateVpcResponse, DeleteVpcResponse, GetVpcResponse,
        ListVpCsRequest, UpdateVpcResponse, Vpc,
    },
};
use coreweave_mock::{Limits, ManualClock, MockServer, MockServerBuilder};
use tonic::{
    metadata::MetadataValue,
    service::interceptor::{InterceptedService, Interceptor},
    transport::{Channel, Endpoint},
    Request, Status,
};
use tonic_types::StatusExt;

/// A token no other test uses, so tests can share nothing and still run in parallel.
pub fn unique_token(label: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "CW-SECRET-{label}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A mock with no transition delay.
pub async fn instant_mock() -> MockServer {
    start(MockServer::builder().transition_delay(Duration::ZERO)).await
}

/// A mock with no transition delay where an organization may hold at most `quota` VPCs.
pub async fn mock_with_vpc_quota(quota: usize) -> MockServer {
    let limits = Limits {
        max_vpcs_per_org: Some(quota),
        ..Limits::default()
    };
    start(
        MockServer::builder()
            .transition_delay(Duration::ZERO)
            .limits(limits),
    )
    .await
}

/// Starts a mock from a builder.
pub async fn start(builder: MockServerBuilder) -> MockServer {
    builder.start().await.expect("mock starts")
}

/// Sets `authorization` to a fixed value (or leaves it out).
#[derive(Clone, Debug)]
pub struct Header(Option<String>);

impl Interceptor for Header {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(header) = &self.0 {
            let value: MetadataValue<_> = header.parse().expect("header value");
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

/// A channel whose calls carry a fixed `authorization` header.
pub type Authed = InterceptedService<Channel, Header>;

/// A lazily connected channel to the mock.
pub fn channel(mock: &MockServer) -> Channel {
    Endpoint::from_shared(mock.endpoint())
        .expect("the mock's endpoint is a URL")
        .connect_lazy()
}

/// The generated VPC stub sending `authorization` exactly as given (or not at all).
pub fn vpc_stub_with_header(mock: &MockServer, header: Option<&str>) -> VpcServiceClient<Authed> {
    VpcServiceClient::with_interceptor(channel(mock), Header(header.map(str::to_owned)))
}

/// The generated VPC stub with `Bearer <token>`.
pub fn vpc_stub(mock: &MockServer, token: &str) -> VpcServiceClient<Authed> {
    vpc_stub_with_header(mock, Some(&format!("Bearer {token}")))
}

/// The generated gateway stub with `Bearer <token>`.
pub fn gateway_stub(mock: &MockServer, token: &str) -> GatewayServiceClient<Authed> {
    GatewayServiceClient::with_interceptor(channel(mock), Header(Some(format!("Bearer {token}"))))
}

/// The status a call was refused with; a success fails the test.
pub fn refused<T: std::fmt::Debug>(result: Result<T, Status>) -> Status {
    result.expect_err("the call must fail")
}

/// The code a call failed with; a success fails the test.
pub fn error_code<T: std::fmt::Debug>(result: Result<T, Status>) -> tonic::Code {
    result.expect_err("the call must fail").code()
}

/// The field paths of a status's BadRequest detail, sorted.
pub fn violated_fields(status: &Status) -> Vec<String> {
    let mut fields: Vec<String> = status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    fields.sort();
    fields
}

/// A mock whose lifecycle moves only with the returned clock, each transition taking `delay`.
pub async fn clocked_mock(delay: Duration) -> (MockServer, ManualClock) {
    let clock = ManualClock::new();
    let builder = MockServer::builder()
        .clock(clock.clone())
        .transition_delay(delay);
    (start(builder).await, clock)
}

/// Every VPC the stub's organization holds, through `ListVPCs`.
pub async fn list_vpcs(stub: &mut VpcServiceClient<Authed>) -> Vec<Vpc> {
    stub.list_vp_cs(ListVpCsRequest {})
        .await
        .expect("ListVPCs answers")
        .into_inner()
        .items
}

/// Every key of a VPC written with every field (spec section 4), in the contract's order.
pub const VPC_JSON_KEYS: [&str; 12] = [
    "name",
    "zone",
    "id",
    "vpcPrefixes",
    "createdAt",
    "updatedAt",
    "hostPrefix",
    "hostPrefixes",
    "ingress",
    "egress",
    "dhcp",
    "status",
];

/// The keys of a JSON object; none for any other value.
pub fn json_keys(value: &serde_json::Value) -> BTreeSet<&str> {
    value
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// A response message that carries one resource (a VPC or a gateway).
pub trait Carries<T> {
    /// The resource, if the message has it.
    fn resource(self) -> Option<T>;
}

macro_rules! carries {
    ($($response:ty => $field:ident: $resource:ty),* $(,)?) => {
        $(impl Carries<$resource> for $response {
            fn resource(self) -> Option<$resource> {
                self.$field
            }
        })*
    };
}

carries!(
    CreateVpcResponse => vpc: Vpc,
    GetVpcResponse => vpc: Vpc,
    UpdateVpcResponse => vpc: Vpc,
    DeleteVpcResponse => vpc: Vpc,
    CreateGatewayResponse => gateway: Gateway,
    GetGatewayResponse => gateway: Gateway,
    UpdateGatewayResponse => gateway: Gateway,
    DeleteGatewayResponse => gateway: Gateway,
);

/// The resource a call answered with; a failure, or an answer without it, fails the test.
pub fn answered<T, R: Carries<T>>(result: Result<tonic::Response<R>, Status>) -> T {
    let response = result.unwrap_or_else(|status| panic!("the call failed: {status:?}"));
    let resource = response.into_inner().resource();
    resource.expect("the answer carries the resource")
}
