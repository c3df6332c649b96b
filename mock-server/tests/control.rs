//! The control plane: in-process through the `MockServer` handle, and over HTTP against the
//! binary with curl, as a Python or shell user would. Everything is scoped to the bearer
//! token's organization: two organizations sharing one mock never disturb each other.

mod common;

use std::time::Duration;

use common::{
    process::{run_ok, tool, MockProcess},
    wire::{control, control_with},
    *,
};
use coreweave_api::networking::v1beta1::{vpc, CreateVpcRequest, GetVpcRequest, ListVpCsRequest};
use coreweave_mock::{CallFilter, Fault, Method, MockServer, Scope};
use serde_json::{json, Value};
use tonic::Code;

fn create(name: &str) -> CreateVpcRequest {
    CreateVpcRequest {
        name: name.into(),
        zone: "US-EAST-04A".into(),
        ..CreateVpcRequest::default()
    }
}

#[tokio::test]
async fn two_organizations_never_touch_each_other() {
    let mock = start(MockServer::builder().transition_delay(Duration::from_secs(3600))).await;
    let (a, b) = (unique_token("org-a"), unique_token("org-b"));
    let (mut stub_a, mut stub_b) = (vpc_stub(&mock, &a), vpc_stub(&mock, &b));
    let vpc_a = answered(stub_a.create_vpc(create("a")).await);
    let vpc_b = answered(stub_b.create_vpc(create("b")).await);

    // A fault for A's organization: B's calls pass.
    mock.faults()
        .add(Fault::fail(Method::ListVpcs, 5, Code::Unavailable).for_token(&a))
        .unwrap();
    assert!(stub_b.list_vp_cs(ListVpCsRequest {}).await.is_ok());
    let status = stub_a.list_vp_cs(ListVpCsRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);

    // Advancing A's clock settles A's VPC only.
    let before = mock.clock(&Scope::token(&b)).now;
    mock.advance_clock(&Scope::token(&a), Duration::from_secs(7200))
        .unwrap();
    let status_of = |vpc: Option<coreweave_api::networking::v1beta1::Vpc>| vpc.unwrap().status();
    let read_a = stub_a
        .get_vpc(GetVpcRequest {
            id: vpc_a.id.clone(),
        })
        .await
        .unwrap();
    let read_b = stub_b
        .get_vpc(GetVpcRequest {
            id: vpc_b.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(status_of(read_a.into_inner().vpc), vpc::Status::Ready);
    assert_eq!(status_of(read_b.into_inner().vpc), vpc::Status::Creating);
    let after = mock.clock(&Scope::token(&b)).now;
    assert!(after.duration_since(before).unwrap() < Duration::from_secs(60));

    // The journal is per organization.
    let calls_a = mock.calls(&Scope::token(&a), &CallFilter::default());
    assert!(calls_a.iter().all(|c| c.org.as_str() == mock.whoami(&a)));
    let failed = CallFilter {
        code: Some(Code::Unavailable),
        ..CallFilter::default()
    };
    assert_eq!(mock.calls(&Scope::token(&a), &failed).len(), 1);
    assert!(mock.calls(&Scope::token(&b), &failed).is_empty());

    // Resetting A empties A, clears its faults and clock; B keeps everything.
    mock.reset(&Scope::token(&a));
    let listed_a = stub_a
        .list_vp_cs(ListVpCsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(listed_a.items.is_empty());
    let listed_b = stub_b
        .list_vp_cs(ListVpCsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed_b.items.len(), 1);
    assert!(mock.faults().list(None).is_empty());
    assert_eq!(
        mock.calls(&Scope::token(&a), &CallFilter::default()).len(),
        1
    );
}

/// An error reply's message.
fn said(reply: &Value) -> &str {
    reply["message"].as_str().unwrap_or_default()
}

#[test]
fn the_whole_server_scope_is_only_had_by_asking() {
    let open = MockProcess::start(&[]);
    let reset = |mock: &MockProcess, headers: &[&str]| {
        control_with(mock, "POST", "/_mock/v1/reset", headers, None)
    };
    let (status, refused) = reset(&open, &[]);
    assert_eq!(status, 401, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("Authorization: Bearer <token>")
            && message.contains("x-mock-scope: server"),
        "names both ways: {message}"
    );
    assert_eq!(reset(&open, &["x-mock-scope: everything"]).0, 400);
    let both = ["x-mock-scope: server", "Authorization: Bearer CW-SECRET-x"];
    assert_eq!(reset(&open, &both).0, 400, "one scope at a time");
    let (status, done) = reset(&open, &["x-mock-scope: server"]);
    assert_eq!((status, &done["reset"]), (200, &json!("server")));

    let guarded = MockProcess::start(&["--token", "CW-SECRET-t1", "--admin-token", "CW-ADMIN"]);
    let (status, refused) = reset(&guarded, &[]);
    assert_eq!(status, 401);
    assert!(said(&refused).contains("--admin-token"), "{refused}");
    let (status, refused) = reset(&guarded, &["x-mock-scope: server"]);
    assert_eq!(
        status, 401,
        "with --token the header is not enough: {refused}"
    );
    assert_eq!(
        reset(&guarded, &["Authorization: Bearer CW-SECRET-wrong"]).0,
        401
    );
    let (status, tenant) = reset(&guarded, &["Authorization: Bearer CW-SECRET-t1"]);
    assert_eq!(status, 200);
    assert!(tenant["reset"]["organizationId"].is_string(), "{tenant}");
    let (status, admin) = reset(&guarded, &["Authorization: Bearer CW-ADMIN"]);
    assert_eq!((status, &admin["reset"]), (200, &json!("server")));
    let (status, _) = rest(
        &guarded,
        "GET",
        "/v1beta1/networking/vpcs",
        "CW-ADMIN",
        &[],
        None,
    );
    assert_eq!(status, 401, "the admin token is for the control API only");
}

/// A REST call with a token and extra headers; returns status and body.
fn rest(
    mock: &MockProcess,
    method: &str,
    path: &str,
    token: &str,
    headers: &[&str],
    body: Option<&str>,
) -> (u16, Value) {
    let url = format!("http://{}{path}", mock.addr);
    let auth = format!("Authorization: Bearer {token}");
    let mut args = vec![
        "--silent",
        "--write-out",
        "\n%{http_code}",
        "-X",
        method,
        "-H",
        &auth,
    ];
    for header in headers {
        args.extend(["-H", header]);
    }
    if let Some(body) = body {
        args.extend(["-H", "content-type: application/json", "-d", body]);
    }
    args.push(&url);
    let output = run_ok(&tool("curl"), &args);
    let (body, status) = output.rsplit_once('\n').unwrap();
    (
        status.parse().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[test]
fn the_control_api_over_http() {
    let mock = MockProcess::start(&["--transition-delay", "1h"]);
    let (a, b) = ("CW-SECRET-control-a", "CW-SECRET-control-b");
    let vpcs = "/v1beta1/networking/vpcs";
    let body = r#"{"name":"v","zone":"US-EAST-04A"}"#;

    // whoami names the organization; without a token it is a 401.
    let (status, who) = control(&mock, "GET", "/_mock/v1/whoami", Some(a), None);
    assert_eq!(status, 200);
    let org_a = who["organizationId"].as_str().unwrap().to_owned();
    assert_eq!(control(&mock, "GET", "/_mock/v1/whoami", None, None).0, 401);

    // Create in both; advance A's clock; A's VPC is READY, B's still CREATING.
    let (_, created_a) = rest(&mock, "POST", vpcs, a, &[], Some(body));
    let (_, created_b) = rest(&mock, "POST", vpcs, b, &[], Some(body));
    let (status, clock) = control(
        &mock,
        "POST",
        "/_mock/v1/clock/advance",
        Some(a),
        Some(json!({"by": "2h"})),
    );
    assert_eq!(status, 200, "{clock}");
    assert_eq!(clock["frozen"], false);
    let id_a = created_a["vpc"]["id"].as_str().unwrap();
    let id_b = created_b["vpc"]["id"].as_str().unwrap();
    assert_eq!(
        rest(&mock, "GET", &format!("{vpcs}/{id_a}"), a, &[], None).1["vpc"]["status"],
        "STATUS_READY"
    );
    assert_eq!(
        rest(&mock, "GET", &format!("{vpcs}/{id_b}"), b, &[], None).1["vpc"]["status"],
        "STATUS_CREATING"
    );

    // A fault for A, from JSON; B is unaffected; it is listed with what is left of it.
    let fault = json!({"method": "ListVPCs", "kind": "fail", "code": "UNAVAILABLE", "times": 2});
    let (status, added) = control(&mock, "POST", "/_mock/v1/faults", Some(a), Some(fault));
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["fault"]["organizationId"], org_a.as_str());
    assert_eq!(rest(&mock, "GET", vpcs, b, &[], None).0, 200);
    assert_eq!(rest(&mock, "GET", vpcs, a, &[], None).0, 503);
    let (_, listed) = control(&mock, "GET", "/_mock/v1/faults", Some(a), None);
    assert_eq!(listed["faults"][0]["remaining"], 1);
    assert_eq!(
        control(&mock, "GET", "/_mock/v1/faults", Some(b), None).1["faults"],
        json!([])
    );
    control(&mock, "DELETE", "/_mock/v1/faults", Some(a), None);
    assert_eq!(rest(&mock, "GET", vpcs, a, &[], None).0, 200);

    // Bad input is a 400 that names the problem.
    let (status, error) = control(
        &mock,
        "POST",
        "/_mock/v1/faults",
        None,
        Some(json!({"method": "CreateVpc"})),
    );
    assert_eq!(status, 400);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("unknown method \"CreateVpc\"") && message.contains("CreateVPC"),
        "{message}"
    );
    let (status, error) = control(
        &mock,
        "POST",
        "/_mock/v1/faults",
        None,
        Some(json!({"method": "GetVPC", "code": "SOMETIMES"})),
    );
    assert_eq!(status, 400);
    assert!(said(&error).contains("UNAVAILABLE"), "{error}");
    let (status, _) = control(
        &mock,
        "POST",
        "/_mock/v1/clock/advance",
        Some(a),
        Some(json!({"by": "soon"})),
    );
    assert_eq!(status, 400);

    // One call steered by headers, with no control call at all.
    let (status, _) = rest(
        &mock,
        "GET",
        vpcs,
        b,
        &["x-mock-fail: PERMISSION_DENIED"],
        None,
    );
    assert_eq!(status, 403);
    let (status, error) = rest(&mock, "GET", vpcs, b, &["x-mock-fail: nope"], None);
    assert_eq!(status, 400, "{error}");
    let (status, _) = rest(
        &mock,
        "POST",
        vpcs,
        b,
        &["x-mock-lose-reply: true"],
        Some(r#"{"name":"lost","zone":"US-EAST-04A"}"#),
    );
    assert_eq!(status, 503);
    let (_, listed) = rest(&mock, "GET", vpcs, b, &[], None);
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"lost"),
        "the lost reply's create was applied: {names:?}"
    );

    // The journal: B's calls, filtered, without tokens.
    let (status, journal) = control(
        &mock,
        "GET",
        "/_mock/v1/calls?method=ListVPCs&code=PERMISSION_DENIED",
        Some(b),
        None,
    );
    assert_eq!(status, 200);
    let calls = journal["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{journal}");
    assert_eq!(calls[0]["protocol"], "rest");
    assert_eq!(calls[0]["code"], "PERMISSION_DENIED");
    assert!(!journal.to_string().contains("CW-SECRET"));
    // Ignored JSON keys are in the journal too.
    rest(
        &mock,
        "POST",
        vpcs,
        b,
        &[],
        Some(r#"{"name":"typo","zone":"US-EAST-04A","colour":"red"}"#),
    );
    let (_, journal) = control(
        &mock,
        "GET",
        "/_mock/v1/calls?method=CreateVPC",
        Some(b),
        None,
    );
    let last = journal["calls"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["ignoredKeys"], json!(["colour"]), "{last}");

    // A's gateway forced into FAILED: by A, not by B; reads report it; A's reset clears it.
    let gateways = "/v1alpha1/inference/gateways";
    let (status, created) = rest(
        &mock,
        "POST",
        gateways,
        a,
        &[],
        Some(r#"{"name":"doomed","coreWeaveAuth":{},"pathBasedRouting":{}}"#),
    );
    assert_eq!(status, 200, "{created}");
    let id = created["gateway"]["spec"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let force_path = format!("/_mock/v1/resources/{id}/status");
    let failed = json!({"status": "STATUS_FAILED", "message": "no capacity"});
    let (status, refused) = control(&mock, "POST", &force_path, Some(b), Some(failed.clone()));
    assert_eq!(
        status, 404,
        "another tenant's gateway is not in B's scope: {refused}"
    );
    let (status, unknown) = control(
        &mock,
        "POST",
        "/_mock/v1/resources/6f2c51d4-93a1-4b1e-8d57-2a0ec3f19b44/status",
        Some(a),
        Some(failed.clone()),
    );
    assert_eq!(status, 404, "{unknown}");
    let (status, bad) = control(
        &mock,
        "POST",
        &force_path,
        Some(a),
        Some(json!({"status": "STATUS_READY"})),
    );
    assert_eq!(status, 400, "{bad}");
    let (status, forced) = control(&mock, "POST", &force_path, Some(a), Some(failed));
    assert_eq!(status, 200, "{forced}");
    let (_, read) = rest(&mock, "GET", &format!("{gateways}/{id}"), a, &[], None);
    assert_eq!(
        read["gateway"]["status"]["status"], "STATUS_FAILED",
        "{read}"
    );
    let (_, state) = control(&mock, "GET", "/_mock/v1/state", Some(a), None);
    let org = state["organizations"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(
        org["gateways"][0]["lifecycle"]["forced"],
        json!({"status": "STATUS_FAILED", "message": "no capacity"}),
        "the snapshot keeps the forced state"
    );
    let (status, loaded) = control(
        &mock,
        "PUT",
        "/_mock/v1/state",
        Some(a),
        Some(state.clone()),
    );
    assert_eq!(status, 200, "{loaded}");
    let (_, read) = rest(&mock, "GET", &format!("{gateways}/{id}"), a, &[], None);
    assert_eq!(
        read["gateway"]["status"]["status"], "STATUS_FAILED",
        "loaded back: {read}"
    );
    let mut bad_state = state;
    let org_key = bad_state["organizations"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    bad_state["organizations"][&org_key]["gateways"][0]["lifecycle"]["forced"]["status"] =
        json!("STATUS_READY");
    let (status, refused) = control(&mock, "PUT", "/_mock/v1/state", Some(a), Some(bad_state));
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("lifecycle.forced"),
        "the error names where: {refused}"
    );

    // Reset A: empty; B untouched.
    assert_eq!(
        control(&mock, "POST", "/_mock/v1/reset", Some(a), None).0,
        200
    );
    assert_eq!(rest(&mock, "GET", vpcs, a, &[], None).1["items"], json!([]));
    let (status, _) = control(
        &mock,
        "POST",
        &force_path,
        Some(a),
        Some(json!({"status": "STATUS_ERROR"})),
    );
    assert_eq!(
        status, 404,
        "the reset deleted the gateway and its forced state"
    );
    assert_eq!(
        rest(&mock, "GET", vpcs, b, &[], None).1["items"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "B keeps its VPCs: v, lost and typo"
    );
    // Reset without a token: the whole server.
    control(&mock, "POST", "/_mock/v1/reset", None, None);
    assert_eq!(rest(&mock, "GET", vpcs, b, &[], None).1["items"], json!([]));
}

#[test]
fn healthz_and_no_control() {
    let mock = MockProcess::start(&["--no-control", "--clock", "frozen"]);
    let url = format!("http://{}/healthz", mock.addr);
    let output = run_ok(
        &tool("curl"),
        &["--silent", "--write-out", "%{http_code}", &url],
    );
    assert_eq!(output, "SERVING\n200");
    let (status, off) = control(&mock, "POST", "/_mock/v1/reset", None, None);
    assert_eq!(status, 404);
    assert!(said(&off).contains("--no-control"), "{off}");
    let (status, refused) = control(&mock, "POST", "/healthz", None, None);
    assert_eq!(status, 405, "{refused}");
    assert!(said(&refused).contains("POST"), "{refused}");
}

#[test]
fn every_control_route_is_listed_and_every_wrong_method_is_a_json_405() {
    let mock = MockProcess::start(&[]);
    let (status, listing) = control(&mock, "GET", "/_mock/v1/nope", None, None);
    assert_eq!(status, 404, "{listing}");
    let message = listing["message"].as_str().unwrap().to_owned();
    let routes = message.split_once("the control routes are: ").unwrap().1;
    let mut checked = 0;
    for route in routes.split("; ") {
        let (methods_and_path, _) = route.split_once(" (").unwrap();
        let (methods, path) = methods_and_path.rsplit_once(' ').unwrap();
        let path = path.replace("{id}", "6f2c51d4-93a1-4b1e-8d57-2a0ec3f19b44");
        // The live stream never ends by itself; a bad filter shows the route is there.
        let asked = match path.ends_with("/stream") {
            true => format!("{path}?code=NO_SUCH_CODE"),
            false => path.clone(),
        };
        for method in methods.split(", ") {
            let (status, answer) = control(&mock, method, &asked, Some("CW-SECRET-r"), None);
            assert!(
                ![404, 405].contains(&status),
                "{method} {path}: {status} {answer}"
            );
            checked += 1;
        }
        let (status, refused) = control(&mock, "PATCH", &path, Some("CW-SECRET-r"), None);
        assert_eq!(status, 405, "PATCH {path}: {refused}");
        assert!(said(&refused).contains("PATCH"), "{refused}");
    }
    assert!(checked >= 11, "{message}");
}

#[test]
fn a_frozen_clock_moves_only_when_advanced() {
    let mock = MockProcess::start(&["--clock", "frozen"]);
    let (_, first) = control(&mock, "GET", "/_mock/v1/clock", None, None);
    std::thread::sleep(Duration::from_millis(20));
    let (_, second) = control(&mock, "GET", "/_mock/v1/clock", None, None);
    assert_eq!(first, second);
    assert_eq!(first["frozen"], true);
    let (_, advanced) = control(
        &mock,
        "POST",
        "/_mock/v1/clock/advance",
        None,
        Some(json!({"by": "1s"})),
    );
    assert_ne!(advanced["now"], first["now"]);
}

#[test]
fn state_round_trips_and_a_bad_snapshot_changes_nothing() {
    let mock = MockProcess::start(&["--transition-delay", "0s"]);
    let token = "CW-SECRET-snapshot";
    let vpcs = "/v1beta1/networking/vpcs";
    rest(
        &mock,
        "POST",
        vpcs,
        token,
        &[],
        Some(
            r#"{"name":"kept","zone":"US-EAST-04A","vpcPrefixes":[{"name":"w","value":"172.16.0.0/16"}]}"#,
        ),
    );
    rest(
        &mock,
        "POST",
        "/v1alpha1/inference/gateways",
        token,
        &[],
        Some(r#"{"name":"g","coreWeaveAuth":{},"pathBasedRouting":{}}"#),
    );
    let (status, exported) = control(&mock, "GET", "/_mock/v1/state", Some(token), None);
    assert_eq!(status, 200);
    assert_eq!(exported["version"], 1);
    let (_, before) = rest(&mock, "GET", vpcs, token, &[], None);

    control(&mock, "POST", "/_mock/v1/reset", Some(token), None);
    assert_eq!(
        rest(&mock, "GET", vpcs, token, &[], None).1["items"],
        json!([])
    );
    let (status, loaded) = control(
        &mock,
        "PUT",
        "/_mock/v1/state",
        Some(token),
        Some(exported.clone()),
    );
    assert_eq!(status, 200, "{loaded}");
    assert_eq!(rest(&mock, "GET", vpcs, token, &[], None).1, before);
    assert_eq!(
        control(&mock, "GET", "/_mock/v1/state", Some(token), None).1,
        exported
    );

    // A bad snapshot: a 400 that says where, and nothing changes.
    let mut bad = exported.clone();
    let org = bad["organizations"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    bad["organizations"][&org]["vpcs"][0]["vpc"]["name"] = json!(5);
    let (status, error) = control(&mock, "PUT", "/_mock/v1/state", Some(token), Some(bad));
    assert_eq!(status, 400);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("organizations.{org}.vpcs[0].vpc.name")),
        "{message}"
    );
    let (status, error) = control(
        &mock,
        "PUT",
        "/_mock/v1/state",
        Some(token),
        Some(json!({"version": 2})),
    );
    assert_eq!(status, 400);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("unsupported version 2"));
    // Another organization's snapshot cannot be loaded into mine.
    let mut foreign = exported.clone();
    let state = foreign["organizations"][&org].take();
    foreign["organizations"] = json!({"00000000-0000-0000-0000-000000000001": state});
    assert_eq!(
        control(&mock, "PUT", "/_mock/v1/state", Some(token), Some(foreign)).0,
        400
    );
    assert_eq!(rest(&mock, "GET", vpcs, token, &[], None).1, before);
}

#[test]
fn a_seed_file_preloads_state_and_a_bad_one_stops_the_start() {
    let source = MockProcess::start(&["--transition-delay", "0s"]);
    let token = "CW-SECRET-seed";
    rest(
        &source,
        "POST",
        "/v1beta1/networking/vpcs",
        token,
        &[],
        Some(r#"{"name":"seeded","zone":"US-EAST-04A"}"#),
    );
    let (_, snapshot) = control(&source, "GET", "/_mock/v1/state", None, None);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("coreweave-mock-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.json");
    std::fs::write(&seed, snapshot.to_string()).unwrap();

    let seeded = MockProcess::start(&["--seed", seed.to_str().unwrap()]);
    let (_, listed) = rest(&seeded, "GET", "/v1beta1/networking/vpcs", token, &[], None);
    assert_eq!(listed["items"][0]["name"], "seeded");

    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"version": 1, "organizations": {"not-a-uuid": {}}}"#,
    )
    .unwrap();
    let output = std::process::Command::new(common::process::mock_binary())
        .args(["--listen", "127.0.0.1:0", "--seed", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.json") && stderr.contains("not-a-uuid"),
        "{stderr}"
    );

    // A seed whose VPC no create would accept stops the start too, naming the file.
    let unruly = dir.join("unruly.json");
    let org = "6f2c51d4-93a1-4b1e-8d57-2a0ec3f19b44";
    let snapshot = json!({"version": 1, "organizations": {org: {"vpcs": [{
        "vpc": {"id": "0b6f6f43-3d6e-4c55-8f9c-0d5e2e2b8a11", "name": "Bad_Name", "zone": "US-EAST-04A"},
        "lifecycle": {"createdAt": "2025-01-01T00:00:00Z", "phase": "CREATING"}
    }]}}});
    std::fs::write(&unruly, snapshot.to_string()).unwrap();
    let output = std::process::Command::new(common::process::mock_binary())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed",
            unruly.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unruly.json") && stderr.contains("name"),
        "{stderr}"
    );
}

#[test]
fn metrics_count_the_calls_made() {
    let mock = MockProcess::start(&["--transition-delay", "0s"]);
    let token = "CW-SECRET-metrics";
    rest(
        &mock,
        "POST",
        "/v1beta1/networking/vpcs",
        token,
        &[],
        Some(r#"{"name":"m","zone":"US-EAST-04A"}"#),
    );
    rest(
        &mock,
        "GET",
        "/v1beta1/networking/vpcs/missing",
        token,
        &[],
        None,
    );
    rest(
        &mock,
        "GET",
        "/v1beta1/networking/vpcs/missing",
        token,
        &[],
        None,
    );
    let url = format!("http://{}/metrics", mock.addr);
    let text = run_ok(&tool("curl"), &["--silent", &url]);
    for line in [
        r#"coreweave_mock_calls_total{method="CreateVPC",protocol="rest",code="OK"} 1"#,
        r#"coreweave_mock_calls_total{method="GetVPC",protocol="rest",code="NOT_FOUND"} 2"#,
        r#"coreweave_mock_call_latency_seconds_count{method="GetVPC"} 2"#,
        r#"coreweave_mock_resources{kind="vpc",status="STATUS_READY"} 1"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from:\n{text}"
        );
    }
}

#[tokio::test]
async fn healthz_turns_503_once_shutdown_begins() {
    let mock = start(MockServer::builder().shutdown_notice(Duration::from_millis(800))).await;
    let addr = mock.addr();
    let healthz = move || async move {
        let url = format!("http://{addr}/healthz");
        let output = tokio::process::Command::new(tool("curl"))
            .args(["--silent", "--write-out", "%{http_code}", &url])
            .output()
            .await
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(healthz().await, "SERVING\n200");
    let stopping = tokio::spawn(mock.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(healthz().await, "NOT_SERVING\n503");
    stopping.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_held_resource_stays_in_transition_until_released() {
    let (mock, clock) = clocked_mock(Duration::from_secs(10)).await;
    let token = unique_token("hold");
    let mut stub = vpc_stub(&mock, &token);
    let vpc = answered(stub.create_vpc(create("held")).await);
    let status_url = format!(
        "http://{}/_mock/v1/resources/{}/status",
        mock.addr(),
        vpc.id
    );
    let post = |body: &'static str| {
        let url = status_url.clone();
        let auth = format!("Authorization: Bearer {token}");
        async move {
            let output = tokio::process::Command::new(tool("curl"))
                .args([
                    "--silent",
                    "--write-out",
                    "\n%{http_code}",
                    "-X",
                    "POST",
                    "-H",
                    &auth,
                ])
                .args(["-H", "content-type: application/json", "-d", body, &url])
                .output()
                .await
                .unwrap();
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
    };
    let status = |stub: &mut VpcStub| {
        let mut stub = stub.clone();
        let id = vpc.id.clone();
        async move {
            let vpc = stub
                .get_vpc(GetVpcRequest { id })
                .await
                .unwrap()
                .into_inner()
                .vpc;
            vpc.unwrap().status()
        }
    };
    let held = post(r#"{"hold": true}"#).await;
    assert!(held.ends_with("200"), "{held}");
    clock.advance(Duration::from_secs(3600));
    assert_eq!(status(&mut stub).await, vpc::Status::Creating);
    assert!(post(r#"{"hold": false}"#).await.ends_with("200"));
    clock.advance(Duration::from_secs(10));
    assert_eq!(status(&mut stub).await, vpc::Status::Ready);
    // Once settled, there is nothing to hold.
    let refused = post(r#"{"hold": true}"#).await;
    assert!(refused.ends_with("400"), "{refused}");
}

type VpcStub = coreweave_api::networking::v1beta1::vpc_service_client::VpcServiceClient<Authed>;

#[tokio::test]
async fn the_handle_exports_and_loads_state() {
    let mock = instant_mock().await;
    let token = unique_token("handle-state");
    let scope = Scope::token(&token);
    let mut stub = vpc_stub(&mock, &token);
    let vpc = answered(stub.create_vpc(create("kept")).await);
    let snapshot = mock.state(&scope);
    mock.reset(&scope);
    assert!(list_vpcs(&mut stub).await.is_empty());
    mock.load_state(&scope, &snapshot).unwrap();
    let listed = list_vpcs(&mut stub).await;
    assert_eq!(listed[0].id, vpc.id);
    assert!(mock.load_state(&scope, &json!({"version": 9})).is_err());
    assert_eq!(mock.state(&scope), snapshot);
    // Nothing to hold once settled.
    assert!(mock.hold(&scope, &vpc.id, true).is_err());
}

#[test]
fn the_control_plane_s_flags_work_from_the_environment() {
    let mock = MockProcess::start_with_env(
        &[],
        &[
            ("COREWEAVE_MOCK_TOKENS", "CW-SECRET-e1"),
            ("COREWEAVE_MOCK_ADMIN_TOKEN", "CW-ADMIN-env"),
            ("COREWEAVE_MOCK_ALLOWED_HOSTS", "mock"),
            ("COREWEAVE_MOCK_CORS_ORIGINS", "http://localhost:3000"),
        ],
    );
    let admin = "Authorization: Bearer CW-ADMIN-env";
    let reset = |headers: &[&str]| control_with(&mock, "POST", "/_mock/v1/reset", headers, None);
    let (status, done) = reset(&[admin]);
    assert_eq!(
        (status, &done["reset"]),
        (200, &json!("server")),
        "the admin token"
    );
    assert_eq!(reset(&[admin, "Host: mock:80"]).0, 200, "the allowed host");
    assert_eq!(reset(&[admin, "Host: other:80"]).0, 403);
    let url = format!("http://{}/_mock/v1/clock", mock.addr);
    let origin = "Origin: http://localhost:3000";
    let args = [
        "--silent",
        "--include",
        "-H",
        origin,
        "-H",
        admin,
        url.as_str(),
    ];
    let headers = run_ok(&tool("curl"), &args).to_ascii_lowercase();
    assert!(
        headers.contains("access-control-allow-origin: http://localhost:3000"),
        "the CORS origin: {headers}"
    );
}

#[test]
fn control_bodies_are_strict_json() {
    let mock = MockProcess::start(&[]);
    let token = "CW-SECRET-strict";
    let typo = json!({"method": "GetVPC", "kind": "fail", "count": 3});
    let (status, refused) = control(&mock, "POST", "/_mock/v1/faults", Some(token), Some(typo));
    assert_eq!(status, 400, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(message.starts_with("unknown key \"count\""), "{message}");
    assert!(
        message.contains("times"),
        "names the keys it takes: {message}"
    );
    let (_, faults) = control(&mock, "GET", "/_mock/v1/faults", Some(token), None);
    assert_eq!(
        faults["faults"],
        json!([]),
        "the refused fault was not added"
    );

    // A body a browser could send without a preflight is refused.
    let auth = format!("Authorization: Bearer {token}");
    let url = format!("http://{}/_mock/v1/clock/advance", mock.addr);
    let args = ["--silent", "--write-out", "\n%{http_code}", "-H", &auth];
    let plain = [
        &args[..],
        &[
            "-H",
            "content-type: text/plain",
            "-d",
            r#"{"by":"1s"}"#,
            &url,
        ],
    ];
    let output = run_ok(&tool("curl"), &plain.concat());
    assert!(output.ends_with("\n400"), "{output}");
    assert!(output.contains("application/json"), "{output}");
}

#[test]
fn time_is_never_moved_past_what_a_timestamp_holds() {
    let mock = MockProcess::start(&["--transition-delay", "0s"]);
    let token = "CW-SECRET-far-future";
    let advance = |scope: Option<&str>, by: &str| {
        let body = json!({ "by": by });
        control(&mock, "POST", "/_mock/v1/clock/advance", scope, Some(body))
    };
    for by in ["500000000000years", "9000years", "18446744073709551615s"] {
        for scope in [None, Some(token)] {
            let (status, refused) = advance(scope, by);
            assert_eq!(status, 400, "{by}: {refused}");
            let message = refused["message"].as_str().unwrap();
            assert!(message.contains("9999-12-31T23:59:59Z"), "{message}");
        }
    }
    // Close to the end is allowed once, and every call still answers, with readable times.
    let (status, moved) = advance(Some(token), "7000years");
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        advance(Some(token), "1000years").0,
        400,
        "past 9999 from there"
    );
    let vpcs = "/v1beta1/networking/vpcs";
    let body = r#"{"name":"late","zone":"US-EAST-04A"}"#;
    let (status, created) = rest(&mock, "POST", vpcs, token, &[], Some(body));
    assert_eq!(status, 200, "{created}");
    assert!(
        created["vpc"]["createdAt"]
            .as_str()
            .unwrap()
            .starts_with("90"),
        "{created}"
    );
    assert_eq!(rest(&mock, "GET", vpcs, token, &[], None).0, 200);
    assert_eq!(control(&mock, "GET", "/metrics", None, None).0, 200);

    // Delays are bounded too, so that none can overflow a deadline.
    let huge = json!({"method": "*", "kind": "delay", "delay": "1000000years"});
    let (status, refused) = control(&mock, "POST", "/_mock/v1/faults", Some(token), Some(huge));
    assert_eq!(status, 400, "{refused}");
    assert!(said(&refused).starts_with("delay: "), "{refused}");
}

#[test]
fn the_journal_is_read_in_pages() {
    let mock = MockProcess::start(&[]);
    let token = "CW-SECRET-pages";
    for _ in 0..5 {
        rest(&mock, "GET", "/v1beta1/networking/vpcs", token, &[], None);
    }
    let page = |query: &str| {
        control(
            &mock,
            "GET",
            &format!("/_mock/v1/calls{query}"),
            Some(token),
            None,
        )
    };
    let (status, first) = page("?limit=2");
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["calls"].as_array().unwrap().len(), 2);
    let next = first["next"].as_u64().expect("more calls follow");
    assert_eq!(next, first["calls"][1]["sequence"].as_u64().unwrap());
    let (_, rest_of_it) = page(&format!("?after={next}&limit=10"));
    assert_eq!(
        rest_of_it["calls"].as_array().unwrap().len(),
        3,
        "{rest_of_it}"
    );
    assert_eq!(rest_of_it["next"], Value::Null, "the last page");
    for bad in ["?limit=0", "?limit=10001", "?after=soon", "?colour=red"] {
        let (status, refused) = page(bad);
        assert_eq!(status, 400, "{bad}: {refused}");
    }
}

#[test]
fn one_organization_cannot_fill_the_fault_plan() {
    let mock = MockProcess::start(&[]);
    let fault = json!({"method": "GetVPC", "kind": "delay", "delay": "1ms"});
    let add = |token| {
        control(
            &mock,
            "POST",
            "/_mock/v1/faults",
            Some(token),
            Some(fault.clone()),
        )
    };
    for _ in 0..coreweave_mock::MAX_FAULTS_PER_ORG {
        assert_eq!(add("CW-SECRET-greedy").0, 200);
    }
    let (status, refused) = add("CW-SECRET-greedy");
    assert_eq!(status, 429, "{refused}");
    assert!(
        said(&refused).contains("DELETE /_mock/v1/faults"),
        "{refused}"
    );
    assert_eq!(
        add("CW-SECRET-modest").0,
        200,
        "another organization is not affected"
    );
}

#[test]
fn a_snapshot_is_held_to_the_api_s_rules_and_quota() {
    let mock = MockProcess::start(&["--transition-delay", "0s", "--quota", "2"]);
    let token = "CW-SECRET-rules";
    let vpcs = "/v1beta1/networking/vpcs";
    let body = r#"{"name":"good","zone":"US-EAST-04A"}"#;
    assert_eq!(rest(&mock, "POST", vpcs, token, &[], Some(body)).0, 200);
    let (_, exported) = control(&mock, "GET", "/_mock/v1/state", Some(token), None);
    let org = exported["organizations"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let load =
        |snapshot: Value| control(&mock, "PUT", "/_mock/v1/state", Some(token), Some(snapshot));

    // A name no create would accept.
    let mut bad = exported.clone();
    bad["organizations"][&org]["vpcs"][0]["vpc"]["name"] = json!("Not_A_Name");
    let (status, refused) = load(bad);
    assert_eq!(status, 400, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("organizations.{org}.vpcs[id=")),
        "{message}"
    );
    assert!(message.contains("name"), "names the rule: {message}");

    // A gateway in a zone that does not exist.
    let mut bad = exported.clone();
    bad["organizations"][&org]["gateways"] = json!([{
        "spec": {"id": "6f2c51d4-93a1-4b1e-8d57-2a0ec3f19b44", "name": "g", "zones": ["MARS-01A"],
                 "coreWeaveAuth": {}, "pathBasedRouting": {}},
        "lifecycle": {"createdAt": "2025-01-01T00:00:00Z", "phase": "CREATING"}
    }]);
    let (status, refused) = load(bad);
    assert_eq!(status, 400, "{refused}");
    assert!(said(&refused).contains("gateways[id="), "{refused}");

    // More VPCs than the quota: refused before any is read.
    let mut over = exported.clone();
    let one = exported["organizations"][&org]["vpcs"][0].clone();
    let many: Vec<Value> = (0..3)
        .map(|i| {
            let mut vpc = one.clone();
            vpc["vpc"]["id"] = json!(format!("6f2c51d4-93a1-4b1e-8d57-2a0ec3f19b4{i}"));
            vpc["vpc"]["name"] = json!(format!("v{i}"));
            vpc
        })
        .collect();
    over["organizations"][&org]["vpcs"] = json!(many);
    let (status, refused) = load(over);
    assert_eq!(status, 400, "{refused}");
    assert!(said(&refused).contains("over the quota of 2"), "{refused}");

    // Nothing changed, and the good snapshot still loads.
    let (_, listed) = rest(&mock, "GET", vpcs, token, &[], None);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(load(exported).0, 200);
}

#[tokio::test]
async fn verify_in_process_is_typed_and_names_the_near_misses() {
    use coreweave_mock::{Count, Expectation};
    let mock = start(MockServer::builder()).await;
    let token = unique_token("verify");
    let mut stub = vpc_stub(&mock, &token);
    answered(stub.create_vpc(create("first")).await);
    let refused = stub.create_vpc(create("Second!")).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let mine = Scope::token(&token);

    let created = Expectation::new(Method::CreateVpc)
        .request(json!({"name": "first", "zone": "US-EAST-04A"}))
        .code(Code::Ok)
        .count(Count::Exactly(1));
    assert_eq!(mock.verify(&mine, &created), Ok(1));
    let someone_else = Scope::token(&unique_token("verify-other"));
    assert_eq!(mock.verify(&someone_else, &created).unwrap_err().matched, 0);

    let typo = Expectation::new(Method::CreateVpc).request(json!({"name": "frist"}));
    let error = mock.verify(&mine, &typo).unwrap_err();
    assert_eq!(error.matched, 0);
    assert_eq!(error.near_misses.len(), 2);
    let closest = &error.near_misses[0];
    assert_eq!(
        closest.call.request["name"], "Second!",
        "ties go to the newest"
    );
    assert_eq!(closest.differences[0].path, "name");
    assert_eq!(closest.differences[0].actual, json!("Second!"));
    assert_eq!(
        error.to_string(),
        format!(
            "expected at least 1 CreateVPC call with request {{\"name\":\"frist\"}}, but 0 matched \
             (of 2 CreateVPC calls in scope); closest: #{} (grpc) differs at name: expected \
             \"frist\", got \"Second!\"",
            closest.call.sequence
        )
    );
    // The refused call keeps its violations.
    assert_eq!(closest.call.violations[0].field, "name");
}
