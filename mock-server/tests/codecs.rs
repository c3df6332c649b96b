//! Every codec and every service over the protocols that offer them: JSON on gRPC, gRPC-Web
//! and Connect streams (`+json`), and Connect unary calls of the services without a typed
//! front door (health, the control service), by their descriptors.

mod common;

use common::{
    process::MockProcess,
    wire::{body_file, curl, envelope, envelopes},
};

const AUTH: &str = "authorization: Bearer CW-SECRET-codecs";

/// A call framed in envelopes with the JSON codec: the status code, the headers, and each
/// envelope of the answer as (flags, text).
fn enveloped(
    url: &str,
    content_type: &str,
    json: &str,
    extra: &[&str],
) -> (u16, String, Vec<(u8, String)>) {
    let body = body_file("codecs", &envelope(0, json.as_bytes()));
    let content_type = format!("content-type: {content_type}");
    let mut args = vec!["-H", AUTH, "-H", &content_type, "--data-binary", &body, url];
    args.splice(0..0, extra.iter().copied());
    let (code, headers, body) = curl(&args);
    let messages = envelopes(&body)
        .into_iter()
        .map(|(flags, bytes)| (flags, String::from_utf8_lossy(&bytes).into_owned()))
        .collect();
    (code, headers, messages)
}

#[test]
fn the_json_codec_works_on_grpc_grpc_web_and_connect_streams() {
    let mock = MockProcess::start(&[]);
    let create = mock.vpc_method_url("CreateVPC");
    let get = mock.vpc_method_url("GetVPC");
    let cases: [(&str, &[&str]); 4] = [
        (
            "application/grpc+json",
            &["--http2-prior-knowledge", "-H", "te: trailers"],
        ),
        ("application/grpc-web+json", &[]),
        ("application/connect+json", &[]),
        ("application/connect+json", &["--http2-prior-knowledge"]),
    ];
    for (n, (content_type, extra)) in cases.into_iter().enumerate() {
        let json = format!(r#"{{"name": "json-{n}", "zone": "US-EAST-04A"}}"#);
        let (code, headers, messages) = enveloped(&create, content_type, &json, extra);
        assert_eq!(code, 200, "{content_type}: {headers}");
        assert!(
            headers.contains(&format!("content-type: {content_type}")),
            "{headers}"
        );
        let created: serde_json::Value = serde_json::from_str(&messages[0].1).unwrap();
        assert_eq!(
            created["vpc"]["name"],
            format!("json-{n}"),
            "{content_type}"
        );
        assert!(
            created["vpc"].get("vpcPrefixes").is_none(),
            "defaults are left out"
        );

        let missing = r#"{"id": "3f6c2c1e-1111-4222-8333-444455556666"}"#;
        let (_, headers, messages) = enveloped(&get, content_type, missing, extra);
        if content_type.starts_with("application/connect") {
            let end = &messages.last().unwrap().1;
            assert!(
                end.contains(r#""code":"not_found""#) && end.contains("google.rpc.ResourceInfo"),
                "{content_type}: {end}"
            );
        } else {
            assert!(
                headers.contains("grpc-status: 5"),
                "{content_type}: {headers}"
            );
            assert!(
                headers.contains("grpc-status-details-bin"),
                "{content_type}: {headers}"
            );
        }
    }
}

#[test]
fn a_json_message_that_is_not_the_request_is_invalid_argument() {
    let mock = MockProcess::start(&[]);
    let url = mock.vpc_method_url("GetVPC");
    let (_, headers, messages) = enveloped(&url, "application/connect+json", r#"{"id": 7}"#, &[]);
    let end = &messages.last().unwrap().1;
    assert!(
        end.contains("invalid_argument") && end.contains("GetVPCRequest"),
        "{headers}{end}"
    );
}

#[test]
fn health_and_control_answer_connect_unary_calls_in_json_and_protobuf() {
    let mock = MockProcess::start(&[]);
    let health = format!("http://{}/grpc.health.v1.Health/Check", mock.addr);
    let (code, _, body) = curl(&["-H", "content-type: application/json", "-d", "{}", &health]);
    assert_eq!(code, 200);
    assert_eq!(String::from_utf8_lossy(&body), r#"{"status":"SERVING"}"#);
    let empty = body_file("empty", b"");
    let (code, headers, body) = curl(&[
        "-H",
        "content-type: application/proto",
        "--data-binary",
        &empty,
        &health,
    ]);
    assert_eq!(code, 200);
    assert!(
        headers.contains("content-type: application/proto"),
        "{headers}"
    );
    assert_eq!(body, [0x08, 0x01], "HealthCheckResponse{{status: SERVING}}");
    let unknown = r#"{"service": "no.such.Service"}"#;
    let (code, _, body) = curl(&[
        "-H",
        "content-type: application/json",
        "-d",
        unknown,
        &health,
    ]);
    assert_eq!(code, 404, "{}", String::from_utf8_lossy(&body));

    let (code, body) = connect_whoami(&mock);
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["organizationId"].as_str().map(str::len), Some(36));
}

#[test]
fn without_the_control_plane_its_connect_procedures_are_unimplemented() {
    let mock = MockProcess::start(&["--no-control"]);
    let (code, body) = connect_whoami(&mock);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(code, 501, "{body}");
    assert!(body.contains("unimplemented"), "{body}");
}

#[test]
fn the_json_codec_reads_gzip_messages() {
    use std::io::Write;
    let mock = MockProcess::start(&[]);
    let json = br#"{"name": "zipped-json", "zone": "US-EAST-04A"}"#;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(json).unwrap();
    let body = body_file("zipped-json", &envelope(1, &encoder.finish().unwrap()));
    let (code, headers, body) = curl(&[
        "-H",
        AUTH,
        "-H",
        "content-type: application/connect+json",
        "-H",
        "connect-content-encoding: gzip",
        "--data-binary",
        &body,
        &mock.vpc_method_url("CreateVPC"),
    ]);
    assert_eq!(code, 200, "{headers}");
    let messages = envelopes(&body);
    let created: serde_json::Value = serde_json::from_slice(&messages[0].1).unwrap();
    assert_eq!(created["vpc"]["name"], "zipped-json");
}

#[test]
fn every_protocol_answers_deadline_exceeded_when_its_timeout_runs_out() {
    use prost::Message;
    let mock = MockProcess::start(&[]);
    let url = mock.vpc_method_url("GetVPC");
    let id = "3f6c2c1e-1111-4222-8333-444455556666";
    let get = coreweave_api::networking::v1beta1::GetVpcRequest { id: id.into() };
    let framed = body_file("deadline", &envelope(0, &get.encode_to_vec()));
    let json = format!(r#"{{"id": "{id}"}}"#);
    let slow = "x-mock-delay: 10s";
    let cases: [(&str, Vec<&str>); 4] = [
        (
            "grpc",
            vec![
                "--http2-prior-knowledge",
                "-H",
                "content-type: application/grpc",
                "-H",
                "te: trailers",
                "-H",
                "grpc-timeout: 200m",
                "--data-binary",
                &framed,
            ],
        ),
        (
            "grpc-web",
            vec![
                "-H",
                "content-type: application/grpc-web+proto",
                "-H",
                "grpc-timeout: 200m",
                "--data-binary",
                &framed,
            ],
        ),
        (
            "connect stream",
            vec![
                "-H",
                "content-type: application/connect+proto",
                "-H",
                "connect-timeout-ms: 200",
                "--data-binary",
                &framed,
            ],
        ),
        (
            "connect unary",
            vec![
                "-H",
                "content-type: application/json",
                "-H",
                "connect-timeout-ms: 200",
                "-d",
                &json,
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (protocol, mut args) in cases {
        args.extend(["-H", AUTH, "-H", slow, &url]);
        let (code, headers, body) = curl(&args);
        let everything = format!("{headers}{}", String::from_utf8_lossy(&body));
        let expired = everything.contains("grpc-status: 4")
            || everything.contains("grpc-status:4")
            || everything.contains("deadline_exceeded");
        if !expired {
            failures.push(format!("{protocol} ({code}): {everything}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn grpc_web_text_that_is_not_base64_is_invalid_argument() {
    let mock = MockProcess::start(&[]);
    let (_, headers, _) = curl(&[
        "-H",
        AUTH,
        "-H",
        "content-type: application/grpc-web-text",
        "-d",
        "!!!not base64",
        &mock.vpc_method_url("ListVPCs"),
    ]);
    assert!(headers.contains("grpc-status: 3"), "{headers}");
}

#[test]
fn grpc_over_http_1_1_is_served_to_clients_that_accept_trailers() {
    use prost::Message;
    let mock = MockProcess::start(&[]);
    let list = coreweave_api::networking::v1beta1::ListVpCsRequest {}.encode_to_vec();
    let body = body_file("grpc-h1", &envelope(0, &list));
    let url = mock.vpc_method_url("ListVPCs");
    let grpc = [
        "--http1.1",
        "-H",
        AUTH,
        "-H",
        "content-type: application/grpc",
    ];
    let mut with_trailers = grpc.to_vec();
    with_trailers.extend(["-H", "te: trailers", "--data-binary", &body, &url]);
    let (code, headers, answer) = curl(&with_trailers);
    assert_eq!(code, 200, "{headers}");
    assert_eq!(envelopes(&answer).len(), 1, "one ListVPCsResponse");
    assert!(
        headers.contains("grpc-status: 0"),
        "the trailers arrive: {headers}"
    );

    let mut without = grpc.to_vec();
    without.extend(["--data-binary", &body, &url]);
    let (code, _, answer) = curl(&without);
    assert_eq!(code, 505, "{}", String::from_utf8_lossy(&answer));
}

/// A Connect JSON call of the control service's WhoAmI: its status and body.
fn connect_whoami(mock: &MockProcess) -> (u16, Vec<u8>) {
    let whoami = format!(
        "http://{}/coreweave.mock.v1.ControlService/WhoAmI",
        mock.addr
    );
    let json = "content-type: application/json";
    let (code, _, body) = curl(&["-H", AUTH, "-H", json, "-d", "{}", &whoami]);
    (code, body)
}
