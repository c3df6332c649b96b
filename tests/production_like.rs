//! The client's REST transport against a server that answers the documented paths the way
//! production may: extra unknown keys everywhere, enum names this client does not know, the
//! gateway seed's `"status": "True"` condition, an HTML 502 from a proxy, and an empty 503
//! with `Retry-After`. The server records what the client sent, and the tests check that it
//! used only documented methods, paths and keys, as JSON.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    body::{to_bytes, Body},
    extract::State,
    http::{header, Request, StatusCode},
    response::{IntoResponse, Response},
    Router,
};
use coreweave_api::{
    inference::v1alpha1::{
        condition, CreateGatewayRequest, Status as GatewayStatus, UpdateGatewayRequest,
    },
    json::{self, Unknown},
    networking::v1beta1::{vpc, CreateVpcRequest, UpdateVpcRequest},
    Client, ErrorKind, RetryPolicy, Transport, WaitOptions,
};
use serde_json::{json, Value};

const TOKEN: &str = "CW-SECRET-production-like";
const VPC_ID: &str = "0b8f0d8e-3c1a-4a5e-9d7f-2f1e3d4c5b6a";
const GATEWAY_ID: &str = "3f1c2a9e-8b7d-4e6f-a5c4-1d2e3f4a5b6c";

/// The REST API as the public documentation lists it (spec section 1), written out here
/// rather than taken from the client's own table.
const DOCUMENTED: &[(&str, &str)] = &[
    ("POST", "/v1beta1/networking/vpcs"),
    ("GET", "/v1beta1/networking/vpcs"),
    ("GET", "/v1beta1/networking/vpcs/{id}"),
    ("PATCH", "/v1beta1/networking/vpcs/{id}"),
    ("DELETE", "/v1beta1/networking/vpcs/{id}"),
    ("POST", "/v1alpha1/inference/gateways"),
    ("GET", "/v1alpha1/inference/gateways"),
    ("GET", "/v1alpha1/inference/gateways/parameters"),
    ("GET", "/v1alpha1/inference/gateways/{id}"),
    ("PATCH", "/v1alpha1/inference/gateways/{id}"),
    ("DELETE", "/v1alpha1/inference/gateways/{id}"),
];

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    content_type: Option<String>,
    authorization: Option<String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct Server {
    seen: Mutex<Vec<Seen>>,
    /// How many times each `METHOD path` was called.
    calls: Mutex<HashMap<String, usize>>,
}

impl Server {
    fn count(&self, key: &str) -> usize {
        let mut calls = self.calls.lock().unwrap();
        let count = calls.entry(key.to_owned()).or_default();
        *count += 1;
        *count
    }
}

/// A VPC as a newer server might write it: every field, plus keys this client has never
/// heard of.
fn vpc_json(status: &str) -> Value {
    json!({
        "name": "prod-vpc", "zone": "US-EAST-04A", "id": VPC_ID,
        "vpcPrefixes": [{"name": "w", "value": "172.16.0.0/16", "status": "STATUS_AVAILABLE",
                         "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z",
                         "utilization": 0.25}],
        "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00.123456789Z",
        "hostPrefix": "10.16.0.0/18",
        "hostPrefixes": [{"name": "primary", "type": "PRIMARY", "prefixes": ["10.16.0.0/18"],
                          "ipam": null, "reservedRanges": []}],
        "ingress": {"disablePublicServices": false, "allowList": ["0.0.0.0/0"]},
        "egress": {"disablePublicAccess": false},
        "dhcp": null,
        "status": status,
        "labels": {"team": "ml"},
        "etag": "W/\"42\""
    })
}

fn gateway_json(status: &str) -> Value {
    json!({
        "spec": {
            "id": GATEWAY_ID, "name": "prod-gw", "zones": ["US-EAST-04A"],
            "coreWeaveAuth": {}, "organizationId": "org-1",
            "endpointConfiguration": {"additionalDns": [], "tlsPolicy": "MODERN"},
            "bodyBasedRouting": {"apiType": "API_TYPE_OPENAI"},
            "rateLimits": {"rps": 10}
        },
        "status": {
            "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z",
            "status": status,
            "conditions": [{"type": "Ready", "status": "True", "lastUpdateTime": "2025-01-01T00:00:00Z",
                            "reason": "AsExpected", "message": "", "zone": "US-EAST-04A",
                            "observedGeneration": 3}],
            "endpoints": [format!("https://{GATEWAY_ID}.inference.coreweave.com")],
            "replicas": 2
        },
        "kind": "Gateway"
    })
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(State(server): State<Arc<Server>>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default().to_vec();
    let header_text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        content_type: header_text(header::CONTENT_TYPE),
        authorization: header_text(header::AUTHORIZATION),
        body,
    };
    server.seen.lock().unwrap().push(seen.clone());
    let key = format!("{} {}", seen.method, seen.path);
    let count = server.count(&key);
    let vpc_path = format!("/v1beta1/networking/vpcs/{VPC_ID}");
    let gateway_path = format!("/v1alpha1/inference/gateways/{GATEWAY_ID}");
    match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/v1beta1/networking/vpcs") => json_response(
            StatusCode::OK,
            json!({"vpc": vpc_json("STATUS_CREATING"), "requestId": "r-1"}),
        ),
        ("GET", "/v1beta1/networking/vpcs") => json_response(
            StatusCode::OK,
            json!({"items": [vpc_json("STATUS_READY")], "nextPageToken": ""}),
        ),
        // First a status from the future, then READY: the waiter keeps waiting on the first.
        ("GET", path) if path == vpc_path => {
            let status = if count == 1 {
                "STATUS_HIBERNATING"
            } else {
                "STATUS_READY"
            };
            json_response(StatusCode::OK, json!({"vpc": vpc_json(status)}))
        }
        ("PATCH", path) if path == vpc_path => {
            json_response(StatusCode::OK, json!({"vpc": vpc_json("STATUS_UPDATING")}))
        }
        // A proxy's HTML 502 first; the delete is retried.
        ("DELETE", path) if path == vpc_path && count == 1 => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        ("DELETE", path) if path == vpc_path => {
            json_response(StatusCode::OK, json!({"vpc": vpc_json("STATUS_DELETING")}))
        }
        ("GET", "/v1beta1/networking/vpcs/missing") => json_response(
            StatusCode::NOT_FOUND,
            json!({"code": 5, "message": "VPC missing not found", "traceId": "abc",
                   "details": [
                       {"@type": "type.googleapis.com/google.rpc.ResourceInfo",
                        "resourceType": "coreweave.networking.v1beta1.VPC", "resourceName": "missing",
                        "owner": "", "description": "", "region": "us-east"},
                       {"@type": "type.googleapis.com/coreweave.internal.Trace", "span": "x"}]}),
        ),
        // An empty 503 that asks for a one-second pause; the create is retried (its id is
        // fixed by the client, so this is safe).
        ("POST", "/v1alpha1/inference/gateways") if count == 1 => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "",
        )
            .into_response(),
        ("POST", "/v1alpha1/inference/gateways") => json_response(
            StatusCode::OK,
            json!({"gateway": gateway_json("STATUS_CREATING")}),
        ),
        ("GET", "/v1alpha1/inference/gateways") => json_response(
            StatusCode::OK,
            json!({"items": [gateway_json("STATUS_READY")]}),
        ),
        ("GET", "/v1alpha1/inference/gateways/parameters") => json_response(
            StatusCode::OK,
            json!({"zones": ["US-EAST-04A"], "gpuTypes": ["H100"]}),
        ),
        ("GET", path) if path == gateway_path => json_response(
            StatusCode::OK,
            json!({"gateway": gateway_json("STATUS_READY")}),
        ),
        ("PATCH", path) if path == gateway_path => json_response(
            StatusCode::OK,
            json!({"gateway": gateway_json("STATUS_UPDATING")}),
        ),
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({"code": 5, "message": format!("no route {key}"), "details": []}),
        ),
    }
}

async fn start() -> (Arc<Server>, String) {
    let server = Arc::new(Server::default());
    let app = Router::new()
        .fallback(handle)
        .with_state(Arc::clone(&server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, format!("http://{addr}"))
}

/// A client configured the way a user's would be: only the environment, with the endpoint
/// pointed at the test server and no transport chosen.
fn client_from_env(endpoint: &str) -> Client {
    let client = Client::from_env_with(|key| match key {
        "COREWEAVE_API_TOKEN" => Some(TOKEN.to_owned()),
        "COREWEAVE_API_ENDPOINT" => Some(endpoint.to_owned()),
        _ => None,
    })
    .unwrap();
    assert_eq!(client.transport(), Transport::Rest);
    client.with_retry_policy(RetryPolicy {
        initial_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    })
}

fn documented(method: &str, path: &str) -> bool {
    DOCUMENTED.iter().any(|(m, template)| {
        let template: Vec<&str> = template.split('/').collect();
        let actual: Vec<&str> = path.split('/').collect();
        *m == method
            && template.len() == actual.len()
            && template
                .iter()
                .zip(&actual)
                .all(|(t, a)| t == a || (*t == "{id}" && !a.is_empty() && *a != "parameters"))
    })
}

/// Every key of a JSON value, at every depth.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                out.push(key.clone());
                keys(item, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, out)),
        _ => {}
    }
}

/// Checks that a request body is JSON that `T` reads with no unknown key, in camelCase.
fn assert_known_camel_case<T: prost::Message + prost::Name + Default>(seen: &Seen) {
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/json"),
        "{seen:?}"
    );
    json::from_slice::<T>(&seen.body, Unknown::Reject)
        .unwrap_or_else(|e| panic!("{} {}: {e}", seen.method, seen.path));
    let value: Value = serde_json::from_slice(&seen.body).unwrap();
    let mut all = Vec::new();
    keys(&value, &mut all);
    assert!(
        all.iter().all(|k| !k.contains('_')),
        "snake_case key in {value}"
    );
}

#[tokio::test]
async fn the_client_reads_what_production_may_send_and_sends_only_documented_json() {
    let (server, endpoint) = start().await;
    let client = client_from_env(&endpoint);
    let wait = WaitOptions::new(Duration::from_secs(10)).poll_interval(Duration::from_millis(10));

    // VPCs: unknown keys everywhere, an unknown status while waiting.
    let vpc = client
        .vpcs()
        .create("prod-vpc")
        .zone("US-EAST-04A")
        .vpc_prefix("w", "172.16.0.0/16")
        .send()
        .await
        .unwrap();
    assert_eq!(vpc.id, VPC_ID);
    assert_eq!(vpc.status(), vpc::Status::Creating);
    assert_eq!(vpc.updated_at.unwrap().nanos, 123_456_789);
    let ready = client.vpcs().wait_until_ready(VPC_ID, wait).await.unwrap();
    assert_eq!(ready.status(), vpc::Status::Ready);
    assert_eq!(client.vpcs().list().await.unwrap().len(), 1);
    let updated = client
        .vpcs()
        .update(VPC_ID)
        .disable_public_services(true)
        .dns_servers(["1.1.1.1"])
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), vpc::Status::Updating);
    let deleted = client.vpcs().delete(VPC_ID).await.unwrap();
    assert_eq!(deleted.status(), vpc::Status::Deleting);

    // Errors: a google.rpc.Status with extra keys and a detail type this client does not
    // know still gives the kind, message and the details it does know.
    let error = client.vpcs().get("missing").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(error.message(), "VPC missing not found");
    assert_eq!(error.resource_info().unwrap().resource_name, "missing");
    assert_eq!(error.http_status(), Some(404));

    // Gateways: Retry-After is honoured, the seed's "True" reads as UNSPECIFIED.
    let started = Instant::now();
    let gateway = client
        .gateways()
        .create("prod-gw")
        .id(GATEWAY_ID)
        .core_weave_auth()
        .body_based_routing()
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
    assert_eq!(gateway.status.unwrap().status(), GatewayStatus::Creating);
    let ready = client
        .gateways()
        .wait_until_ready(GATEWAY_ID, wait)
        .await
        .unwrap();
    let condition = &ready.status.as_ref().unwrap().conditions[0];
    assert_eq!(condition.status(), condition::Status::Unspecified);
    assert_eq!(condition.reason, "AsExpected");
    let listed = client
        .gateways()
        .list()
        .updated_after(SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let spec = ready.spec.unwrap();
    client
        .gateways()
        .edit(&spec)
        .name("renamed")
        .send()
        .await
        .unwrap();
    let zones = client.gateways().parameters().await.unwrap().zones;
    assert_eq!(zones, ["US-EAST-04A"]);

    // What the client sent: documented methods and paths only, JSON only, the token on
    // every request, known camelCase keys, the mask as one string, ids only in the path.
    let seen = server.seen.lock().unwrap().clone();
    assert!(seen.len() >= 14, "{seen:#?}");
    for request in &seen {
        assert!(
            documented(&request.method, &request.path),
            "undocumented {} {}",
            request.method,
            request.path
        );
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        let content_type = request.content_type.as_deref().unwrap_or("");
        assert!(!content_type.contains("grpc") && !content_type.contains("proto"));
        if request.method == "GET" || request.method == "DELETE" {
            assert!(request.body.is_empty(), "{request:?}");
        }
    }
    let find = |method: &str, prefix: &str| {
        seen.iter()
            .find(|s| s.method == method && s.path.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {method} {prefix}"))
    };
    assert_known_camel_case::<CreateVpcRequest>(find("POST", "/v1beta1/networking/vpcs"));
    let patch = find("PATCH", "/v1beta1/networking/vpcs/");
    assert_known_camel_case::<UpdateVpcRequest>(patch);
    let body: Value = serde_json::from_slice(&patch.body).unwrap();
    assert_eq!(
        body["updateMask"],
        "ingress.disablePublicServices,dhcp.dns.servers"
    );
    assert!(
        body.get("id").is_none(),
        "the id belongs in the path: {body}"
    );
    let create = find("POST", "/v1alpha1/inference/gateways");
    assert_known_camel_case::<CreateGatewayRequest>(create);
    let body: Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(
        body["id"], GATEWAY_ID,
        "a gateway create carries its id in the body"
    );
    assert_known_camel_case::<UpdateGatewayRequest>(find("PATCH", "/v1alpha1/inference/gateways/"));
    let list = seen
        .iter()
        .find(|s| s.method == "GET" && s.path == "/v1alpha1/inference/gateways")
        .unwrap();
    assert_eq!(
        list.query.as_deref(),
        Some("updatedAfter=2025-01-01T00%3A00%3A00Z")
    );
    let deletes = seen.iter().filter(|s| s.method == "DELETE").count();
    assert_eq!(deletes, 2, "the delete after the HTML 502 was retried once");
}

#[tokio::test]
async fn a_proxy_error_page_is_a_clear_error_with_its_http_status() {
    let (_server, endpoint) = start().await;
    let client = client_from_env(&endpoint).with_retry_policy(RetryPolicy::no_retries());
    let error = client.vpcs().delete(VPC_ID).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    assert_eq!(error.http_status(), Some(502));
    assert!(error.is_retryable());
    assert_eq!(
        error.to_string(),
        "UNAVAILABLE: DeleteVPC: HTTP 502 Bad Gateway: <html><body><h1>502 Bad Gateway</h1></body></html>"
    );
}

#[tokio::test]
async fn an_empty_id_is_refused_before_it_can_name_another_path() {
    let (server, endpoint) = start().await;
    let client = client_from_env(&endpoint);
    let error = client.vpcs().delete("").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(error.field_violations()[0].field, "id");
    assert!(server.seen.lock().unwrap().is_empty());
}
