//! A soak test of a running mock: `scripts/soak.sh [SECONDS]` starts the release binary and
//! runs this against it (it is not part of CI's default run).
//!
//! 64 clients, half over gRPC and half over REST, each in its own organization, mix every RPC
//! until the time is up, while hostile clients of another organization send malformed,
//! oversized and deeply nested bodies over REST, Connect and gRPC. At the end it checks the
//! invariants (every acknowledged create is listed and every acknowledged delete is gone,
//! names are unique, the last acknowledged update is what reads back) and that nothing was
//! answered with INTERNAL or a 5xx. It exits non-zero if any check fails.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use coreweave_api::{Client, Error, ErrorKind, RetryPolicy, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENTS: usize = 64;
const HOSTILE_CLIENTS: usize = 2;
/// Live VPCs a client keeps before it deletes some, well under the quota.
const MAX_LIVE: usize = 20;

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    internal: AtomicU64,
    other_errors: AtomicU64,
    hostile: AtomicU64,
    hostile_server_errors: AtomicU64,
}

struct Args {
    endpoint: String,
    seconds: u64,
}

fn args() -> Args {
    let mut args = Args {
        endpoint: "http://127.0.0.1:50051".into(),
        seconds: 60,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--endpoint" => args.endpoint = iter.next().unwrap_or(args.endpoint),
            "--seconds" => {
                args.seconds = iter
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(args.seconds)
            }
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = args();
    let counters = Arc::new(Counters::default());
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    println!(
        "soak: {CLIENTS} clients and {HOSTILE_CLIENTS} hostile ones against {} for {} s",
        args.endpoint, args.seconds
    );

    let mut tasks = Vec::new();
    for index in 0..CLIENTS {
        let transport = if index % 2 == 0 {
            Transport::Grpc
        } else {
            Transport::Rest
        };
        let client = Client::builder()
            .endpoint(&args.endpoint)
            .token(format!("CW-SECRET-soak-{index}"))
            .transport(transport)
            .retry_policy(RetryPolicy::no_retries())
            .build()
            .expect("client builds");
        tasks.push(tokio::spawn(honest(
            client,
            index,
            deadline,
            Arc::clone(&counters),
        )));
    }
    let addr = args.endpoint.trim_start_matches("http://").to_owned();
    let hostile: Vec<_> = (0..HOSTILE_CLIENTS)
        .map(|_| tokio::spawn(hostile(addr.clone(), deadline, Arc::clone(&counters))))
        .collect();

    let mut violations = Vec::new();
    for task in tasks {
        match task.await {
            Ok(found) => violations.extend(found),
            Err(e) => violations.push(format!("a client panicked: {e}")),
        }
    }
    for task in hostile {
        let _ = task.await;
    }

    let calls = counters.calls.load(Ordering::Relaxed);
    let internal = counters.internal.load(Ordering::Relaxed);
    let hostile_server_errors = counters.hostile_server_errors.load(Ordering::Relaxed);
    println!(
        "calls: {calls} ({:.0}/s); other errors: {}; INTERNAL: {internal}",
        calls as f64 / args.seconds.max(1) as f64,
        counters.other_errors.load(Ordering::Relaxed)
    );
    println!(
        "hostile requests: {}; answered with INTERNAL or 5xx: {hostile_server_errors}",
        counters.hostile.load(Ordering::Relaxed)
    );
    println!("invariant violations: {}", violations.len());
    for violation in violations.iter().take(20) {
        println!("  {violation}");
    }
    if internal == 0 && hostile_server_errors == 0 && violations.is_empty() {
        println!("soak: passed");
        std::process::ExitCode::SUCCESS
    } else {
        println!("soak: FAILED");
        std::process::ExitCode::FAILURE
    }
}

fn record<T>(counters: &Counters, result: &Result<T, Error>) {
    counters.calls.fetch_add(1, Ordering::Relaxed);
    match result {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::Internal => {
            counters.internal.fetch_add(1, Ordering::Relaxed);
            eprintln!("INTERNAL: {e}");
        }
        Err(_) => {
            counters.other_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One well-behaved client in its own organization; returns the invariants it saw broken.
async fn honest(
    client: Client,
    index: usize,
    deadline: Instant,
    counters: Arc<Counters>,
) -> Vec<String> {
    let vpcs = client.vpcs();
    let gateways = client.gateways();
    // Acknowledged state: live VPC ids with the last acknowledged ingress setting.
    let mut live: HashMap<String, bool> = HashMap::new();
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let created = vpcs
            .create(format!("v-{index}-{n}"))
            .zone("US-EAST-04A")
            .vpc_prefix("w", "172.16.0.0/16")
            .send()
            .await;
        record(&counters, &created);
        if let Ok(vpc) = created {
            live.insert(vpc.id.clone(), false);
            let got = vpcs.get(&vpc.id).await;
            record(&counters, &got);
            let disable = n.is_multiple_of(2);
            let updated = vpcs
                .update(&vpc.id)
                .disable_public_services(disable)
                .send()
                .await;
            record(&counters, &updated);
            if updated.is_ok() {
                live.insert(vpc.id, disable);
            }
        }
        if live.len() > MAX_LIVE {
            let victim = live.keys().next().cloned().unwrap_or_default();
            let deleted = vpcs.delete(&victim).await;
            record(&counters, &deleted);
            if deleted.is_ok() {
                live.remove(&victim);
            }
        }
        if n.is_multiple_of(10) {
            let listed = vpcs.list().await;
            record(&counters, &listed);
            let gateway = gateways
                .create(format!("g-{index}-{n}"))
                .core_weave_auth()
                .path_based_routing()
                .send()
                .await;
            record(&counters, &gateway);
            if let Some(spec) = gateway.ok().and_then(|g| g.spec) {
                let parameters = gateways.parameters().await;
                record(&counters, &parameters);
                let deleted = gateways.delete(&spec.id).await;
                record(&counters, &deleted);
            }
        }
    }
    check(&client, index, &live).await
}

/// Compares what the server lists with what was acknowledged.
async fn check(client: &Client, index: usize, live: &HashMap<String, bool>) -> Vec<String> {
    let mut violations = Vec::new();
    let listed = match client.vpcs().list().await {
        Ok(listed) => listed,
        Err(e) => return vec![format!("client {index}: the final list failed: {e}")],
    };
    let listed_ids: HashSet<&str> = listed.iter().map(|v| v.id.as_str()).collect();
    let acknowledged: HashSet<&str> = live.keys().map(String::as_str).collect();
    if listed_ids != acknowledged {
        violations.push(format!(
            "client {index}: {} listed, {} acknowledged",
            listed_ids.len(),
            acknowledged.len()
        ));
    }
    let names: HashSet<&str> = listed.iter().map(|v| v.name.as_str()).collect();
    if names.len() != listed.len() {
        violations.push(format!("client {index}: duplicate names"));
    }
    for vpc in &listed {
        let expected = live.get(&vpc.id).copied();
        let actual = vpc.ingress.as_ref().map(|i| i.disable_public_services);
        if expected.is_some() && expected != actual {
            violations.push(format!("client {index}: lost update on {}", vpc.id));
        }
    }
    violations
}

/// One hostile request: method, path, headers besides the defaults, body.
type Abuse = (&'static str, String, Vec<String>, Vec<u8>);

/// Hostile requests, over and over, from an organization of their own: malformed and
/// oversized bodies, and abuse of the control plane (huge clock advances, fault floods,
/// hostile snapshots, long tokens and ids, calls from another origin or addressed to another
/// host). None may be answered with a 5xx, and none may disturb the honest clients.
async fn hostile(addr: String, deadline: Instant, counters: Arc<Counters>) {
    let million_empty = format!("{{\"vpcPrefixes\":[{}{{}}]}}", "{},".repeat(999_999));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let json = |text: &str| text.as_bytes().to_vec();
    let none = Vec::new;
    let long_token = vec![format!("authorization: Bearer {}", "t".repeat(300_000))];
    let long_id = format!("/v1beta1/networking/vpcs/{}", "x".repeat(8_000));
    let snapshot = json(
        r#"{"version": 1, "organizations": {"6f2c51d4-93a1-4b1e-8d57-2a0ec3f19b44": {"vpcs": [{"vpc": {"id": "x", "name": "Bad_Name"}}]}}}"#,
    );
    let rebinding = vec![
        "host: evil.example".to_owned(),
        "origin: http://evil.example".to_owned(),
    ];
    let abuse: Vec<Abuse> = vec![
        (
            "POST",
            "/v1beta1/networking/vpcs".to_owned(),
            none(),
            json("{\"name\": "),
        ),
        (
            "POST",
            "/v1beta1/networking/vpcs".to_owned(),
            none(),
            million_empty.into_bytes(),
        ),
        (
            "POST",
            "/v1beta1/networking/vpcs".to_owned(),
            none(),
            deep.into_bytes(),
        ),
        (
            "POST",
            "/v1beta1/networking/vpcs".to_owned(),
            none(),
            vec![0xff; 5 * 1024 * 1024],
        ),
        (
            "PATCH",
            "/v1beta1/networking/vpcs/x".to_owned(),
            none(),
            json("{\"updateMask\": 5}"),
        ),
        (
            "POST",
            "/coreweave.networking.v1beta1.VPCService/CreateVPC".to_owned(),
            none(),
            json("{\"hostPrefixes\": [{\"type\": \"NOPE\"}]}"),
        ),
        (
            "POST",
            "/coreweave.inference.v1alpha1.GatewayService/CreateGateway".to_owned(),
            none(),
            b"\x00\x01\x02".to_vec(),
        ),
        (
            "POST",
            "/_mock/v1/clock/advance".to_owned(),
            none(),
            json(r#"{"by": "500000000000years"}"#),
        ),
        (
            "POST",
            "/_mock/v1/clock/advance".to_owned(),
            none(),
            json(r#"{"by": "9000years"}"#),
        ),
        (
            "POST",
            "/_mock/v1/faults".to_owned(),
            none(),
            json(r#"{"method": "*", "kind": "delay", "delay": "1ms"}"#),
        ),
        (
            "POST",
            "/_mock/v1/faults".to_owned(),
            none(),
            json(r#"{"method": "*", "kind": "delay", "delay": "1000000years"}"#),
        ),
        ("PUT", "/_mock/v1/state".to_owned(), none(), snapshot),
        (
            "GET",
            "/_mock/v1/calls?limit=10000".to_owned(),
            none(),
            Vec::new(),
        ),
        (
            "GET",
            "/v1beta1/networking/vpcs".to_owned(),
            long_token,
            Vec::new(),
        ),
        ("GET", long_id, none(), Vec::new()),
        (
            "POST",
            "/_mock/v1/reset".to_owned(),
            rebinding.clone(),
            Vec::new(),
        ),
        ("GET", "/_mock/v1/state".to_owned(), rebinding, Vec::new()),
        (
            "POST",
            "/_mock/v1/reset".to_owned(),
            vec!["authorization:".to_owned()],
            Vec::new(),
        ),
    ];
    let mut round = 0usize;
    while Instant::now() < deadline {
        let (method, path, headers, body) = &abuse[round % abuse.len()];
        round += 1;
        counters.hostile.fetch_add(1, Ordering::Relaxed);
        match http(&addr, method, path, headers, body).await {
            Some(code) if code >= 500 => {
                counters
                    .hostile_server_errors
                    .fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "hostile {method} {}: HTTP {code}",
                    &path[..path.len().min(80)]
                );
            }
            _ => {}
        }
    }
}

/// One HTTP/1.1 request on a fresh connection, as the hostile organization unless `headers`
/// say otherwise (a later `host` or `authorization` wins); the response's status code, if
/// any.
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[String],
    body: &[u8],
) -> Option<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let replaced = |name: &str| {
        headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with(name))
    };
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !replaced("host:") {
        head.push_str("host: 127.0.0.1\r\n");
    }
    if !replaced("authorization:") {
        head.push_str("authorization: Bearer CW-SECRET-hostile\r\n");
    }
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).await.ok()?;
    // The server may answer (429) before reading a body over the limit, and close.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let line = String::from_utf8_lossy(&response[..response.len().min(16)]).into_owned();
    line.split(' ').nth(1)?.parse().ok()
}
