//! Measures the client's overhead per call against the raw generated stub, on the same
//! in-process mock: `cargo bench --bench client_overhead`.
//!
//! Both sides send `GetVPC` for the same VPC with the same bearer token, one call at a time,
//! alternating rounds so that drift affects both equally. Prints the median and mean latency of
//! each and the client's overhead in percent.

use std::time::{Duration, Instant};

use coreweave_api::{
    networking::v1beta1::{vpc_service_client::VpcServiceClient, GetVpcRequest},
    Client,
};
use coreweave_mock::MockServer;
use tonic::{metadata::MetadataValue, Request};

const TOKEN: &str = "CW-SECRET-bench";
const ROUNDS: usize = 20;
const CALLS_PER_ROUND: usize = 500;

fn summarize(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap_or(u32::MAX);
    (median, mean)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockServer::builder()
        .transition_delay(Duration::ZERO)
        .start()
        .await?;
    let client = Client::builder()
        .endpoint(mock.endpoint())
        .token(TOKEN)
        .build()?;
    let vpc = client
        .vpcs()
        .create("bench")
        .zone("US-EAST-04A")
        .send()
        .await?;

    let channel = tonic::transport::Endpoint::from_shared(mock.endpoint())?
        .connect()
        .await?;
    let mut raw = VpcServiceClient::new(channel);
    let header: MetadataValue<_> = format!("Bearer {TOKEN}").parse()?;
    let raw_request = |id: &str| {
        let mut request = Request::new(GetVpcRequest { id: id.to_owned() });
        request
            .metadata_mut()
            .insert("authorization", header.clone());
        request.set_timeout(Duration::from_secs(30));
        request
    };

    // Warm up both paths (connections, allocator, caches).
    for _ in 0..CALLS_PER_ROUND {
        raw.get_vpc(raw_request(&vpc.id)).await?;
        client.vpcs().get(&vpc.id).await?;
    }

    let mut raw_samples = Vec::with_capacity(ROUNDS * CALLS_PER_ROUND);
    let mut client_samples = Vec::with_capacity(ROUNDS * CALLS_PER_ROUND);
    for _ in 0..ROUNDS {
        for _ in 0..CALLS_PER_ROUND {
            let started = Instant::now();
            raw.get_vpc(raw_request(&vpc.id)).await?;
            raw_samples.push(started.elapsed());
        }
        let vpcs = client.vpcs();
        for _ in 0..CALLS_PER_ROUND {
            let started = Instant::now();
            vpcs.get(&vpc.id).await?;
            client_samples.push(started.elapsed());
        }
    }

    let (raw_median, raw_mean) = summarize(&mut raw_samples);
    let (client_median, client_mean) = summarize(&mut client_samples);
    let overhead =
        |client: Duration, raw: Duration| (client.as_secs_f64() / raw.as_secs_f64() - 1.0) * 100.0;
    println!(
        "GetVPC, {} calls each, sequential, in-process mock",
        ROUNDS * CALLS_PER_ROUND
    );
    println!("raw stub: median {raw_median:?}, mean {raw_mean:?}");
    println!("client:   median {client_median:?}, mean {client_mean:?}");
    println!(
        "client overhead: {:+.1}% (median), {:+.1}% (mean)",
        overhead(client_median, raw_median),
        overhead(client_mean, raw_mean)
    );
    mock.shutdown().await?;
    Ok(())
}
