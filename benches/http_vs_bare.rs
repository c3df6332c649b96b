//! The mock's REST and Connect front doors against bare servers that do the least such a
//! server can: an axum server on the same paths that checks that an `Authorization` header
//! is present and answers with the same bytes, serialized on every call (from a
//! `serde_json::Value` for JSON, from the prost message for Connect's binary). Side by side,
//! in interleaved rounds, the servers on CPU 0 and the load on CPU 1, as `mock_vs_bare` does
//! for gRPC.
//!
//! Run it with `scripts/bench-mock.sh --http [SECONDS_PER_ROUND] [--pairs N]`. Rows: REST
//! GetVPC, REST GetVPC NOT_FOUND (the JSON error body), Connect GetVPC in JSON and in binary,
//! each at 1 and 64 connections over HTTP/1.1 and 64 streams over HTTP/2, all from h2load;
//! REST CreateVPC (a new name per call, so from this binary's own HTTP/1.1 client, each round
//! on fresh servers). Then the instructions each server executes per call under callgrind.
//! `--rows TEXT` measures only the rate rows whose label holds TEXT (`--rows "GetVPC HTTP/1.1
//! ×64"`), and then no instructions: for quick comparisons while working on one path.
//!
//! This binary is also the bare server: `http_vs_bare --serve-bare`.

mod support;

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
    serve::ListenerExt,
    Router,
};
use coreweave_api::networking::v1beta1::{GetVpcRequest, GetVpcResponse};
use prost::Message;
use serde_json::{json, Value};
use support::{
    arg, find_h2load, h2load_count, h2load_round, instructions_for, Contender, Length, Load, Row,
    Samples, Server, Settings, Target, MISSING_ID, TOKEN,
};

const VPCS: &str = "/v1beta1/networking/vpcs";
const GET_VPC: &str = "/coreweave.networking.v1beta1.VPCService/GetVPC";

/// What the bare server holds: each VPC's answers, as the mock sent them when seeded.
#[derive(Default)]
struct Bare {
    rest: RwLock<HashMap<String, Value>>,
    connect_json: RwLock<HashMap<String, Value>>,
    connect_proto: RwLock<HashMap<String, GetVpcResponse>>,
    not_found: RwLock<Value>,
}

type Shared = Arc<Bare>;

fn authorized(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn rest_get(
    State(bare): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let vpcs = bare.rest.read().unwrap_or_else(|e| e.into_inner());
    match vpcs.get(&id) {
        Some(answer) => json_response(StatusCode::OK, answer),
        None => json_response(
            StatusCode::NOT_FOUND,
            &bare.not_found.read().unwrap_or_else(|e| e.into_inner()),
        ),
    }
}

/// A create: the request's JSON read into a value, the fields the service adds put in, kept,
/// and written back.
async fn rest_create(State(bare): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(Value::Object(mut vpc)) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let now = prost_types::Timestamp::from(std::time::SystemTime::now()).to_string();
    let id = uuid::Uuid::new_v4().to_string();
    vpc.insert("id".into(), json!(id));
    vpc.insert("status".into(), json!("STATUS_READY"));
    vpc.insert("createdAt".into(), json!(now));
    vpc.insert("updatedAt".into(), json!(now));
    for key in ["ingress", "egress"] {
        vpc.entry(key).or_insert_with(|| json!({}));
    }
    let answer = json!({"vpc": vpc});
    let response = json_response(StatusCode::OK, &answer);
    bare.rest
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, answer);
    response
}

async fn connect_get(State(bare): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let binary = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value == "application/proto");
    if binary {
        let Ok(request) = GetVpcRequest::decode(body) else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        let answers = bare.connect_proto.read().unwrap_or_else(|e| e.into_inner());
        return match answers.get(&request.id) {
            Some(answer) => {
                let bytes = answer.encode_to_vec();
                ([(header::CONTENT_TYPE, "application/proto")], bytes).into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let id = request["id"].as_str().unwrap_or_default();
    let answers = bare.connect_json.read().unwrap_or_else(|e| e.into_inner());
    match answers.get(id) {
        Some(answer) => json_response(StatusCode::OK, answer),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `PUT /bare/{kind}/{id}`: what to answer for `id` (the mock's own answer, taken by the
/// benchmark), so that both servers send the same bytes.
async fn seed(
    State(bare): State<Shared>,
    Path((kind, id)): Path<(String, String)>,
    body: Bytes,
) -> StatusCode {
    let value = || serde_json::from_slice::<Value>(&body).unwrap_or_default();
    use std::sync::PoisonError;
    match kind.as_str() {
        "rest" => drop(
            bare.rest
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id, value()),
        ),
        "connect-json" => drop(
            bare.connect_json
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id, value()),
        ),
        "connect-proto" => {
            let Ok(answer) = GetVpcResponse::decode(body.clone()) else {
                return StatusCode::BAD_REQUEST;
            };
            bare.connect_proto
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id, answer);
        }
        "not-found" => {
            *bare
                .not_found
                .write()
                .unwrap_or_else(PoisonError::into_inner) = value()
        }
        _ => return StatusCode::NOT_FOUND,
    }
    StatusCode::NO_CONTENT
}

async fn serve_bare() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!(
        "{{\"event\":\"listening\",\"addr\":\"{}\"}}",
        listener.local_addr()?
    );
    let app = Router::new()
        .route(&format!("{VPCS}/{{id}}"), get(rest_get))
        .route(VPCS, post(rest_create))
        .route(GET_VPC, post(connect_get))
        .route("/bare/{kind}/{id}", put(seed))
        .with_state(Shared::default());
    // TCP_NODELAY, as the mock, tonic's server (the gRPC benchmark's bare server) and Go's
    // net/http (the real service) set it: without it, Nagle's algorithm coalesces the
    // back-to-back answers of HTTP/2 streams in the kernel, a saving no real server makes.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            eprintln!("bare server: cannot set TCP_NODELAY: {error}");
        }
    });
    axum::serve(listener, app).await?;
    Ok(())
}

/// A plain HTTP/1.1 client for the benchmark's own calls.
type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<Bytes>,
>;

fn http_client() -> HttpClient {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build_http()
}

/// One call: its status and body.
async fn call(
    client: &HttpClient,
    method: &str,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(u16, Bytes), Box<dyn std::error::Error>> {
    use http_body_util::BodyExt;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(url)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(http_body_util::Full::new(Bytes::from(body)))?;
    let response = client.request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

fn create_body(name: &str) -> Vec<u8> {
    json!({
        "name": name,
        "zone": "US-EAST-04A",
        "hostPrefixes": [{"name": "host primary", "type": "PRIMARY", "prefixes": ["10.32.0.0/18"]}],
        "vpcPrefixes": [{"name": "pods", "value": "172.16.0.0/16"}],
    })
    .to_string()
    .into_bytes()
}

/// Creates the known VPC on the mock and gives the bare server the mock's answers for it;
/// returns its id and the answers' sizes.
async fn seed_pair(
    client: &HttpClient,
    mock: &str,
    bare: &str,
) -> Result<(String, [usize; 3]), Box<dyn std::error::Error>> {
    let (status, created) = call(
        client,
        "POST",
        &format!("http://{mock}{VPCS}"),
        "application/json",
        create_body("known"),
    )
    .await?;
    if status != 200 {
        return Err(format!("the mock refused the create: {status}").into());
    }
    let id = serde_json::from_slice::<Value>(&created)?["vpc"]["id"]
        .as_str()
        .ok_or("no id")?
        .to_owned();
    let (_, rest) = call(
        client,
        "GET",
        &format!("http://{mock}{VPCS}/{id}"),
        "application/json",
        Vec::new(),
    )
    .await?;
    let (_, not_found) = call(
        client,
        "GET",
        &format!("http://{mock}{VPCS}/{MISSING_ID}"),
        "application/json",
        Vec::new(),
    )
    .await?;
    let json_request = json!({"id": id}).to_string().into_bytes();
    let (_, connect_json) = call(
        client,
        "POST",
        &format!("http://{mock}{GET_VPC}"),
        "application/json",
        json_request,
    )
    .await?;
    let proto_request = GetVpcRequest { id: id.clone() }.encode_to_vec();
    let (_, connect_proto) = call(
        client,
        "POST",
        &format!("http://{mock}{GET_VPC}"),
        "application/proto",
        proto_request,
    )
    .await?;
    for (kind, answer) in [
        ("rest", &rest),
        ("connect-json", &connect_json),
        ("connect-proto", &connect_proto),
        ("not-found", &not_found),
    ] {
        let (status, _) = call(
            client,
            "PUT",
            &format!("http://{bare}/bare/{kind}/{id}"),
            "application/octet-stream",
            answer.to_vec(),
        )
        .await?;
        if status != 204 {
            return Err(format!("the bare server refused the {kind} seed: {status}").into());
        }
    }
    // Both must now answer alike.
    let (_, bare_rest) = call(
        client,
        "GET",
        &format!("http://{bare}{VPCS}/{id}"),
        "application/json",
        Vec::new(),
    )
    .await?;
    if bare_rest != rest {
        return Err("the bare server's GetVPC answer differs from the mock's".into());
    }
    Ok((id, [rest.len(), connect_json.len(), connect_proto.len()]))
}

/// The calls h2load repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    RestGet,
    RestNotFound,
    ConnectJson,
    ConnectProto,
}

impl Op {
    const ALL: [Op; 4] = [
        Self::RestGet,
        Self::RestNotFound,
        Self::ConnectJson,
        Self::ConnectProto,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::RestGet => "REST GetVPC",
            Self::RestNotFound => "REST GetVPC NOT_FOUND",
            Self::ConnectJson => "Connect GetVPC JSON",
            Self::ConnectProto => "Connect GetVPC binary",
        }
    }

    fn target(self, addr: &str, id: &str) -> Target {
        let auth = format!("authorization: Bearer {TOKEN}");
        let connect = |content_type: &str, body: Vec<u8>| Target {
            url: format!("http://{addr}{GET_VPC}"),
            headers: vec![auth.clone(), format!("content-type: {content_type}")],
            body: Some(body),
            status_class: 2,
        };
        match self {
            Self::RestGet | Self::RestNotFound => Target {
                url: match self {
                    Self::RestGet => format!("http://{addr}{VPCS}/{id}"),
                    _ => format!("http://{addr}{VPCS}/{MISSING_ID}"),
                },
                headers: vec![auth.clone()],
                body: None,
                status_class: if self == Self::RestGet { 2 } else { 4 },
            },
            Self::ConnectJson => connect(
                "application/json",
                json!({"id": id}).to_string().into_bytes(),
            ),
            Self::ConnectProto => connect(
                "application/proto",
                GetVpcRequest { id: id.into() }.encode_to_vec(),
            ),
        }
    }
}

const LOADS: [Load; 3] = [
    Load::Http1 { connections: 1 },
    Load::Http1 { connections: 64 },
    Load::Http2 {
        connections: 1,
        streams: 64,
    },
];

/// CreateVPC from `concurrency` tasks over HTTP/1.1 (a connection each), a new name per call.
async fn create_round(addr: &str, concurrency: usize, length: Length, round: usize) -> Samples {
    let client = http_client();
    let url: std::sync::Arc<str> = format!("http://{addr}{VPCS}").into();
    Samples::of_tasks(concurrency, length, move |task, n| {
        let (client, url) = (client.clone(), std::sync::Arc::clone(&url));
        async move {
            let body = create_body(&format!("r{round}-t{task}-{n}"));
            matches!(
                call(&client, "POST", &url, "application/json", body).await,
                Ok((200, _))
            )
        }
    })
    .await
}

/// Gives a fresh server 256 VPCs, as the gRPC benchmark warms its create rounds.
async fn warm(addr: &str) {
    let client = http_client();
    let url = format!("http://{addr}{VPCS}");
    for i in 0..256 {
        let _ = call(
            &client,
            "POST",
            &url,
            "application/json",
            create_body(&format!("warm-{i}")),
        )
        .await;
    }
}

/// Waits until `server` answers HTTP.
async fn ready(server: &Server) {
    let client = http_client();
    let url = format!(
        "http://{}/v1beta1/networking/vpcs/{MISSING_ID}",
        server.addr
    );
    while call(&client, "GET", &url, "application/json", Vec::new())
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn started(contender: Contender<'_>) -> Server {
    let server = contender.spawn();
    ready(&server).await;
    server
}

/// The instructions per call of each row, each server under callgrind.
async fn count_instructions(
    h2load: &str,
    contenders: [Contender<'_>; 2],
    calls: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let load = Load::Http1 { connections: 64 };
    let mut counts = [[0.0; 5]; 2];
    let callgrind = |name: &str| {
        std::env::temp_dir().join(format!(
            "http_vs_bare-{}-{name}.callgrind",
            std::process::id()
        ))
    };
    let (mock_out, bare_out) = (callgrind("mock"), callgrind("bare"));
    let mock = contenders[0].under_callgrind(&mock_out);
    let bare = contenders[1].under_callgrind(&bare_out);
    ready(&mock).await;
    ready(&bare).await;
    let (id, _) = seed_pair(&http_client(), &mock.addr, &bare.addr).await?;
    for (i, (server, out)) in [(&mock, &mock_out), (&bare, &bare_out)]
        .into_iter()
        .enumerate()
    {
        for (k, op) in Op::ALL.into_iter().enumerate() {
            let target = op.target(&server.addr, &id);
            h2load_count(h2load, &target, load, (calls / 4).max(64));
            let mut answered = 0;
            let total = instructions_for(server, out, k + 1, async {
                answered = h2load_count(h2load, &target, load, calls);
            })
            .await?;
            if answered as u64 != calls {
                return Err(format!(
                    "{}: {answered} of {calls} {} calls answered as expected",
                    server.name,
                    op.label()
                )
                .into());
            }
            counts[i][k] = total as f64 / calls as f64;
        }
        let per_task = (calls / 64).max(1);
        create_round(&server.addr, 64, Length::Calls(per_task / 4 + 1), 0).await;
        let mut answered = 0;
        let total = instructions_for(server, out, Op::ALL.len() + 1, async {
            answered = create_round(&server.addr, 64, Length::Calls(per_task), 1)
                .await
                .requests;
        })
        .await?;
        counts[i][4] = total as f64 / answered.max(1) as f64;
    }
    drop((mock, bare));
    let _ = std::fs::remove_file(&mock_out);
    let _ = std::fs::remove_file(&bare_out);
    println!();
    println!("| instructions per call, HTTP/1.1 ×64 (callgrind, server side) | bare axum | our mock | bare / mock |");
    println!("|---|---|---|---|");
    let labels = Op::ALL.map(Op::label);
    for (k, label) in labels.into_iter().chain(["REST CreateVPC"]).enumerate() {
        let [mock, bare] = [counts[0][k], counts[1][k]];
        println!(
            "| {label} | {bare:.0} | {mock:.0} | **{:.1}%** |",
            100.0 * bare / mock
        );
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--serve-bare") {
        return serve_bare().await;
    }
    let h2load = find_h2load().ok_or("h2load is needed: run scripts/install-tools.sh")?;
    let settings = Settings::from_args()?;
    let (length, pairs, calls) = (settings.length, settings.pairs, settings.calls);
    let contenders = settings.contenders();
    if std::env::args().any(|a| a == "--instructions") {
        return count_instructions(&h2load, contenders, calls).await;
    }

    let rows = arg("--rows");
    let wanted = |label: &str| rows.as_deref().is_none_or(|text| label.contains(text));
    let mock = started(contenders[0]).await;
    let bare = started(contenders[1]).await;
    let (id, sizes) = seed_pair(&http_client(), &mock.addr, &bare.addr).await?;
    println!(
        "answers, both servers: REST GetVPC {} bytes, Connect JSON {} bytes, Connect binary {} bytes\n",
        sizes[0], sizes[1], sizes[2]
    );
    println!("| | bare axum | our mock | mock / bare | pairs: median (range) | load |");
    println!("|---|---|---|---|---|---|");
    let servers = [&mock, &bare];
    for op in Op::ALL {
        for load in LOADS {
            let label = format!("{} {}", op.label(), load.label());
            if !wanted(&label) {
                continue;
            }
            let mut row = Row::default();
            for pair in 0..pairs {
                let order = if pair % 2 == 0 { [0, 1] } else { [1, 0] };
                let mut rates = [0.0; 2];
                for i in order {
                    let samples =
                        h2load_round(&h2load, &op.target(&servers[i].addr, &id), load, length);
                    rates[i] = samples.rate();
                    row.pooled[i].add(samples);
                }
                row.pair_ratios.push(rates[0] / rates[1].max(1e-9));
            }
            row.print(&label, "h2load");
        }
    }
    drop((mock, bare));
    for concurrency in [1, 64] {
        let label = format!("REST CreateVPC HTTP/1.1 ×{concurrency}");
        if !wanted(&label) {
            continue;
        }
        let mut row = Row::default();
        for pair in 0..pairs {
            let order = if pair % 2 == 0 { [0, 1] } else { [1, 0] };
            let mut rates = [0.0; 2];
            for i in order {
                // Every create round starts on a fresh server, warmed alike.
                let fresh = started(contenders[i]).await;
                warm(&fresh.addr).await;
                let samples = create_round(&fresh.addr, concurrency, length.into(), pair).await;
                rates[i] = samples.rate();
                row.pooled[i].add(samples);
            }
            row.pair_ratios.push(rates[0] / rates[1].max(1e-9));
        }
        row.print(&label, "Rust client (hyper)");
    }
    if rows.is_some() {
        return Ok(());
    }
    let valgrind = std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok();
    if !valgrind {
        println!("\n(valgrind is not installed here, so no instruction counts)");
        return Ok(());
    }
    count_instructions(&h2load, contenders, calls).await
}
