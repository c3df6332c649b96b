//! Creates an inference gateway in the first available zone, waits until it serves, prints
//! its endpoints, and deletes it. Also shows what an invalid request's error looks like.
//!
//! ```sh
//! export COREWEAVE_API_ENDPOINT=http://127.0.0.1:50051   # the mock; unset for the real API
//! export COREWEAVE_API_TOKEN=CW-SECRET-example
//! cargo run --example gateway
//! ```

use std::time::Duration;

use coreweave_api::{Client, ErrorKind, WaitOptions};

#[tokio::main]
async fn main() -> Result<(), coreweave_api::Error> {
    let client = Client::from_env()?;
    let wait = WaitOptions::new(Duration::from_secs(300)).poll_interval(Duration::from_millis(250));

    let zones = client.gateways().parameters().await?.zones;
    println!("zones: {}", zones.join(", "));

    let gateway = client
        .gateways()
        .create("example-gateway")
        .zones(zones.first().cloned())
        .core_weave_auth()
        .body_based_routing()
        .send_and_wait(wait)
        .await?;
    let id = gateway
        .spec
        .as_ref()
        .map(|s| s.id.clone())
        .unwrap_or_default();
    let endpoints = gateway.status.map(|s| s.endpoints).unwrap_or_default();
    println!("gateway {id} is ready at {}", endpoints.join(", "));

    // Errors name the bad field.
    let error = client
        .gateways()
        .create("no-routing")
        .core_weave_auth()
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    println!("an invalid request fails with: {error}");

    client.gateways().delete_and_wait(&id, wait).await?;
    println!("deleted gateway {id}");
    Ok(())
}
