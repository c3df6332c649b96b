//! An inference gateway with each kind of routing: by the JSON body's `model`, by a header,
//! and by the first path segment. Each is created, waited for, shown and deleted.
//!
//! ```sh
//! export COREWEAVE_API_ENDPOINT=http://127.0.0.1:50051   # the mock; unset for the real API
//! export COREWEAVE_API_TOKEN=CW-SECRET-example
//! cargo run --example gateway_routing
//! ```

use std::time::Duration;

use coreweave_api::{Client, CreateGateway, WaitOptions};

/// Chooses a gateway's routing.
type Routing = fn(CreateGateway) -> CreateGateway;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let wait = WaitOptions::new(Duration::from_secs(300)).poll_interval(Duration::from_millis(250));
    let gateways = client.gateways();
    let suffix = std::process::id();

    let routings: [(&str, Routing); 3] = [
        ("body", |g| g.body_based_routing()),
        ("header", |g| g.header_based_routing("x-model")),
        ("path", |g| g.path_based_routing()),
    ];
    for (kind, route) in routings {
        let create = gateways
            .create(format!("{kind}-routed-{suffix}"))
            .core_weave_auth();
        let gateway = route(create).send_and_wait(wait).await?;
        let spec = gateway.spec.unwrap_or_default();
        let endpoints = gateway.status.map(|s| s.endpoints).unwrap_or_default();
        println!(
            "{kind}-routed gateway {} is ready at {} ({:?})",
            spec.id,
            endpoints.join(", "),
            spec.routing
        );
        gateways.delete_and_wait(&spec.id, wait).await?;
        println!("deleted gateway {}", spec.id);
    }
    Ok(())
}
