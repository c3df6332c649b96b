//! Helpers for the client's integration tests: in-process mocks and a raw stub with a token.
//! (The mock's own tests have a fuller set in `mock-server/tests/common`.)
#![allow(dead_code)]

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use coreweave_api::networking::v1beta1::vpc_service_client::VpcServiceClient;
use coreweave_mock::{MockServer, MockServerBuilder};
use tonic::{
    metadata::MetadataValue,
    service::interceptor::{InterceptedService, Interceptor},
    transport::{Channel, Endpoint},
    Request, Status,
};

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
    MockServer::builder()
        .transition_delay(Duration::ZERO)
        .start()
        .await
        .expect("mock starts")
}

/// Starts a mock from a builder.
pub async fn start(builder: MockServerBuilder) -> MockServer {
    builder.start().await.expect("mock starts")
}

/// Sets `authorization` to a fixed value (or leaves it out).
#[derive(Clone)]
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

pub type Authed = InterceptedService<Channel, Header>;

fn channel(mock: &MockServer) -> Channel {
    Endpoint::from_shared(mock.endpoint())
        .unwrap()
        .connect_lazy()
}

/// The generated VPC stub with `Bearer <token>`.
pub fn vpc_stub(mock: &MockServer, token: &str) -> VpcServiceClient<Authed> {
    VpcServiceClient::with_interceptor(channel(mock), Header(Some(format!("Bearer {token}"))))
}
