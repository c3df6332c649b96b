//! The `coreweave-mock` binary's command line: flags, environment variables, the listening
//! line, and a clean exit on SIGTERM.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use coreweave_api::{
    inference::v1alpha1::{
        gateway_service_client::GatewayServiceClient, GetGatewayParametersRequest,
    },
    networking::v1beta1::{vpc_service_client::VpcServiceClient, CreateVpcRequest},
};
use coreweave_test_support::answered;
use tonic::{metadata::MetadataValue, Code, Request};

/// The zones a running mock offers, through `GetGatewayParameters`.
async fn offered_zones(addr: &str, token: &str) -> Vec<String> {
    let mut gateways = GatewayServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let request = authorized(GetGatewayParametersRequest {}, token);
    let response = gateways.get_gateway_parameters(request).await.unwrap();
    response.into_inner().zones
}

fn spawn(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_coreweave-mock"))
        .args(args)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let event: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert_eq!(event["event"], "listening");
    let addr = event["addr"].as_str().unwrap().to_owned();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );
    (child, addr)
}

fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit after SIGTERM: {exit:?}");
}

fn authorized<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

#[tokio::test]
async fn sigterm_exits_even_with_an_idle_client_connected() {
    let (child, addr) = spawn(&["--listen", "127.0.0.1:0"], &[]);
    // A connected client that never reads the server's GOAWAY must not keep it alive: the
    // blocking wait below stops this runtime from serving the client's connection.
    let _idle = GatewayServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    terminate(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_configure_zones_tokens_and_delay() {
    let (child, addr) = spawn(
        &[
            "--listen",
            "127.0.0.1:0",
            "--zone",
            "us-test-01a=10.200.0.0/18",
            "--zone",
            "US-TEST-02B",
            "--token",
            "CW-SECRET-cli",
            "--transition-delay",
            "250ms",
            "--log-format",
            "json",
        ],
        &[],
    );
    let endpoint = format!("http://{addr}");
    let zones = offered_zones(&addr, "CW-SECRET-cli").await;
    assert_eq!(zones, ["US-TEST-01A", "US-TEST-02B"]);

    let mut vpcs = VpcServiceClient::connect(endpoint).await.unwrap();
    let request = CreateVpcRequest {
        name: "cli".into(),
        zone: "us-test-01a".into(),
        ..Default::default()
    };
    let vpc = answered(
        vpcs.create_vpc(authorized(request.clone(), "CW-SECRET-cli"))
            .await,
    );
    assert_eq!(vpc.host_prefixes[0].prefixes, ["10.200.0.0/18"]);
    let status = vpcs
        .create_vpc(authorized(request, "CW-SECRET-other"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    drop(vpcs);
    terminate(child);
}

/// Runs a successful CreateVPC and one with an unknown zone against a mock logging JSON at
/// `level`, and returns the lines it wrote about calls.
async fn call_lines(level: &str) -> Vec<serde_json::Value> {
    let args = ["--listen", "127.0.0.1:0", "--log-format", "json"];
    let (mut child, addr) = spawn(&args, &[("RUST_LOG", level)]);
    let mut vpcs = VpcServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    for zone in ["US-EAST-04A", "XX-NOWHERE-01A"] {
        let request = CreateVpcRequest {
            name: zone.to_lowercase(),
            zone: zone.into(),
            ..Default::default()
        };
        let _ = vpcs.create_vpc(authorized(request, "CW-SECRET-logs")).await;
    }
    drop(vpcs);
    let stderr = child.stderr.take().unwrap();
    terminate(child);
    BufReader::new(stderr)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(&line.unwrap()).unwrap())
        .filter(|line| line["span"]["name"] == "rpc")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_lines_carry_the_rpc_span_at_info_and_debug() {
    // At info, only the refused call writes a line, and its span has every field.
    let lines = call_lines("info").await;
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let span = &lines[0]["span"];
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["fields"]["message"], "call answered");
    assert_eq!(span["method"], "CreateVPC");
    assert_eq!(span["code"], "InvalidArgument");
    assert_eq!(span["org"].as_str().map(str::len), Some(36), "{span}");
    assert!(
        span["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{span}"
    );

    // At debug, the successful call writes its line too, in the same span.
    let lines = call_lines("debug").await;
    let messages: Vec<_> = lines.iter().map(|l| &l["fields"]["message"]).collect();
    assert_eq!(messages, ["call finished", "call answered"], "{lines:#?}");
    assert_eq!(lines[0]["span"]["code"], "Ok");
    assert_eq!(lines[0]["span"]["method"], "CreateVPC");
    assert_eq!(lines[0]["span"]["org"], lines[1]["span"]["org"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_variables_work_like_flags() {
    let (child, addr) = spawn(
        &[],
        &[
            ("COREWEAVE_MOCK_LISTEN", "127.0.0.1:0"),
            ("COREWEAVE_MOCK_ZONES", "EU-ONE-01A,EU-TWO-01A"),
            ("COREWEAVE_MOCK_TRANSITION_DELAY", "0s"),
        ],
    );
    let zones = offered_zones(&addr, "any").await;
    assert_eq!(zones, ["EU-ONE-01A", "EU-TWO-01A"]);
    terminate(child);
}

#[test]
fn bad_flags_are_rejected_with_a_clear_message() {
    for (args, expected) in [
        (vec!["--transition-delay", "soon"], "--transition-delay"),
        (vec!["--zone", "bad zone!"], "invalid zone"),
        (vec!["--listen", "nowhere"], "--listen"),
        (vec!["--http1-idle-timeout", "soon"], "--http1-idle-timeout"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_coreweave-mock"))
            .args(&args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_coreweave-mock"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--zone",
        "--token",
        "--transition-delay",
        "--log-format",
        "COREWEAVE_MOCK_LISTEN",
        "COREWEAVE_MOCK_ADMIN_TOKEN",
        "COREWEAVE_MOCK_ALLOWED_HOSTS",
        "COREWEAVE_MOCK_CORS_ORIGINS",
        "COREWEAVE_MOCK_HTTP1_IDLE_TIMEOUT",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let (child, addr) = spawn(&["--listen", "127.0.0.1:0"], &[]);
    let output = Command::new(env!("CARGO_BIN_EXE_coreweave-mock"))
        .args(["--listen", &addr])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("cannot listen on {addr}")));
    std::thread::sleep(Duration::from_millis(10));
    terminate(child);
}
