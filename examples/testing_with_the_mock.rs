//! Testing your own code with the in-process mock: no cloud account, no network, faults on
//! demand, a clock you can move, and a journal of what your code sent. `cargo test --example testing_with_the_mock` runs the tests below (plain
//! `cargo test` does too); `cargo run` runs the same code once against a mock of its own.
//!
//! In your project, add `coreweave-mock` as a dev-dependency and write tests like these.

use coreweave_api::{Client, Error, Transport};
use coreweave_mock::MockServer;

/// The code under test: makes sure a VPC named `name` exists, and returns its id.
async fn ensure_vpc(client: &Client, name: &str) -> Result<String, Error> {
    let existing = client.vpcs().list().await?;
    if let Some(vpc) = existing.into_iter().find(|vpc| vpc.name == name) {
        return Ok(vpc.id);
    }
    let vpc = client
        .vpcs()
        .create(name)
        .zone("US-EAST-04A")
        .send()
        .await?;
    Ok(vpc.id)
}

/// A client for a mock, with a token of its own (each token is its own organization).
fn client_for(mock: &MockServer, token: &str) -> Result<Client, Error> {
    Client::builder()
        .endpoint(mock.endpoint())
        .token(token)
        .transport(Transport::Rest)
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockServer::builder().start().await?;
    let client = client_for(&mock, "CW-SECRET-example")?;
    let first = ensure_vpc(&client, "app").await?;
    let second = ensure_vpc(&client, "app").await?;
    println!(
        "ensure_vpc is idempotent: {first} == {second}: {}",
        first == second
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use coreweave_mock::{CallFilter, Fault, Method, Scope};

    #[tokio::test]
    async fn ensure_vpc_creates_once() {
        let mock = MockServer::builder()
            .transition_delay(Duration::ZERO)
            .start()
            .await
            .unwrap();
        let client = client_for(&mock, "CW-SECRET-test-once").unwrap();
        let first = ensure_vpc(&client, "app").await.unwrap();
        let second = ensure_vpc(&client, "app").await.unwrap();
        assert_eq!(first, second);
        assert_eq!(client.vpcs().list().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn waiting_for_ready_without_waiting() {
        // A long transition, skipped by moving this test's own clock forward.
        let mock = MockServer::builder()
            .transition_delay(Duration::from_secs(3600))
            .start()
            .await
            .unwrap();
        let token = "CW-SECRET-test-clock";
        let client = client_for(&mock, token).unwrap();
        let id = ensure_vpc(&client, "app").await.unwrap();
        mock.advance_clock(&Scope::token(token), Duration::from_secs(3600))
            .unwrap();
        let vpc = client
            .vpcs()
            .wait_until_ready(&id, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            vpc.status(),
            coreweave_api::networking::v1beta1::vpc::Status::Ready
        );
        // And the journal says what the code under test sent.
        let creates = CallFilter {
            method: Some(Method::CreateVpc),
            ..CallFilter::default()
        };
        assert_eq!(mock.calls(&Scope::token(token), &creates).len(), 1);
    }

    #[tokio::test]
    async fn ensure_vpc_survives_a_flaky_list() {
        // The first ListVPCs answers UNAVAILABLE; the client retries it.
        let mock = MockServer::builder()
            .fault(Fault::fail(Method::ListVpcs, 1, tonic::Code::Unavailable))
            .start()
            .await
            .unwrap();
        let client = client_for(&mock, "CW-SECRET-test-flaky").unwrap();
        ensure_vpc(&client, "app").await.unwrap();
    }
}
