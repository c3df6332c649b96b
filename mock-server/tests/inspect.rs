//! Seeing and asserting what a program did, against the binary: request bodies in the
//! journal (alike whatever the protocol, W&B keys redacted), warnings in `x-mock-warning`
//! and the journal, `POST /_mock/v1/verify` and gRPC `Verify` with their near misses, the
//! live stream of calls, and the control API's description of itself.

mod common;

use std::io::{Read, Write};

use common::{
    bodies::{gateway_body, parse},
    process::{run, run_ok, tool, MockProcess},
    wire::{body_file, control, curl, envelope, envelopes},
};
use coreweave_api::inference::v1alpha1::CreateGatewayRequest;
use prost::Message;
use serde_json::{json, Value};

const TOKEN: &str = "CW-SECRET-inspect";
const SECRET: &str = "wandb-key-never-shown";
const GATEWAY_SERVICE: &str = "coreweave.inference.v1alpha1.GatewayService";

/// A gateway create with a W&B API key, named `name`.
fn wandb_gateway(name: &str) -> Value {
    gateway_body(json!({
        "name": name,
        "coreWeaveAuth": null,
        "weightsAndBiasesAuth": {"apiKey": SECRET, "serverUrl": "https://api.wandb.ai"},
    }))
}

/// Creates one gateway over each protocol: REST, Connect (JSON), gRPC-Web (binary) and gRPC
/// (grpcurl); returns the protocols' names in that order.
fn create_gateway_over_every_protocol(mock: &MockProcess) -> [&'static str; 4] {
    let auth = format!("authorization: Bearer {TOKEN}");
    let rest_url = format!("http://{}/v1alpha1/inference/gateways", mock.addr);
    let body = wandb_gateway("over-rest").to_string();
    let (status, _, _) = send_json("POST", &rest_url, &body);
    assert_eq!(status, 200);

    let connect_url = format!("http://{}/{GATEWAY_SERVICE}/CreateGateway", mock.addr);
    let body = wandb_gateway("over-connect").to_string();
    let (status, _, _) = send_json("POST", &connect_url, &body);
    assert_eq!(status, 200);

    let message = parse::<CreateGatewayRequest>(wandb_gateway("over-grpc-web")).encode_to_vec();
    let data = body_file("inspect-grpc-web", &envelope(0, &message));
    let (status, _, answer) = curl(&[
        "-H",
        &auth,
        "-H",
        "content-type: application/grpc-web+proto",
        "--data-binary",
        &data,
        &connect_url,
    ]);
    assert_eq!(status, 200);
    let trailer = envelopes(&answer).pop().unwrap().1;
    assert!(String::from_utf8_lossy(&trailer).contains("grpc-status:0"));

    let body = wandb_gateway("over-grpc").to_string();
    let method = format!("{GATEWAY_SERVICE}/CreateGateway");
    run_ok(
        &tool("grpcurl"),
        &["-plaintext", "-H", &auth, "-d", &body, &mock.addr, &method],
    );
    ["rest", "connect", "grpc-web", "grpc"]
}

/// Sends the JSON `body` to `url` with `method`, in TOKEN's organization: the status, the
/// headers (lowercased) and the answer.
fn send_json(method: &str, url: &str, body: &str) -> (u16, String, Vec<u8>) {
    let auth = format!("authorization: Bearer {TOKEN}");
    let data = body_file("inspect", body.as_bytes());
    let json = "content-type: application/json";
    curl(&[
        "-X",
        method,
        "-H",
        &auth,
        "-H",
        json,
        "--data-binary",
        &data,
        url,
    ])
}

fn calls(mock: &MockProcess, query: &str) -> Vec<Value> {
    let (status, page) = control(
        mock,
        "GET",
        &format!("/_mock/v1/calls{query}"),
        Some(TOKEN),
        None,
    );
    assert_eq!(status, 200, "{page}");
    page["calls"].as_array().unwrap().clone()
}

fn verify(mock: &MockProcess, expectation: Value) -> (u16, Value) {
    control(
        mock,
        "POST",
        "/_mock/v1/verify",
        Some(TOKEN),
        Some(expectation),
    )
}

#[test]
fn the_journal_keeps_every_protocols_request_alike_with_secrets_redacted() {
    let mock = MockProcess::start(&[]);
    let protocols = create_gateway_over_every_protocol(&mock);
    let creates = calls(&mock, "?method=CreateGateway");
    let seen: Vec<&str> = creates
        .iter()
        .map(|c| c["protocol"].as_str().unwrap())
        .collect();
    assert_eq!(seen, protocols);
    for (call, protocol) in creates.iter().zip(protocols) {
        let mut expected = wandb_gateway(&format!("over-{protocol}"));
        expected["weightsAndBiasesAuth"]["apiKey"] = json!("<redacted>");
        assert_eq!(
            call["request"], expected,
            "{protocol}: the same canonical JSON"
        );
        assert_eq!(call["requestTruncated"], false);
        assert_eq!(call["code"], "OK");
    }
    let (_, page) = control(&mock, "GET", "/_mock/v1/calls", Some(TOKEN), None);
    assert!(!page.to_string().contains(SECRET), "{page}");

    // A refused call keeps its message and violations.
    let bad = gateway_body(json!({"zones": ["MARS-01A"]})).to_string();
    let url = format!("http://{}/v1alpha1/inference/gateways", mock.addr);
    let (status, _, _) = send_json("POST", &url, &bad);
    assert_eq!(status, 400);
    let refused = calls(&mock, "?code=INVALID_ARGUMENT");
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0]["message"].as_str().unwrap().contains("MARS-01A"),
        "{}",
        refused[0]
    );
    let fields: Vec<&str> = refused[0]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert!(fields.iter().any(|f| f.starts_with("zones")), "{fields:?}");
}

#[test]
fn a_large_request_is_cut_to_16_kib_and_says_so() {
    let mock = MockProcess::start(&[]);
    let url = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    let name = "n".repeat(40_000);
    let servers = ["10.0.0.53", "10.0.0.54"];
    let body = json!({"name": name, "zone": "US-EAST-04A", "dhcp": {"dns": {"servers": servers}}});
    let (status, _, _) = send_json("POST", &url, &body.to_string());
    assert_eq!(status, 400, "a name too long: refused, but journaled");
    let call = &calls(&mock, "?method=CreateVPC")[0];
    assert_eq!(call["requestTruncated"], true);
    assert!(call["request"].to_string().len() <= 16 * 1024);
    let kept = call["request"]["name"].as_str().unwrap();
    assert!(kept.starts_with("nnnn") && kept.ends_with('…'), "{kept}");
    assert_eq!(call["request"]["dhcp"]["dns"]["servers"], json!(servers));
}

#[test]
fn verify_holds_or_names_the_near_misses_for_every_protocols_calls() {
    let mock = MockProcess::start(&[]);
    create_gateway_over_every_protocol(&mock);
    let wandb = json!({"weightsAndBiasesAuth": {"serverUrl": "https://api.wandb.ai"}});

    let holds = |expectation: Value, matched: u64| {
        let (status, answer) = verify(&mock, expectation.clone());
        assert_eq!(
            (status, &answer),
            (200, &json!({"ok": true, "matched": matched})),
            "{expectation}"
        );
    };
    holds(
        json!({"method": "CreateGateway", "request": wandb, "count": 4}),
        4,
    );
    holds(json!({"method": "CreateGateway", "code": "OK"}), 4);
    holds(
        json!({"method": "CreateGateway", "request": {"name": "over-grpc-web"}, "count": 1}),
        1,
    );
    holds(
        json!({"method": "CreateGateway", "request": {"zones": []}, "count": {"atLeast": 4}}),
        4,
    );
    holds(json!({"method": "DeleteGateway", "count": 0}), 0);
    holds(
        json!({"method": "CreateGateway", "count": {"atMost": 4}}),
        4,
    );

    // Too many: 417, with the message saying how many matched.
    let (status, failed) = verify(
        &mock,
        json!({"method": "CreateGateway", "count": {"atMost": 3}}),
    );
    assert_eq!(status, 417, "{failed}");
    assert_eq!(
        (failed["ok"].clone(), failed["matched"].clone()),
        (json!(false), json!(4))
    );
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .starts_with("expected at most 3 CreateGateway calls"),
        "{failed}"
    );

    // A name no call had, and a code none ended with: the near misses say where they differ.
    let expectation = json!({
        "method": "CreateGateway",
        "request": {"name": "over-soap", "weights_and_biases_auth": {"serverUrl": "https://api.wandb.ai"}},
        "code": "INVALID_ARGUMENT",
    });
    let (status, failed) = verify(&mock, expectation.clone());
    assert_eq!(status, 417, "{failed}");
    assert_eq!(failed["matched"], 0);
    assert_eq!(failed["expected"]["request"], expectation["request"]);
    let misses = failed["nearMisses"].as_array().unwrap();
    assert_eq!(misses.len(), 3, "at most three");
    for miss in misses {
        let paths: Vec<&str> = miss["differences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["name", "code"], "{miss}");
        assert_eq!(miss["differences"][0]["expected"], "over-soap");
        assert_eq!(
            miss["call"]["request"]["weightsAndBiasesAuth"]["apiKey"],
            "<redacted>"
        );
    }
    let message = failed["message"].as_str().unwrap();
    assert!(!message.contains('\n'));
    assert!(
        message.contains("differs at name: expected \"over-soap\", got \"over-"),
        "{message}"
    );
    assert!(!failed.to_string().contains(SECRET));

    // Bad expectations are 400s that say what is wrong.
    let (status, bad) = verify(&mock, json!({"method": "CreateGatewy"}));
    assert_eq!(status, 400);
    assert!(
        bad["message"].as_str().unwrap().starts_with("method: "),
        "{bad}"
    );
    let (status, bad) = verify(
        &mock,
        json!({"method": "CreateGateway", "count": {"exactly": 2}}),
    );
    assert_eq!(status, 400);
    assert!(
        bad["message"].as_str().unwrap().starts_with("count: "),
        "{bad}"
    );
    let (status, bad) = verify(&mock, json!({"method": "CreateGateway", "request": "name"}));
    assert_eq!(status, 400);
    assert!(
        bad["message"].as_str().unwrap().starts_with("request: "),
        "{bad}"
    );

    // Another organization's calls are not in scope.
    let (status, other) = control(
        &mock,
        "POST",
        "/_mock/v1/verify",
        Some("CW-SECRET-someone-else"),
        Some(json!({"method": "CreateGateway"})),
    );
    assert_eq!((status, &other["matched"]), (417, &json!(0)), "{other}");
}

#[test]
fn verify_over_grpc_answers_as_over_http() {
    let mock = MockProcess::start(&[]);
    create_gateway_over_every_protocol(&mock);
    let auth = format!("authorization: Bearer {TOKEN}");
    let grpc_verify = |request: Value| -> Value {
        let body = request.to_string();
        let output = run(
            &tool("grpcurl"),
            &[
                "-plaintext",
                "-H",
                &auth,
                "-d",
                &body,
                &mock.addr,
                "coreweave.mock.v1.ControlService/Verify",
            ],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let held = grpc_verify(json!({"method": "CreateGateway", "exactly": 4, "code": "OK"}));
    assert_eq!(held["ok"], true, "{held}");
    assert_eq!(held["matched"], 4);

    let partial = json!({"name": "over-soap"}).to_string();
    let failed = grpc_verify(json!({"method": "CreateGateway", "requestJson": partial}));
    assert_eq!(failed["ok"], Value::Null, "false is left out: {failed}");
    let (_, over_http) = verify(
        &mock,
        json!({"method": "CreateGateway", "request": {"name": "over-soap"}}),
    );
    assert_eq!(failed["message"], over_http["message"]);
    let first = &failed["nearMisses"][0];
    assert_eq!(first["differences"][0]["path"], "name");
    assert_eq!(first["differences"][0]["expectedJson"], "\"over-soap\"");
    assert!(!failed.to_string().contains(SECRET));
}

#[test]
fn warnings_reach_the_response_and_the_journal() {
    let mock = MockProcess::start(&["--transition-delay", "0s"]);
    let auth = format!("authorization: Bearer {TOKEN}");
    let url = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    let body = json!({"name": "warned", "zone": "US-EAST-04A", "colour": "red"}).to_string();
    let (status, headers, created) = send_json("POST", &url, &body);
    assert_eq!(status, 200);
    assert!(
        headers.contains("x-mock-warning: ignored unknown json keys: colour"),
        "{headers}"
    );
    let id = serde_json::from_slice::<Value>(&created).unwrap()["vpc"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // An update mask path that cannot be updated: answered, changes nothing, warned about,
    // over REST and over gRPC alike.
    let update = json!({"updateMask": "name", "name": "renamed"}).to_string();
    let (status, headers, _) = send_json("PATCH", &format!("{url}/{id}"), &update);
    assert_eq!(status, 200);
    assert!(headers.contains("x-mock-warning: update_mask names paths that cannot be updated, which changed nothing: \"name\""), "{headers}");
    // grpcurl 1.8's JSON reads a FieldMask as an object.
    let grpc_update = json!({"id": id, "updateMask": {"paths": ["name", "zone"]}}).to_string();
    let output = run_ok(
        &tool("grpcurl"),
        &[
            "-plaintext",
            "-v",
            "-H",
            &auth,
            "-d",
            &grpc_update,
            &mock.addr,
            "coreweave.networking.v1beta1.VPCService/UpdateVPC",
        ],
    );
    assert!(output.contains("x-mock-warning: update_mask names paths that cannot be updated, which changed nothing: \"name\", \"zone\""), "{output}");

    let journaled: Vec<Value> = calls(&mock, "")
        .iter()
        .map(|c| c["warnings"].clone())
        .collect();
    assert_eq!(journaled[0], json!(["ignored unknown JSON keys: colour"]));
    let about_the_mask = |warnings: &Value| {
        let texts = warnings.as_array().unwrap().iter();
        texts
            .filter_map(Value::as_str)
            .any(|w| w.starts_with("update_mask names paths"))
    };
    assert!(about_the_mask(&journaled[1]), "{journaled:?}");
    assert!(
        journaled[2][0].as_str().unwrap().contains("\"zone\""),
        "{journaled:?}"
    );
}

/// Reads from a raw HTTP/1.1 connection until `text` has arrived `times` times.
fn read_until(stream: &mut std::net::TcpStream, text: &str, times: usize) -> String {
    let mut seen = String::new();
    let mut buffer = [0; 4096];
    while seen.matches(text).count() < times {
        let read = stream.read(&mut buffer).unwrap();
        assert!(read > 0, "the stream ended: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
    seen
}

#[test]
fn the_live_stream_sends_the_scopes_calls_as_they_are_made() {
    let mock = MockProcess::start(&[]);
    let mut stream = std::net::TcpStream::connect(&mock.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "GET /_mock/v1/calls/stream?method=ListVPCs HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {TOKEN}\r\n\r\n",
        mock.addr
    );
    stream.write_all(request.as_bytes()).unwrap();
    // Once the headers are in, the stream is listening.
    let head = read_until(&mut stream, "\r\n\r\n", 1);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");

    let list = |token: &str| {
        let auth = format!("authorization: Bearer {token}");
        curl(&[
            "-H",
            &auth,
            &format!("http://{}/v1beta1/networking/vpcs", mock.addr),
        ])
        .0
    };
    assert_eq!(list("CW-SECRET-someone-else"), 200);
    let auth = format!("authorization: Bearer {TOKEN}");
    curl(&[
        "-H",
        &auth,
        &format!("http://{}/v1beta1/networking/vpcs/nope", mock.addr),
    ]);
    assert_eq!(list(TOKEN), 200);
    assert_eq!(list(TOKEN), 200);

    let events = read_until(&mut stream, "event: call", 2);
    let data: Vec<Value> = events
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|json| serde_json::from_str(json).unwrap())
        .collect();
    assert_eq!(data.len(), 2, "only this organization's ListVPCs: {events}");
    for call in &data {
        assert_eq!(call["method"], "ListVPCs");
        assert!(events.contains(&format!("id: {}", call["sequence"])));
    }
    assert!(data[0]["sequence"].as_u64() < data[1]["sequence"].as_u64());
}

#[test]
fn the_control_api_describes_itself_and_serves_the_dashboard() {
    let mock = MockProcess::start(&[]);
    let (status, index) = control(&mock, "GET", "/_mock/v1/", None, None);
    assert_eq!(status, 200);
    assert_eq!(index["dashboard"], "/_mock/ui/");
    let (_, not_found) = control(&mock, "GET", "/_mock/v1/nope", None, None);
    for route in index["routes"].as_array().unwrap() {
        let path = route["path"].as_str().unwrap();
        assert!(
            not_found["message"].as_str().unwrap().contains(path),
            "{path}"
        );
        assert!(!route["description"].as_str().unwrap().is_empty());
    }
    let paths: Vec<&str> = index["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    for wanted in [
        "/_mock/v1/verify",
        "/_mock/v1/calls/stream",
        "/_mock/v1/overview",
        "/_mock/v1/calls",
    ] {
        assert!(paths.contains(&wanted), "{paths:?}");
    }

    let help = run_ok(&common::process::mock_binary(), &["--help"]);
    assert!(
        help.contains("/_mock/v1/") && help.contains("/_mock/ui/"),
        "{help}"
    );

    let page = format!("http://{}/_mock/ui/", mock.addr);
    let (status, headers, html) = curl(&[&page]);
    assert_eq!(status, 200);
    assert!(headers.contains("content-type: text/html"), "{headers}");
    assert!(
        headers.contains("content-security-policy: default-src 'none'"),
        "{headers}"
    );
    assert!(String::from_utf8_lossy(&html).contains("dashboard.js"));
    let (status, _, _) = curl(&[&format!("{page}dashboard.js")]);
    assert_eq!(status, 200);
    // Under the control API's host rules, and off with it.
    let (status, _, _) = curl(&["-H", "host: attacker.example", &page]);
    assert_eq!(status, 403);
    let off = MockProcess::start(&["--no-control"]);
    let (status, _, _) = curl(&[&format!("http://{}/_mock/ui/", off.addr)]);
    assert_eq!(status, 404);
}

#[test]
fn the_overview_shows_resources_as_a_read_does_with_their_markers() {
    let mock = MockProcess::start(&["--transition-delay", "1h"]);
    let url = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    let body = json!({"name": "seen", "zone": "US-EAST-04A"}).to_string();
    let (_, _, created) = send_json("POST", &url, &body);
    let id = serde_json::from_slice::<Value>(&created).unwrap()["vpc"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = control(
        &mock,
        "POST",
        &format!("/_mock/v1/resources/{id}/status"),
        Some(TOKEN),
        Some(json!({"hold": true})),
    );
    assert_eq!(status, 200);
    let fault = json!({"method": "GetVPC", "kind": "fail", "code": "UNAVAILABLE", "times": 2});
    control(&mock, "POST", "/_mock/v1/faults", Some(TOKEN), Some(fault));

    let (status, overview) = control(&mock, "GET", "/_mock/v1/overview", Some(TOKEN), None);
    assert_eq!(status, 200, "{overview}");
    let orgs = overview["organizations"].as_array().unwrap();
    assert_eq!(orgs.len(), 1);
    let vpc = &orgs[0]["vpcs"][0];
    assert_eq!(
        (&vpc["name"], &vpc["status"], &vpc["held"]),
        (&json!("seen"), &json!("STATUS_CREATING"), &json!(true))
    );
    assert_eq!(vpc["resource"]["id"], id.as_str());
    assert_eq!(orgs[0]["faults"][0]["remaining"], 2);
    assert_eq!(orgs[0]["clock"]["frozen"], false);
}

#[test]
fn a_body_that_is_not_the_request_is_journaled_as_sent() {
    let mock = MockProcess::start(&[]);
    let url = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    let (status, _, _) = send_json("POST", &url, r#"{"name": "half-"#);
    assert_eq!(status, 400);
    let connect_url = format!("http://{}/{GATEWAY_SERVICE}/CreateGateway", mock.addr);
    let (status, _, _) = send_json("POST", &connect_url, r#"{"zones": 7}"#);
    assert_eq!(status, 400);

    let refused = calls(&mock, "?code=INVALID_ARGUMENT");
    let seen: Vec<(&str, &str)> = refused
        .iter()
        .map(|c| {
            (
                c["method"].as_str().unwrap(),
                c["protocol"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [("CreateVPC", "rest"), ("CreateGateway", "connect")]);
    assert_eq!(
        refused[0]["request"], r#"{"name": "half-"#,
        "the body as sent"
    );
    assert_eq!(refused[0]["violations"][0]["field"], "body");
    assert_eq!(refused[1]["violations"][0]["field"], "zones");

    // verify sees it among the near misses.
    let (status, failed) = verify(&mock, json!({"method": "CreateVPC", "code": "OK"}));
    assert_eq!(status, 417);
    assert_eq!(
        failed["nearMisses"][0]["call"]["request"],
        r#"{"name": "half-"#
    );
    // Without a good token, a refused body is no organization's: no journal keeps it.
    let no_token = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    let json = "content-type: application/json";
    let (status, _, _) = curl(&[
        "-H",
        "authorization: Bearer",
        "-H",
        json,
        "-d",
        "{",
        &no_token,
    ]);
    assert_eq!(status, 400);
    assert_eq!(calls(&mock, "").len(), 2);
}
