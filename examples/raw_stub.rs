//! The escape hatch: the generated gRPC stub, for a call or a field the typed API does not
//! cover, with the client's token and timeout attached by `authorize`.
//!
//! The stubs speak binary gRPC with this crate's own field numbers, so use them against
//! `coreweave-mock`, never against the real API.
//!
//! ```sh
//! export COREWEAVE_API_ENDPOINT=http://127.0.0.1:50051   # the mock
//! export COREWEAVE_API_TOKEN=CW-SECRET-example
//! cargo run --example raw_stub
//! ```

use coreweave_api::{networking::v1beta1::ListVpCsRequest, Client};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let mut stub = client.vpc_stub();
    // A tonic::Status converts into the crate's Error, details included.
    let response = stub
        .list_vp_cs(client.authorize(ListVpCsRequest {}))
        .await?;
    let metadata = response.metadata().clone();
    println!(
        "{} VPC(s); response metadata: {} entries",
        response.into_inner().items.len(),
        metadata.len()
    );
    Ok(())
}
