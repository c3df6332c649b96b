//! REST, Connect and gRPC-Web on the mock's one port, driven by real clients: the seed
//! documents' curl commands (method, path, headers and body shape as documented, with the
//! placeholders filled in), the invalid-input cases, the HTTP status of every code, and
//! `buf curl` over Connect, gRPC-Web and gRPC seeing the same state as REST and grpcurl.

mod common;

use std::{path::PathBuf, time::Duration};

use common::{
    json_keys,
    process::{repo_root, run, run_ok, tool, MockProcess},
    VPC_JSON_KEYS,
};
use coreweave_mock::{Fault, Method, MockServer};
use serde_json::{json, Value};
use tonic::Code;

const TOKEN: &str = "CW-SECRET-http";

/// The response of one curl call: HTTP status, the `x-mock-warning` header and the parsed
/// JSON body.
#[derive(Debug)]
struct Reply {
    status: u16,
    warning: Option<String>,
    body: Value,
}

/// Runs curl with `args` (method, headers, data) against `url`.
fn curl(args: &[&str], url: &str) -> Reply {
    let warning_format = "\n%header{x-mock-warning}\n%{http_code}";
    let mut full = vec!["--silent", "--show-error", "--write-out", warning_format];
    full.extend_from_slice(args);
    full.push(url);
    let output = run_ok(&tool("curl"), &full);
    let (output, status) = output.rsplit_once('\n').expect("status line");
    let (body, warning) = output.rsplit_once('\n').expect("warning line");
    let warning = (!warning.is_empty()).then(|| warning.to_owned());
    let body = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"))
    };
    Reply {
        status: status.trim().parse().expect("status"),
        warning,
        body,
    }
}

/// Writes `body` to a fresh file for `-d @file`, as the docs do with `data.json`.
fn data_file(body: &Value) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "coreweave-mock-data-{}-{n}.json",
        std::process::id()
    ));
    std::fs::write(&path, serde_json::to_vec_pretty(body).unwrap()).unwrap();
    path
}

fn auth() -> String {
    format!("Authorization: Bearer {TOKEN}")
}

#[test]
fn the_vpc_documentation_curl_commands_work() {
    let mock = MockProcess::start(&["--transition-delay", "0s"]);
    let base = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    let auth = auth();
    let json_header = "Content-Type: application/json";

    // curl -X POST .../vpcs -H "Content-Type: application/json" -H "Authorization: Bearer ..." -d @data.json
    let create = json!({
        "name": "docs-vpc", "zone": "US-EAST-04A",
        "hostPrefixes": [
            {"name": "primary", "type": "PRIMARY", "prefixes": ["10.16.0.0/18", "fd00:16::/48"]},
            {"name": "pods", "type": "ROUTED", "prefixes": ["10.128.0.0/16"], "ipam": {"prefixLength": 24, "gatewayAddressPolicy": "FIRST_IP"}}
        ],
        "vpcPrefixes": [{"name": "workloads", "value": "172.16.0.0/16"}],
        "ingress": {"disablePublicServices": false},
        "egress": {"disablePublicAccess": false},
        "dhcp": {"dns": {"servers": ["1.1.1.1", "8.8.8.8"]}}
    });
    let data = format!("@{}", data_file(&create).display());
    let reply = curl(
        &["-X", "POST", "-H", json_header, "-H", &auth, "-d", &data],
        &base,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let vpc = &reply.body["vpc"];
    assert_eq!(vpc["status"], "STATUS_CREATING");
    assert_eq!(vpc["hostPrefix"], "10.16.0.0/18");
    assert!(
        vpc["createdAt"].as_str().unwrap().ends_with('Z'),
        "canonical timestamps: {vpc}"
    );
    let id = vpc["id"].as_str().unwrap().to_owned();

    // curl -X GET .../vpcs -H "Content-Type: application/json" -H "Authorization: ..."
    let reply = curl(&["-X", "GET", "-H", json_header, "-H", &auth], &base);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["items"][0]["id"], id.as_str());
    assert_eq!(
        reply.body["items"][0]["vpcPrefixes"][0]["status"],
        "STATUS_AVAILABLE"
    );

    // curl -X GET .../vpcs/{id}
    let by_id = format!("{base}/{id}");
    let reply = curl(&["-X", "GET", "-H", json_header, "-H", &auth], &by_id);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["vpc"]["status"], "STATUS_READY");

    // curl -X PATCH .../vpcs/{id} -d @data.json. The documented body also lists name, zone
    // and hostPrefixes, which UpdateVPCRequest does not have: they are ignored, and named in
    // the warning header.
    let documented = json!({
        "updateMask": "vpcPrefixes,ingress.disablePublicServices",
        "name": "docs-vpc", "zone": "US-EAST-04A",
        "hostPrefixes": create["hostPrefixes"],
        "vpcPrefixes": [{"name": "workloads", "value": "172.16.0.0/16"}, {"name": "more", "value": "172.17.0.0/16"}],
        "ingress": {"disablePublicServices": true},
        "egress": {"disablePublicAccess": true},
        "dhcp": {"dns": {"servers": ["1.1.1.1"]}}
    });
    let data = format!("@{}", data_file(&documented).display());
    let reply = curl(
        &["-X", "PATCH", "-H", json_header, "-H", &auth, "-d", &data],
        &by_id,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.warning.as_deref(),
        Some("ignored unknown JSON keys: hostPrefixes, name, zone"),
        "{reply:?}"
    );
    assert!(!reply.body["vpc"]["egress"]["disablePublicAccess"]
        .as_bool()
        .unwrap());

    // Without the unknown keys there is nothing to warn about.
    let mut updatable = documented.clone();
    for immutable in ["name", "zone", "hostPrefixes"] {
        updatable.as_object_mut().unwrap().remove(immutable);
    }
    let data = format!("@{}", data_file(&updatable).display());
    let reply = curl(
        &["-X", "PATCH", "-H", json_header, "-H", &auth, "-d", &data],
        &by_id,
    );
    assert_eq!(reply.warning, None);
    assert_eq!(reply.status, 200, "{reply:?}");
    let vpc = &reply.body["vpc"];
    assert_eq!(vpc["status"], "STATUS_UPDATING");
    assert_eq!(vpc["vpcPrefixes"].as_array().unwrap().len(), 2);
    assert_eq!(vpc["ingress"]["disablePublicServices"], true);
    assert_eq!(
        vpc["egress"]["disablePublicAccess"], false,
        "egress was outside the mask: {vpc}"
    );

    // curl -X DELETE .../vpcs/{id}
    let reply = curl(&["-X", "DELETE", "-H", json_header, "-H", &auth], &by_id);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["vpc"]["status"], "STATUS_DELETING");
    let reply = curl(&["-X", "GET", "-H", json_header, "-H", &auth], &by_id);
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body["code"], 5);
    assert_eq!(reply.body["message"], format!("VPC {id} not found"));
    assert_eq!(
        reply.body["details"][0]["@type"],
        "type.googleapis.com/google.rpc.ResourceInfo"
    );
}

#[test]
fn the_gateway_documentation_curl_commands_work() {
    let mock = MockProcess::start(&["--transition-delay", "0s"]);
    let base = format!("http://{}/v1alpha1/inference/gateways", mock.addr);
    let auth = auth();

    // curl --request GET --url .../gateways/parameters (matched before /gateways/{id})
    let reply = curl(
        &["--request", "GET", "--header", &auth],
        &format!("{base}/parameters"),
    );
    assert_eq!(reply.status, 200);
    assert!(reply.body["zones"]
        .as_array()
        .unwrap()
        .iter()
        .any(|z| z == "US-EAST-04A"));

    // curl --request POST --url .../gateways --header ... --data '{...}': the documented body
    // with one auth (the seed lists both to show the choice; a real request sends one).
    let body = r#"
{
"name": "docs-gateway",
"zones": [
"us-east-04a"
],
"id": "3f1c2a9e-8b7d-4e6f-a5c4-1d2e3f4a5b6c",
"weightsAndBiasesAuth": {
"apiKey": "wandb-key",
"serverUrl": "https://api.wandb.ai",
"enableUsageReports": true,
"enableRateLimiting": true
},
"endpointConfiguration": {
"additionalDns": [
"models.example.com"
]
},
"pathBasedRouting": {}
}
"#;
    let reply = documented_post(&base, body);
    assert_eq!(reply.status, 200, "{reply:?}");
    let gateway = &reply.body["gateway"];
    assert_eq!(
        gateway["spec"]["id"],
        "3f1c2a9e-8b7d-4e6f-a5c4-1d2e3f4a5b6c"
    );
    assert_eq!(gateway["spec"]["zones"][0], "US-EAST-04A");
    assert_eq!(
        gateway["spec"]["weightsAndBiasesAuth"]["apiKey"], "",
        "api_key must never be returned"
    );
    assert_eq!(gateway["status"]["status"], "STATUS_CREATING");

    // The seed body verbatim names both auth members: a clear 400 naming the second.
    let both = body.replace(
        "\"weightsAndBiasesAuth\"",
        "\"coreWeaveAuth\": {},\n\"weightsAndBiasesAuth\"",
    );
    let reply = documented_post(&base, &both);
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["details"][0]["fieldViolations"][0]["field"], "weights_and_biases_auth",
        "{reply:?}"
    );

    // curl -X POST .../gateways -d @data.json
    let data = format!("@{}", data_file(&json!({"name": "second", "coreWeaveAuth": {}, "bodyBasedRouting": {"apiType": "API_TYPE_OPENAI"}})).display());
    let reply = curl(
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-H",
            &auth,
            "-d",
            &data,
        ],
        &base,
    );
    assert_eq!(reply.status, 200, "{reply:?}");

    let id = "3f1c2a9e-8b7d-4e6f-a5c4-1d2e3f4a5b6c";
    let reply = curl(&["-H", &auth], &format!("{base}/{id}"));
    assert_eq!(reply.body["gateway"]["status"]["status"], "STATUS_READY");
    assert_eq!(
        reply.body["gateway"]["status"]["conditions"][0]["status"],
        "STATUS_TRUE"
    );
    let reply = curl(
        &["-H", &auth],
        &format!("{base}?updatedAfter=2020-01-01T00:00:00Z"),
    );
    assert_eq!(reply.body["items"].as_array().unwrap().len(), 2);
    let reply = curl(
        &["-H", &auth],
        &format!("{base}?updatedAfter=2999-01-01T00:00:00Z"),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["items"], json!([]), "{reply:?}");
    let reply = curl(&["-H", &auth], &format!("{base}?updatedAfter=yesterday"));
    assert_eq!(reply.status, 400);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("updatedAfter"),
        "{reply:?}"
    );

    let update = json!({"name": "renamed", "coreWeaveAuth": {}, "headerBasedRouting": {"headerName": "x-model"}});
    let reply = curl(
        &[
            "-X",
            "PATCH",
            "-H",
            "Content-Type: application/json",
            "-H",
            &auth,
            "-d",
            &update.to_string(),
        ],
        &format!("{base}/{id}"),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.body["gateway"]["spec"]["headerBasedRouting"]["headerName"],
        "x-model"
    );
    let reply = curl(&["-X", "DELETE", "-H", &auth], &format!("{base}/{id}"));
    assert_eq!(reply.body["gateway"]["status"]["status"], "STATUS_DELETING");
}

#[test]
fn bad_http_input_gets_a_4xx_json_error_that_names_the_problem() {
    let mock = MockProcess::start(&[]);
    let url = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    let auth = auth();
    let json_header = "Content-Type: application/json";
    let cases: Vec<(Vec<&str>, u16, &str)> = vec![
        (
            vec!["-H", json_header, "-d", r#"{"name":5}"#],
            400,
            "name: invalid type: integer `5`, expected a string",
        ),
        (
            vec!["-H", json_header, "-d", r#"{"name":"x","hostPrefixes":[{"ipam":{"prefixLength":99999999999}}]}"#],
            400,
            "host_prefixes[0].ipam.prefix_length",
        ),
        (
            vec![
                "-H",
                json_header,
                "-d",
                r#"{"name":"x","hostPrefixes":[{"type":"primary"}]}"#,
            ],
            400,
            "host_prefixes[0].type: unrecognized enum value 'primary'; expected one of UNSPECIFIED, PRIMARY, ROUTED, ATTACHED",
        ),
        (
            vec!["-H", json_header, "-d", r#"{"name":"x""#],
            400,
            "line 1",
        ),
        (
            vec!["-H", "Content-Type: text/plain", "-d", r#"{"name":"x"}"#],
            400,
            "application/json",
        ),
        (vec!["-d", r#"{"name":"x"}"#], 400, "application/json"),
        (vec!["-X", "PUT", "-H", json_header, "-d", "{}"], 405, "PUT"),
    ];
    for (args, status, needle) in cases {
        let mut full = vec!["-H", auth.as_str()];
        full.extend(args.iter().copied());
        let reply = curl(&full, &url);
        assert_eq!(reply.status, status, "{args:?}: {reply:?}");
        assert!(
            reply.body["message"].as_str().unwrap().contains(needle),
            "{args:?}: {reply:?}"
        );
        if status == 400 {
            assert_eq!(reply.body["code"], 3, "{args:?}: {reply:?}");
        }
        if reply.body["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body")
        {
            // Every JSON error has its BadRequest; malformed JSON names the body.
            let violation = &reply.body["details"][0]["fieldViolations"][0];
            let field = violation["field"].as_str().unwrap();
            let description = violation["description"].as_str().unwrap();
            assert!(!field.is_empty() && !description.is_empty(), "{reply:?}");
            if description.starts_with("malformed JSON") {
                assert_eq!(field, "body", "{reply:?}");
            }
            assert!(
                !description.contains("a string; expected a string"),
                "{reply:?}"
            );
        }
    }

    // An oversized body.
    let big = json!({"name": "x".repeat(5 * 1024 * 1024)});
    let data = format!("@{}", data_file(&big).display());
    let reply = curl(&["-H", &auth, "-H", json_header, "-d", &data], &url);
    assert_eq!(reply.status, 429, "{reply:?}");
    assert_eq!(reply.body["code"], 8);
    assert!(reply.body["message"].as_str().unwrap().contains("limit"));
    assert_eq!(
        reply.body["details"][0]["@type"],
        "type.googleapis.com/google.rpc.QuotaFailure"
    );

    // An unknown path and a missing token.
    let reply = curl(&["-H", &auth], &format!("http://{}/v1/nothing", mock.addr));
    assert_eq!((reply.status, reply.body["code"].as_i64()), (404, Some(5)));
    let reply = curl(&[], &url);
    assert_eq!((reply.status, reply.body["code"].as_i64()), (401, Some(16)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_code_the_mock_returns_has_its_http_status() {
    let table = [
        (Code::InvalidArgument, 400, "invalid_argument"),
        (Code::FailedPrecondition, 400, "failed_precondition"),
        (Code::Unauthenticated, 401, "unauthenticated"),
        (Code::PermissionDenied, 403, "permission_denied"),
        (Code::NotFound, 404, "not_found"),
        (Code::AlreadyExists, 409, "already_exists"),
        (Code::Aborted, 409, "aborted"),
        (Code::ResourceExhausted, 429, "resource_exhausted"),
        (Code::Cancelled, 499, "canceled"),
        (Code::Internal, 500, "internal"),
        (Code::Unknown, 500, "unknown"),
        (Code::Unimplemented, 501, "unimplemented"),
        (Code::Unavailable, 503, "unavailable"),
        (Code::DeadlineExceeded, 504, "deadline_exceeded"),
    ];
    let mut builder = MockServer::builder();
    for (code, _, _) in table {
        // Each code is injected for two calls: one over REST, one over Connect.
        builder = builder.fault(Fault::fail(Method::ListVpcs, 2, code));
    }
    let mock = builder.start().await.unwrap();
    let auth = auth();
    let rest = format!("{}/v1beta1/networking/vpcs", mock.endpoint());
    let connect = format!(
        "{}/coreweave.networking.v1beta1.VPCService/ListVPCs",
        mock.endpoint()
    );
    for (code, http, connect_name) in table {
        let (auth, rest, connect) = (auth.clone(), rest.clone(), connect.clone());
        let (rest_reply, connect_reply) = tokio::task::spawn_blocking(move || {
            let rest_reply = curl(&["-H", &auth], &rest);
            let connect_reply = curl(
                &[
                    "-H",
                    &auth,
                    "-H",
                    "Content-Type: application/json",
                    "-d",
                    "{}",
                ],
                &connect,
            );
            (rest_reply, connect_reply)
        })
        .await
        .unwrap();
        assert_eq!(rest_reply.status, http, "REST {code:?}");
        assert_eq!(rest_reply.body["code"], code as i32, "REST {code:?}");
        assert_eq!(connect_reply.status, http, "Connect {code:?}");
        assert_eq!(connect_reply.body["code"], connect_name, "Connect {code:?}");
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// Runs `buf curl` with the repository's protos as the schema.
fn buf_curl(protocol: &str, addr: &str, method: &str, body: &str) -> Value {
    let url = format!("http://{addr}/{method}");
    let root = repo_root();
    let schema = root.to_str().expect("a UTF-8 path");
    let header = auth();
    let mut args = vec![
        "curl",
        "--schema",
        schema,
        "--protocol",
        protocol,
        "-H",
        &header,
        "-d",
        body,
    ];
    if protocol == "grpc" {
        args.push("--http2-prior-knowledge");
    }
    args.push(&url);
    let output = run(&tool("buf"), &args);
    assert!(
        output.status.success(),
        "buf curl --protocol {protocol} {method} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn rest_grpc_connect_and_grpc_web_share_one_state() {
    let mock = MockProcess::start(&["--transition-delay", "0s"]);
    let addr = mock.addr.as_str();
    let auth = auth();
    let vpcs = "coreweave.networking.v1beta1.VPCService";

    // Create over REST.
    let reply = curl(
        &[
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"name":"shared","zone":"US-EAST-06A"}"#,
        ],
        &format!("http://{addr}/v1beta1/networking/vpcs"),
    );
    let id = reply.body["vpc"]["id"].as_str().unwrap().to_owned();

    // Read over gRPC with grpcurl.
    let got = run_ok(
        &tool("grpcurl"),
        &[
            "-plaintext",
            "-H",
            &auth,
            "-d",
            &format!(r#"{{"id":"{id}"}}"#),
            addr,
            &format!("{vpcs}/GetVPC"),
        ],
    );
    assert!(got.contains("\"shared\""), "{got}");

    // Update over Connect.
    let updated = buf_curl(
        "connect",
        addr,
        &format!("{vpcs}/UpdateVPC"),
        &format!(
            r#"{{"id":"{id}","updateMask":"dhcp.dns.servers","dhcp":{{"dns":{{"servers":["9.9.9.9"]}}}}}}"#
        ),
    );
    assert_eq!(updated["vpc"]["dhcp"]["dns"]["servers"][0], "9.9.9.9");

    // List over gRPC-Web and over gRPC with buf.
    for protocol in ["grpcweb", "grpc"] {
        let listed = buf_curl(protocol, addr, &format!("{vpcs}/ListVPCs"), "{}");
        assert_eq!(listed["items"][0]["id"], id.as_str(), "{protocol}");
        assert_eq!(
            listed["items"][0]["dhcp"]["dns"]["servers"][0], "9.9.9.9",
            "{protocol}"
        );
    }

    // Gateways too: create over gRPC-Web, read over REST, delete over Connect.
    let created = buf_curl(
        "grpcweb",
        addr,
        "coreweave.inference.v1alpha1.GatewayService/CreateGateway",
        r#"{"name":"web","coreWeaveAuth":{},"pathBasedRouting":{}}"#,
    );
    let gateway_id = created["gateway"]["spec"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = curl(
        &["-H", &auth],
        &format!("http://{addr}/v1alpha1/inference/gateways/{gateway_id}"),
    );
    assert_eq!(reply.body["gateway"]["spec"]["name"], "web");
    buf_curl(
        "connect",
        addr,
        "coreweave.inference.v1alpha1.GatewayService/DeleteGateway",
        &format!(r#"{{"id":"{gateway_id}"}}"#),
    );

    // Delete the VPC over REST; every protocol sees it gone.
    curl(
        &["-X", "DELETE", "-H", &auth],
        &format!("http://{addr}/v1beta1/networking/vpcs/{id}"),
    );
    let listed = buf_curl("connect", addr, &format!("{vpcs}/ListVPCs"), "{}");
    assert!(listed.get("items").is_none(), "{listed}");
    let reply = curl(
        &["-H", &auth],
        &format!("http://{addr}/v1alpha1/inference/gateways"),
    );
    assert_eq!(reply.body["items"], json!([]), "{reply:?}");
}

#[test]
fn connect_speaks_protobuf_too() {
    let mock = MockProcess::start(&[]);
    let listed = buf_curl(
        "connect",
        &mock.addr,
        "coreweave.inference.v1alpha1.GatewayService/GetGatewayParameters",
        "{}",
    );
    assert!(listed["zones"].as_array().unwrap().len() >= 5);
    // buf curl's Connect uses application/proto by default; check the JSON codec's errors.
    let reply = post_json(
        &mock.vpc_method_url("CreateVPC"),
        r#"{"name":"Bad Name","zone":"US-EAST-04A"}"#,
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["code"], "invalid_argument");
    assert_eq!(reply.body["details"][0]["type"], "google.rpc.BadRequest");
    assert_eq!(
        reply.body["details"][0]["debug"]["fieldViolations"][0]["field"],
        "name"
    );
    let reply = post_json(&mock.vpc_method_url("Nope"), "{}");
    assert_eq!(reply.body["code"], "unimplemented");
}

#[test]
fn browsers_may_call_from_another_origin() {
    let mock = MockProcess::start(&[]);
    let url = mock.vpc_method_url("ListVPCs");
    let preflight = preflight("authorization,content-type,x-grpc-web");
    let headers = from_origin("OPTIONS", &url, &preflight.each_ref().map(String::as_str));
    assert!(headers.contains(ALLOWED_ORIGIN), "{headers}");
    assert!(
        headers.contains("access-control-allow-headers: authorization,content-type,x-grpc-web"),
        "{headers}"
    );

    // A gRPC-Web call from that origin answers with the CORS headers and grpc-status exposed.
    let auth = auth();
    let grpc_web = [
        "-H",
        &auth,
        "-H",
        "Content-Type: application/grpc-web+proto",
    ];
    let headers = from_origin(
        "POST",
        &url,
        &[&grpc_web[..], &["--data-binary", "@-"]].concat(),
    );
    assert!(headers.contains(ALLOWED_ORIGIN), "{headers}");
    assert!(
        headers.contains("access-control-expose-headers:") && headers.contains("grpc-status"),
        "{headers}"
    );

    // REST and Connect from that origin get the CORS headers too.
    let rest = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    let json = [
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "--data",
        "{}",
    ];
    for (method, url, extra) in [("GET", &rest, &json[..2]), ("POST", &url, &json[..])] {
        let headers = from_origin(method, url, extra);
        assert!(
            headers.starts_with("http/1.1 200"),
            "{method} {url}: {headers}"
        );
        assert!(
            headers.contains(ALLOWED_ORIGIN),
            "{method} {url}: {headers}"
        );
    }
}

/// The header that lets the test page's origin read a response.
/// curl's arguments for a CORS preflight of a POST with `headers`.
fn preflight(headers: &str) -> [String; 4] {
    let asked = format!("Access-Control-Request-Headers: {headers}");
    ["-H", "Access-Control-Request-Method: POST", "-H", &asked].map(str::to_owned)
}

const ALLOWED_ORIGIN: &str = "access-control-allow-origin: http://localhost:3000";

#[test]
fn no_web_page_can_drive_the_control_plane() {
    let mock = MockProcess::start(&[]);
    let auth = auth();
    let clock = format!("http://{}/_mock/v1/clock", mock.addr);
    // No CORS for the control API: a page's preflight and its reads get no allow-origin.
    let preflight = preflight("authorization");
    let headers = from_origin("OPTIONS", &clock, &preflight.each_ref().map(String::as_str));
    assert!(
        !headers.contains("access-control-allow-origin"),
        "{headers}"
    );
    let headers = from_origin("GET", &clock, &["-H", &auth]);
    assert!(headers.starts_with("http/1.1 200"), "{headers}");
    assert!(
        !headers.contains("access-control-allow-origin"),
        "{headers}"
    );
    // Nor for the control service over gRPC-Web.
    let control = format!(
        "http://{}/coreweave.mock.v1.ControlService/GetClock",
        mock.addr
    );
    let headers = from_origin(
        "OPTIONS",
        &control,
        &preflight.each_ref().map(String::as_str),
    );
    assert!(
        !headers.contains("access-control-allow-origin"),
        "{headers}"
    );

    // A request addressed to another name (DNS rebinding) is refused, naming the flag; the
    // API itself serves any Host.
    let rebound = ["-H", "Host: evil.example:80", "-H", &auth];
    let reply = curl(&rebound, &clock);
    assert_eq!(reply.status, 403, "{reply:?}");
    let message = reply.body["message"].as_str().unwrap();
    assert!(
        message.contains("--allowed-host evil.example:80"),
        "{message}"
    );
    let web = [
        &rebound[..],
        &["-H", "Content-Type: application/grpc-web+proto", "-d", ""],
    ];
    assert_eq!(curl(&web.concat(), &control).status, 403);
    let vpcs = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    assert_eq!(curl(&rebound, &vpcs).status, 200);

    // The flags open exactly what they name.
    let open = MockProcess::start(&[
        "--cors-origin",
        "http://localhost:3000",
        "--allowed-host",
        "mock",
    ]);
    let clock = format!("http://{}/_mock/v1/clock", open.addr);
    let headers = from_origin("GET", &clock, &["-H", &auth]);
    assert!(headers.contains(ALLOWED_ORIGIN), "{headers}");
    let evil = [
        "-H",
        "Origin: http://evil.example",
        "--include",
        "-H",
        &auth,
    ];
    let output = run_ok(
        &tool("curl"),
        &[&["--silent"][..], &evil, &[clock.as_str()]].concat(),
    );
    assert!(
        !output
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{output}"
    );
    assert_eq!(
        curl(&["-H", "Host: mock:50051", "-H", &auth], &clock).status,
        200
    );
}

/// Calls `url` as a page on `http://localhost:3000` would, and returns the status line and
/// headers, lowercased.
fn from_origin(method: &str, url: &str, extra: &[&str]) -> String {
    let mut args = vec!["--silent", "--include", "-X", method];
    args.extend(["-H", "Origin: http://localhost:3000"]);
    args.extend(extra);
    args.push(url);
    run_ok(&tool("curl"), &args).to_ascii_lowercase()
}

/// A POST with the long flags the documentation's curl commands use.
fn documented_post(url: &str, body: &str) -> Reply {
    let auth = auth();
    let args = ["--request", "POST", "--header", &auth, "--header"];
    let args = [
        &args[..],
        &["Content-Type: application/json", "--data", body],
    ]
    .concat();
    curl(&args, url)
}

/// Posts `body` as JSON to `url` with the test token.
fn post_json(url: &str, body: &str) -> Reply {
    let auth = auth();
    curl(
        &[
            "-H",
            &auth,
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ],
        url,
    )
}

#[test]
fn rest_writes_every_field_and_connect_leaves_defaults_out() {
    let mock = MockProcess::start(&["--transition-delay", "0s"]);
    let rest = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    let reply = post_json(&rest, r#"{"name":"bare","zone":"US-EAST-04A"}"#);
    assert_eq!(reply.status, 200, "{reply:?}");
    let id = reply.body["vpc"]["id"].as_str().unwrap().to_owned();

    let vpc = curl(&["-H", &auth()], &format!("{rest}/{id}")).body["vpc"].clone();
    let keys = json_keys(&vpc);
    for key in VPC_JSON_KEYS {
        assert!(keys.contains(&key), "{key} missing from {vpc}");
    }
    assert_eq!(vpc["vpcPrefixes"], json!([]));
    assert_eq!(vpc["dhcp"], Value::Null);
    assert_eq!(vpc["ingress"], json!({"disablePublicServices": false}));
    assert_eq!(vpc["egress"], json!({"disablePublicAccess": false}));
    assert_eq!(vpc["hostPrefixes"][0]["type"], "PRIMARY");
    assert_eq!(vpc["hostPrefixes"][0]["ipam"], Value::Null);
    assert_eq!(vpc["hostPrefix"], vpc["hostPrefixes"][0]["prefixes"][0]);
    assert_eq!(vpc["status"], "STATUS_READY");

    // The REST error body is written with every field too.
    let reply = curl(&["-H", &auth()], &format!("{rest}/no-such-id"));
    let info = &reply.body["details"][0];
    assert_eq!(info["@type"], "type.googleapis.com/google.rpc.ResourceInfo");
    assert_eq!(info["owner"], "");

    // Connect JSON: canonical, defaults left out.
    let connect = mock.vpc_method_url("GetVPC");
    let reply = post_json(&connect, &json!({"id": id}).to_string());
    assert_eq!(reply.status, 200, "{reply:?}");
    let vpc = reply.body["vpc"].as_object().unwrap();
    for absent in ["vpcPrefixes", "dhcp"] {
        assert!(!vpc.contains_key(absent), "{absent} in {vpc:?}");
    }
    assert_eq!(vpc["ingress"], json!({}));
    assert_eq!(vpc["status"], "STATUS_READY");
}

#[test]
fn unknown_keys_are_ignored_with_a_warning_or_rejected_when_strict() {
    let body = r#"{"name":"typo","zone":"US-EAST-04A","vpcPrefix":[{"name":"w"}],"ingress":{"disablePublicService":true}}"#;
    let warning = "ignored unknown JSON keys: vpcPrefix, ingress.disablePublicService";
    let connect = "coreweave.networking.v1beta1.VPCService/CreateVPC";

    let lenient = MockProcess::start(&[]);
    let rest = format!("http://{}/v1beta1/networking/vpcs", lenient.addr);
    let reply = post_json(&rest, body);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.warning.as_deref(), Some(warning));
    assert_eq!(reply.body["vpc"]["ingress"]["disablePublicServices"], false);
    let reply = post_json(
        &format!("http://{}/{connect}", lenient.addr),
        &body.replace("typo", "typo-two"),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.warning.as_deref(), Some(warning));

    let strict = MockProcess::start(&["--strict-json"]);
    for url in [
        format!("http://{}/v1beta1/networking/vpcs", strict.addr),
        format!("http://{}/{connect}", strict.addr),
    ] {
        let reply = post_json(&url, body);
        assert_eq!(reply.status, 400, "{url}: {reply:?}");
        let message = reply.body["message"].as_str().unwrap();
        assert!(
            message.contains("vpcPrefix") && message.contains("ingress.disablePublicService"),
            "{url}: {reply:?}"
        );
        assert_eq!(reply.warning, None);
    }
    let listed = curl(
        &["-H", &auth()],
        &format!("http://{}/v1beta1/networking/vpcs", strict.addr),
    );
    assert_eq!(
        listed.body["items"],
        json!([]),
        "strict mode created nothing"
    );
}

#[test]
fn null_reads_as_the_default_for_every_kind_of_field() {
    let mock = MockProcess::start(&[]);
    let rest = format!("http://{}/v1beta1/networking/vpcs", mock.addr);
    // Scalar, list and message fields.
    let reply = post_json(
        &rest,
        r#"{"name":"nulls","zone":"US-EAST-04A","hostPrefix":null,"hostPrefixes":null,"vpcPrefixes":null,"ingress":null,"dhcp":null}"#,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["vpc"]["vpcPrefixes"], json!([]));
    // An enum: null reads as UNSPECIFIED, which validation (not the JSON reader) refuses.
    let reply = post_json(
        &rest,
        r#"{"name":"nulls-two","zone":"US-EAST-04A","hostPrefixes":[{"name":"p","type":null,"prefixes":["10.0.0.0/16"]}]}"#,
    );
    assert_eq!(reply.status, 400, "{reply:?}");
    let violations = reply.body["details"][0]["fieldViolations"]
        .as_array()
        .unwrap();
    assert!(
        violations
            .iter()
            .any(|v| v["field"] == "host_prefixes[0].type"),
        "{reply:?}"
    );
    assert!(
        !reply.body["message"]
            .as_str()
            .unwrap()
            .contains("invalid JSON"),
        "{reply:?}"
    );
}

#[test]
fn grpc_over_http1_is_told_it_needs_http2() {
    let mock = MockProcess::start(&[]);
    let url = mock.vpc_method_url("ListVPCs");
    for version in ["--http1.1", "--http2"] {
        let output = run_ok(
            &tool("curl"),
            &[
                "--silent",
                version,
                "-H",
                "content-type: application/grpc",
                "--data-binary",
                "",
                "--write-out",
                "\n%{http_code}",
                &url,
            ],
        );
        let (body, status) = output.rsplit_once('\n').unwrap();
        assert_eq!(status, "505", "{version}: {output}");
        assert!(body.starts_with("gRPC needs HTTP/2"), "{version}: {body}");
    }
}

#[test]
fn buf_curl_over_connect_needs_only_reflection() {
    let mock = MockProcess::start(&[]);
    let base = format!("http://{}", mock.addr);
    let buf = |args: &[&str]| {
        let mut full = vec!["curl", "--http2-prior-knowledge", "--protocol", "connect"];
        full.extend_from_slice(args);
        run_ok(&tool("buf"), &full)
    };
    // No --schema: buf asks server reflection, a Connect bidi stream.
    let methods = buf(&["--list-methods", &base]);
    assert!(
        methods.contains("coreweave.networking.v1beta1.VPCService/CreateVPC"),
        "{methods}"
    );
    let header = auth();
    let created = buf(&[
        "-H",
        &header,
        "-d",
        r#"{"name":"via-reflection","zone":"US-EAST-04A"}"#,
        &format!("{base}/coreweave.networking.v1beta1.VPCService/CreateVPC"),
    ]);
    let created: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["vpc"]["name"], "via-reflection");
}
