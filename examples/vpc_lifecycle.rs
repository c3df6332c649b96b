//! Creates a VPC, waits for it, changes it, and deletes it.
//!
//! ```sh
//! export COREWEAVE_API_ENDPOINT=http://127.0.0.1:50051   # the mock; unset for the real API
//! export COREWEAVE_API_TOKEN=CW-SECRET-example
//! cargo run --example vpc_lifecycle
//! ```

use std::time::Duration;

use coreweave_api::{Client, WaitOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let wait = WaitOptions::new(Duration::from_secs(120)).poll_interval(Duration::from_millis(250));
    let name = format!("example-{}", std::process::id());

    let vpc = client
        .vpcs()
        .create(&name)
        .zone("US-EAST-04A")
        .vpc_prefix("workloads", "172.16.0.0/16")
        .dns_servers(["1.1.1.1", "8.8.8.8"])
        .send_and_wait(wait)
        .await?;
    println!(
        "created VPC {} ({}) with host prefix {:?}",
        vpc.name, vpc.id, vpc.host_prefixes[0].prefixes
    );

    let vpc = client
        .vpcs()
        .update(&vpc.id)
        .disable_public_services(true)
        .send()
        .await?;
    println!("updated: status {:?}", vpc.status());
    client.vpcs().wait_until_ready(&vpc.id, wait).await?;

    for vpc in client.vpcs().list().await? {
        println!("  {} {} {:?}", vpc.id, vpc.name, vpc.status());
    }

    client.vpcs().delete_and_wait(&vpc.id, wait).await?;
    println!("deleted VPC {}", vpc.id);
    Ok(())
}
