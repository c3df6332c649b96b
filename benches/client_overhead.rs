//! Measures the client's overhead per call against the raw generated stub, on the same
//! in-process mock: `cargo bench --bench client_overhead`.
//!
//! Three sides send `GetVPC` for the same VPC with the same bearer token, one call at a time,
//! in interleaved rounds so that drift affects all equally: the raw gRPC stub (the baseline),
//! the client over gRPC, and the client over REST/JSON. Prints the median and mean latency of
//! each and each client's overhead against the stub in percent.

use std::time::{Duration, Instant};

use coreweave_api::{
    networking::v1beta1::{vpc_service_client::VpcServiceClient, GetVpcRequest},
    Client, Transport,
};
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
    let mock = coreweave_test_support::instant_mock().await;
    let build = |transport| {
        Client::builder()
            .endpoint(mock.endpoint())
            .token(TOKEN)
            .transport(transport)
            .build()
    };
    let grpc = build(Transport::Grpc)?;
    let rest = build(Transport::Rest)?;
    let vpc = grpc
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

    // Warm up every path (connections, allocator, caches).
    for _ in 0..CALLS_PER_ROUND {
        raw.get_vpc(raw_request(&vpc.id)).await?;
        grpc.vpcs().get(&vpc.id).await?;
        rest.vpcs().get(&vpc.id).await?;
    }

    let samples = || Vec::with_capacity(ROUNDS * CALLS_PER_ROUND);
    let (mut raw_samples, mut grpc_samples, mut rest_samples) = (samples(), samples(), samples());
    for _ in 0..ROUNDS {
        for _ in 0..CALLS_PER_ROUND {
            let started = Instant::now();
            raw.get_vpc(raw_request(&vpc.id)).await?;
            raw_samples.push(started.elapsed());
        }
        for (client, samples) in [(&grpc, &mut grpc_samples), (&rest, &mut rest_samples)] {
            let vpcs = client.vpcs();
            for _ in 0..CALLS_PER_ROUND {
                let started = Instant::now();
                vpcs.get(&vpc.id).await?;
                samples.push(started.elapsed());
            }
        }
    }

    let (raw_median, raw_mean) = summarize(&mut raw_samples);
    println!(
        "GetVPC, {} calls each, sequential, in-process mock",
        ROUNDS * CALLS_PER_ROUND
    );
    println!("raw gRPC stub:  median {raw_median:?}, mean {raw_mean:?}");
    let overhead =
        |client: Duration, raw: Duration| (client.as_secs_f64() / raw.as_secs_f64() - 1.0) * 100.0;
    for (label, samples) in [
        ("client, grpc", &mut grpc_samples),
        ("client, rest", &mut rest_samples),
    ] {
        let (median, mean) = summarize(samples);
        println!(
            "{label}:  median {median:?}, mean {mean:?}, overhead {:+.1}% (median), {:+.1}% (mean)",
            overhead(median, raw_median),
            overhead(mean, raw_mean)
        );
    }
    mock.shutdown().await?;
    Ok(())
}
