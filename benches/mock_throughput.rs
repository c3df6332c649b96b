//! Measures the mock's throughput under concurrent load from many organizations:
//! `cargo bench --bench mock_throughput`.
//!
//! 64 tasks over 8 HTTP/2 connections, each task with its own organization, first create
//! VPCs, then read them, for a fixed number of calls. Prints calls per second for each phase.

use std::time::Instant;

use coreweave_api::networking::v1beta1::{
    vpc_service_client::VpcServiceClient, CreateVpcRequest, GetVpcRequest,
};
use tonic::{metadata::MetadataValue, transport::Channel, Request};

const TASKS: usize = 64;
const CONNECTIONS: usize = 8;
const CALLS_PER_TASK: usize = 500;

fn authorized<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}")
        .parse()
        .unwrap_or_else(|_| unreachable!());
    request.metadata_mut().insert("authorization", value);
    request
}

async fn phase(
    name: &str,
    channels: &[Channel],
    read: bool,
    ids: &mut [Vec<String>],
) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (task, ids) in ids.iter_mut().enumerate() {
        let mut stub = VpcServiceClient::new(channels[task % channels.len()].clone());
        let token = format!("CW-SECRET-bench-{task}");
        let known = std::mem::take(ids);
        tasks.push(tokio::spawn(async move {
            let mut created = Vec::with_capacity(CALLS_PER_TASK);
            for call in 0..CALLS_PER_TASK {
                if read {
                    let id = known[call % known.len()].clone();
                    stub.get_vpc(authorized(GetVpcRequest { id }, &token))
                        .await?;
                } else {
                    let request = CreateVpcRequest {
                        name: format!("vpc-{call}"),
                        zone: "US-EAST-04A".into(),
                        ..Default::default()
                    };
                    let vpc = stub
                        .create_vpc(authorized(request, &token))
                        .await?
                        .into_inner()
                        .vpc
                        .unwrap_or_default();
                    created.push(vpc.id);
                }
            }
            Ok::<_, tonic::Status>(if read { known } else { created })
        }));
    }
    for (task, handle) in tasks.into_iter().enumerate() {
        ids[task] = handle.await??;
    }
    let elapsed = started.elapsed();
    let calls = TASKS * CALLS_PER_TASK;
    println!(
        "{name}: {calls} calls in {elapsed:.2?}: {:.0} calls/s",
        calls as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = coreweave_test_support::instant_mock().await;
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        channels.push(
            tonic::transport::Endpoint::from_shared(mock.endpoint())?
                .connect()
                .await?,
        );
    }
    let mut ids = vec![Vec::new(); TASKS];
    println!("{TASKS} tasks (one organization each) over {CONNECTIONS} connections, in-process mock, 2 worker threads shared with the clients");
    phase("CreateVPC", &channels, false, &mut ids).await?;
    phase("GetVPC", &channels, true, &mut ids).await?;
    mock.shutdown().await?;
    Ok(())
}
