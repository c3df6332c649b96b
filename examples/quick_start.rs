//! The shortest useful program: a client from the environment, then two reads.
//!
//! ```sh
//! cargo run -p coreweave-mock &                          # or use the real API
//! export COREWEAVE_API_ENDPOINT=http://127.0.0.1:50051   # unset for the real API
//! export COREWEAVE_API_TOKEN=CW-SECRET-example
//! cargo run --example quick_start
//! ```

use coreweave_api::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // COREWEAVE_API_TOKEN, COREWEAVE_API_ENDPOINT and COREWEAVE_API_TRANSPORT (default rest).
    let client = Client::from_env()?;
    println!(
        "talking to {} over {}",
        client.endpoint(),
        client.transport()
    );

    let vpcs = client.vpcs().list().await?;
    println!("{} VPC(s)", vpcs.len());
    for vpc in &vpcs {
        println!("  {} {} {}", vpc.id, vpc.name, vpc.status().as_str_name());
    }

    let zones = client.gateways().parameters().await?.zones;
    println!("gateway zones: {}", zones.join(", "));
    Ok(())
}
