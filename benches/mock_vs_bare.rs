//! The mock against a bare tonic server built from the same generated `VPCService` stub,
//! which keeps its VPCs in a `RwLock<HashMap>` and does nothing else: side by side, in
//! interleaved rounds, with the servers on one core and the load on the other.
//!
//! Run it with `scripts/bench-mock.sh [SECONDS_PER_ROUND] [--pairs N]`, which builds the
//! release binary, pins the servers to CPU 0 and the load to CPU 1 (with `taskset`, when
//! present), and prints two tables. `--smoke` runs every step with tiny sizes, to prove it
//! still works; `--op get|not-found|list|create` runs one operation's rows alone.
//!
//! Each row is `N` pairs of rounds (8 by default, 2 s each), one round of each server per
//! pair, each server first in every other pair. The table gives each server's rounds pooled,
//! their ratio, and the median and range of the pairs' ratios: on a shared machine one slow
//! round moves the pooled ratio, and the spread says how far to trust it. Every CreateVPC
//! round starts on fresh servers, warmed with 256 VPCs, so that each round fills a store
//! from the same size.
//!
//! The second table is each server under callgrind, pinned in the same way, and the
//! instructions it executes per call of each operation (`--calls`, 4,096 by default), which
//! the machine's noise barely moves; `--instructions` prints that table alone.
//!
//! The load comes from h2load (Debian's nghttp2-client, which `scripts/install-tools.sh`
//! fetches) where it runs, for every call it can repeat verbatim; CreateVPC needs a new name
//! per call, so it always comes from this binary's own tonic client, as does everything when
//! h2load is missing or `--rust-load` is given. The table says which made each row.
//!
//! This binary is also the bare server: `mock_vs_bare --serve-bare`.

mod support;

use std::{
    collections::HashMap,
    process::Command,
    sync::RwLock,
    time::{Duration, Instant},
};

use support::{
    arg, callgrind_control, callgrind_total, find_h2load, h2load_round, Contender, Length, Load,
    Row, Samples, Server, Settings, Target, MISSING_ID, TOKEN,
};

use coreweave_api::networking::v1beta1::{
    host_prefix, prefix, vpc,
    vpc_service_client::VpcServiceClient,
    vpc_service_server::{VpcService, VpcServiceServer},
    CreateVpcRequest, CreateVpcResponse, DeleteVpcRequest, DeleteVpcResponse, GetVpcRequest,
    GetVpcResponse, HostPrefix, ListVpCsRequest, ListVpCsResponse, Prefix, UpdateVpcRequest,
    UpdateVpcResponse, Vpc,
};
use prost::Message;
use tonic::{metadata::MetadataValue, transport::Channel, Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The baseline: the same stub, a map, nothing else.
///
/// It answers with the messages the API defines, as the mock does: a VPC as the service shows
/// it (timestamps, statuses, the legacy `host_prefix`, empty ingress and egress settings),
/// fixed once at create, and NOT_FOUND with its `ResourceInfo`. Both servers then send the
/// same bytes, and the ratio measures the work the mock does per call, not the size of the
/// API's answers.
#[derive(Default)]
struct Bare {
    vpcs: RwLock<HashMap<String, Vpc>>,
}

/// A new VPC as the API shows it, from the request that creates it.
#[allow(deprecated)] // `host_prefix` is deprecated, and still in every answer.
fn as_the_api_shows_it(request: CreateVpcRequest) -> Vpc {
    let now = Some(std::time::SystemTime::now().into());
    let host_prefix = request
        .host_prefixes
        .iter()
        .find(|h| h.r#type == host_prefix::Type::Primary as i32)
        .and_then(|h| h.prefixes.first().cloned())
        .unwrap_or_default();
    let vpc_prefixes = request
        .vpc_prefixes
        .into_iter()
        .map(|prefix| Prefix {
            created_at: now,
            updated_at: now,
            status: prefix::Status::Available as i32,
            ..prefix
        })
        .collect();
    Vpc {
        id: uuid::Uuid::new_v4().to_string(),
        name: request.name,
        zone: request.zone,
        host_prefix,
        host_prefixes: request.host_prefixes,
        vpc_prefixes,
        ingress: Some(request.ingress.unwrap_or_default()),
        egress: Some(request.egress.unwrap_or_default()),
        dhcp: request.dhcp,
        status: vpc::Status::Ready as i32,
        created_at: now,
        updated_at: now,
    }
}

#[tonic::async_trait]
impl VpcService for Bare {
    async fn create_vpc(
        &self,
        request: Request<CreateVpcRequest>,
    ) -> Result<Response<CreateVpcResponse>, Status> {
        let vpc = as_the_api_shows_it(request.into_inner());
        let mut vpcs = self
            .vpcs
            .write()
            .map_err(|_| Status::internal("poisoned"))?;
        vpcs.insert(vpc.id.clone(), vpc.clone());
        Ok(Response::new(CreateVpcResponse { vpc: Some(vpc) }))
    }

    async fn get_vpc(
        &self,
        request: Request<GetVpcRequest>,
    ) -> Result<Response<GetVpcResponse>, Status> {
        let id = &request.get_ref().id;
        let vpcs = self.vpcs.read().map_err(|_| Status::internal("poisoned"))?;
        let vpc = vpcs.get(id).cloned().ok_or_else(|| {
            let details = ErrorDetails::with_resource_info(
                "coreweave.networking.v1beta1.VPC",
                id,
                "",
                "not found",
            );
            Status::with_error_details(Code::NotFound, format!("VPC {id} not found"), details)
        })?;
        Ok(Response::new(GetVpcResponse { vpc: Some(vpc) }))
    }

    async fn list_vp_cs(
        &self,
        _request: Request<ListVpCsRequest>,
    ) -> Result<Response<ListVpCsResponse>, Status> {
        let vpcs = self.vpcs.read().map_err(|_| Status::internal("poisoned"))?;
        Ok(Response::new(ListVpCsResponse {
            items: vpcs.values().cloned().collect(),
        }))
    }

    async fn update_vpc(
        &self,
        _request: Request<UpdateVpcRequest>,
    ) -> Result<Response<UpdateVpcResponse>, Status> {
        Err(Status::unimplemented("not measured"))
    }

    async fn delete_vpc(
        &self,
        _request: Request<DeleteVpcRequest>,
    ) -> Result<Response<DeleteVpcResponse>, Status> {
        Err(Status::unimplemented("not measured"))
    }
}

async fn serve_bare() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!(
        "{{\"event\":\"listening\",\"addr\":\"{}\"}}",
        listener.local_addr()?
    );
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(VpcServiceServer::new(Bare::default()))
        .serve_with_incoming(incoming)
        .await?;
    Ok(())
}

/// Starts `contender` and waits until a gRPC call succeeds; returns it and how long that took.
async fn start(contender: Contender<'_>) -> (Server, Duration) {
    let server = contender.spawn();
    let mut client = connect(&server.addr).await;
    while client
        .list_vp_cs(authorized(ListVpCsRequest {}))
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let took = server.spawned.elapsed();
    (server, took)
}

/// How many starts the start-to-SERVING figure is the median of.
const STARTS: usize = 5;

/// The median time from spawning `contender` to its first answered call, over [`STARTS`]
/// starts, `first` among them: one start is at the mercy of the machine's noise.
async fn median_start(first: Duration, contender: Contender<'_>) -> Duration {
    let mut times = vec![first];
    for _ in 1..STARTS {
        times.push(start(contender).await.1);
    }
    times.sort();
    times[STARTS / 2]
}

async fn connect(addr: &str) -> VpcServiceClient<Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_lazy();
    VpcServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024)
}

/// Every VPC the benchmark makes: the PRIMARY host prefix the mock gives a VPC in
/// US-EAST-04A by default, and one VPC prefix. The host prefix is sent, not defaulted, so
/// that the bare server, which stores what it is sent, holds and returns the same VPC.
fn vpc_request(name: String) -> CreateVpcRequest {
    CreateVpcRequest {
        name,
        zone: "US-EAST-04A".into(),
        host_prefixes: vec![HostPrefix {
            name: "host primary".into(),
            r#type: host_prefix::Type::Primary as i32,
            prefixes: vec!["10.32.0.0/18".into()],
            ..HostPrefix::default()
        }],
        vpc_prefixes: vec![Prefix {
            name: "pods".into(),
            value: "172.16.0.0/16".into(),
            ..Prefix::default()
        }],
        ..CreateVpcRequest::default()
    }
}

fn authorized<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {TOKEN}").parse().expect("header");
    request.metadata_mut().insert("authorization", value);
    request
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Create,
    List100,
    NotFound,
}

impl Op {
    /// How `--op` names it, to run its rows alone.
    fn flag(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Create => "create",
            Self::List100 => "list",
            Self::NotFound => "not-found",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Get => "GetVPC",
            Self::Create => "CreateVPC",
            Self::List100 => "ListVPCs (100)",
            Self::NotFound => "GetVPC NOT_FOUND",
        }
    }
}

impl Op {
    /// The gRPC call that h2load sends to `addr` over and over; `None` for CreateVPC, whose
    /// every call needs a new name.
    fn fixed_request(self, addr: &str, known_id: &str) -> Option<Target> {
        let (method, message) = match self {
            Self::Get => (
                "GetVPC",
                GetVpcRequest {
                    id: known_id.into(),
                }
                .encode_to_vec(),
            ),
            Self::NotFound => (
                "GetVPC",
                GetVpcRequest {
                    id: MISSING_ID.into(),
                }
                .encode_to_vec(),
            ),
            Self::List100 => ("ListVPCs", ListVpCsRequest {}.encode_to_vec()),
            Self::Create => return None,
        };
        let length = u32::try_from(message.len()).expect("a small request");
        let mut framed = vec![0u8];
        framed.extend(length.to_be_bytes());
        framed.extend(message);
        Some(Target {
            url: format!("http://{addr}/coreweave.networking.v1beta1.VPCService/{method}"),
            headers: vec![
                "content-type: application/grpc".into(),
                "te: trailers".into(),
                format!("authorization: Bearer {TOKEN}"),
            ],
            body: Some(framed),
            // gRPC answers every call 200, its code in the trailers.
            status_class: 2,
        })
    }
}

/// Runs `op` against `client` from `concurrency` tasks on one connection for `length`.
async fn round(
    client: &VpcServiceClient<Channel>,
    op: Op,
    concurrency: usize,
    length: impl Into<Length>,
    known_id: &str,
    round_number: usize,
) -> Samples {
    let (client, known_id) = (client.clone(), std::sync::Arc::<str>::from(known_id));
    Samples::of_tasks(concurrency, length.into(), move |task, n| {
        let (mut client, known_id) = (client.clone(), std::sync::Arc::clone(&known_id));
        async move {
            match op {
                Op::Get => client
                    .get_vpc(authorized(GetVpcRequest {
                        id: known_id.to_string(),
                    }))
                    .await
                    .is_ok(),
                Op::NotFound => client
                    .get_vpc(authorized(GetVpcRequest {
                        id: MISSING_ID.into(),
                    }))
                    .await
                    .is_err(),
                Op::List100 => client
                    .list_vp_cs(authorized(ListVpCsRequest {}))
                    .await
                    .is_ok(),
                Op::Create => client
                    .create_vpc(authorized(vpc_request(format!(
                        "r{round_number}-t{task}-{n}"
                    ))))
                    .await
                    .is_ok(),
            }
        }
    })
    .await
}

/// Gives a new server 100 VPCs and returns the id of one of them, having checked the answers
/// to a GetVPC of it and of [`MISSING_ID`] (h2load sees HTTP statuses only).
async fn seed(client: &VpcServiceClient<Channel>, name: &str) -> Result<String, Status> {
    let mut client = client.clone();
    fill(&client, "seed-", 99).await;
    let created = client
        .create_vpc(authorized(vpc_request("known".into())))
        .await?
        .into_inner();
    let id = created.vpc.map(|v| v.id).unwrap_or_default();
    client
        .get_vpc(authorized(GetVpcRequest { id: id.clone() }))
        .await?;
    let missing = GetVpcRequest {
        id: MISSING_ID.into(),
    };
    let status = client.get_vpc(authorized(missing)).await;
    let code = status.err().map(|status| status.code());
    assert_eq!(code, Some(tonic::Code::NotFound), "{name}");
    Ok(id)
}

/// `--instructions`: the instructions each server executes per call of each operation, 64
/// calls in flight, counted by callgrind on the server's side. Unlike req/s they do not move
/// with the machine's noise: the same binaries and calls count the same, whatever else runs.
async fn count_instructions(
    contenders: [Contender<'_>; 2],
    calls: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    const OPS: [Op; 4] = [Op::Get, Op::NotFound, Op::List100, Op::Create];
    let per_task = (calls / 64).max(1);
    let mut counts = [[0.0; OPS.len()]; 2];
    for (i, contender) in contenders.into_iter().enumerate() {
        let out = std::env::temp_dir().join(format!(
            "mock_vs_bare-{}-{}.callgrind",
            std::process::id(),
            contender.name
        ));
        let server = contender.under_callgrind(&out);
        let client = connect(&server.addr).await;
        let known = seed(&client, server.name).await?;
        let pid = server.child.id();
        for (k, op) in OPS.into_iter().enumerate() {
            // Warm up, then count only the measured calls.
            round(
                &client,
                op,
                64,
                Length::Calls(per_task / 4 + 1),
                &known,
                2 * k,
            )
            .await;
            callgrind_control("-z", pid)?;
            let samples = round(&client, op, 64, Length::Calls(per_task), &known, 2 * k + 1).await;
            callgrind_control("-d", pid)?;
            let expected = 64 * per_task as usize;
            if samples.requests != expected {
                return Err(format!(
                    "{}: {} of {expected} {} calls answered as expected",
                    server.name,
                    samples.requests,
                    op.label()
                )
                .into());
            }
            let dump = out.with_extension(format!("callgrind.{}", k + 1));
            counts[i][k] = callgrind_total(&dump).await? as f64 / expected as f64;
            let _ = std::fs::remove_file(&dump);
        }
        drop(server);
        let _ = std::fs::remove_file(&out);
    }
    println!();
    println!("| instructions per call, ×64 (callgrind, server side) | bare tonic | our mock | bare / mock |");
    println!("|---|---|---|---|");
    for (k, op) in OPS.into_iter().enumerate() {
        let [mock, bare] = [counts[0][k], counts[1][k]];
        println!(
            "| {} | {bare:.0} | {mock:.0} | **{:.1}%** |",
            op.label(),
            100.0 * bare / mock
        );
    }
    Ok(())
}

/// Fills a server's organization with `count` VPCs, 64 at a time.
/// Every VPC the benchmark's organization holds on the server `client` talks to.
async fn list_all(client: &mut VpcServiceClient<Channel>) -> Result<Vec<Vpc>, Status> {
    let response = client.list_vp_cs(authorized(ListVpCsRequest {})).await?;
    Ok(response.into_inner().items)
}

async fn fill(client: &VpcServiceClient<Channel>, prefix: &str, count: usize) {
    let tasks: Vec<_> = (0..64)
        .map(|task| {
            let mut client = client.clone();
            let prefix = prefix.to_owned();
            tokio::spawn(async move {
                for i in (task..count).step_by(64) {
                    let request = vpc_request(format!("{prefix}{i}"));
                    let _ = client.create_vpc(authorized(request)).await;
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
}

/// `--creates-against ADDR [--seconds S]`: CreateVPC from 64 tasks against a server that is
/// already running, for profiling one side alone (h2load cannot vary the names).
async fn creates_against(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = arg("--seconds").and_then(|s| s.parse().ok()).unwrap_or(8.0);
    let client = connect(addr).await;
    let length = Duration::from_secs_f64(seconds);
    let mut samples = round(
        &client,
        Op::Create,
        64,
        length,
        "",
        std::process::id() as usize,
    )
    .await;
    let (p50, p99, max) = (
        samples.percentile(0.5),
        samples.percentile(0.99),
        samples.percentile(1.0),
    );
    println!(
        "{} CreateVPC in {:?}, p50 {p50:?}, p99 {p99:?}, max {max:?}: {:.0}/s",
        samples.requests,
        samples.elapsed,
        samples.rate()
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--serve-bare") {
        return serve_bare().await;
    }
    if let Some(addr) = arg("--creates-against") {
        return creates_against(&addr).await;
    }
    let settings = Settings::from_args()?;
    let smoke = settings.smoke;
    let h2load = if std::env::args().any(|a| a == "--rust-load") {
        None
    } else {
        find_h2load()
    };
    let (length, pairs, instruction_calls) = (settings.length, settings.pairs, settings.calls);
    let big: usize = if smoke { 1_000 } else { 100_000 };
    let list_size: usize = if smoke { 500 } else { 10_000 };
    let contenders = settings.contenders();
    let valgrind = Command::new("valgrind").arg("--version").output().is_ok();
    if std::env::args().any(|a| a == "--instructions") {
        return count_instructions(contenders, instruction_calls).await;
    }

    let (mock, mock_first_start) = start(contenders[0]).await;
    let (bare, bare_first_start) = start(contenders[1]).await;
    println!("| | bare tonic | our mock | mock / bare | pairs: median (range) | load |");
    println!("|---|---|---|---|---|---|");
    let mock_start = median_start(mock_first_start, contenders[0]).await;
    let bare_start = median_start(bare_first_start, contenders[1]).await;
    println!(
        "| start to SERVING (median of {STARTS}) | {:.1} ms | {:.1} ms | | | |",
        bare_start.as_secs_f64() * 1e3,
        mock_start.as_secs_f64() * 1e3
    );
    println!(
        "| RSS, idle | {:.1} MB | {:.1} MB | | | |",
        bare.rss_mb(),
        mock.rss_mb()
    );

    let servers = [&mock, &bare];
    let mut clients = Vec::new();
    let mut known = Vec::new();
    for server in servers {
        let client = connect(&server.addr).await;
        known.push(seed(&client, server.name).await?);
        clients.push(client);
    }

    // List100 first, while each organization holds 100 VPCs; creates come last.
    let only = arg("--op");
    for op in [Op::List100, Op::Get, Op::NotFound, Op::Create] {
        if only.as_deref().is_some_and(|only| only != op.flag()) {
            continue;
        }
        for concurrency in [1, 64] {
            let mut row = Row::default();
            let mut load = "Rust client";
            for pair in 0..pairs {
                // Each server goes first in every other pair.
                let order = if pair % 2 == 0 { [0, 1] } else { [1, 0] };
                let mut rates = [0.0; 2];
                for i in order {
                    let request = op.fixed_request(&servers[i].addr, &known[i]);
                    let samples = match (&h2load, request) {
                        (Some(h2load), Some(request)) => {
                            load = "h2load";
                            let streams = Load::Http2 {
                                connections: 1,
                                streams: concurrency,
                            };
                            h2load_round(h2load, &request, streams, length)
                        }
                        // Every create round starts on a fresh server, so that each round
                        // of either server fills a store from empty to the same sizes.
                        _ if op == Op::Create => {
                            let (fresh, _) = start(contenders[i]).await;
                            let client = connect(&fresh.addr).await;
                            // As the other rows' servers are warmed by their seed VPCs.
                            fill(&client, "warm-", 256).await;
                            round(&client, op, concurrency, length, "", pair).await
                        }
                        _ => round(&clients[i], op, concurrency, length, &known[i], pair).await,
                    };
                    rates[i] = samples.rate();
                    row.pooled[i].add(samples);
                }
                row.pair_ratios.push(rates[0] / rates[1].max(1e-9));
            }
            row.print(&format!("{} ×{concurrency}", op.label()), load);
        }
    }
    if only.is_some() {
        return Ok(());
    }

    // A full list at `list_size` VPCs, then RSS with `big` VPCs, on fresh servers.
    drop(clients);
    drop((mock, bare));
    let (mock, _) = start(contenders[0]).await;
    let (bare, _) = start(contenders[1]).await;
    let servers = [&mock, &bare];
    let mut clients = Vec::new();
    for server in servers {
        clients.push(connect(&server.addr).await);
    }
    let mut list_times = Vec::new();
    for (server, client) in servers.iter().zip(&clients) {
        let mut client = client.clone();
        let have = list_all(&mut client).await?.len();
        fill(&client, "list-", list_size.saturating_sub(have)).await;
        let started = Instant::now();
        let items = list_all(&mut client).await?;
        list_times.push((server.name, items.len(), started.elapsed()));
    }
    println!(
        "| full ListVPCs of {} / {} VPCs | {:?} | {:?} | | | |",
        list_times[1].1, list_times[0].1, list_times[1].2, list_times[0].2
    );
    for client in &clients {
        let mut client = client.clone();
        let have = list_all(&mut client).await?.len();
        fill(&client, "big-", big.saturating_sub(have)).await;
    }
    println!(
        "| RSS with {big} VPCs | {:.1} MB | {:.1} MB | | | |",
        bare.rss_mb(),
        mock.rss_mb()
    );
    drop((mock, bare));
    if !valgrind {
        println!("\n(valgrind is not installed here, so no instruction counts)");
        return Ok(());
    }
    count_instructions(contenders, instruction_calls).await
}
