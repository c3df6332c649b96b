//! Real third-party clients against the real `coreweave-mock` binary: grpcurl 1.8.6 (which
//! speaks reflection v1alpha) for listing, describing, health and CRUD of both services.

mod common;

use common::process::{run, run_ok, tool, MockProcess};
use serde_json::Value;

const TOKEN_HEADER: &str = "authorization: Bearer CW-SECRET-grpcurl";

/// Runs grpcurl in plaintext mode; `args` end with the address and, for calls, the method.
fn grpcurl(args: &[&str]) -> std::process::Output {
    let mut full = vec!["-plaintext"];
    full.extend_from_slice(args);
    run(&tool("grpcurl"), &full)
}

/// Calls a method with a JSON body and the test token; returns the parsed response.
fn call(addr: &str, method: &str, body: &str) -> Value {
    let output = grpcurl(&["-H", TOKEN_HEADER, "-d", body, addr, method]);
    assert!(
        output.status.success(),
        "{method} {body} failed: {}",
        String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{method}: {e}"))
}

fn grpcurl_ok(args: &[&str]) -> String {
    let mut full = vec!["-plaintext"];
    full.extend_from_slice(args);
    run_ok(&tool("grpcurl"), &full)
}

#[test]
fn grpcurl_lists_describes_and_checks_health() {
    let mock = MockProcess::start(&[]);
    let services = grpcurl_ok(&[&mock.addr, "list"]);
    for service in [
        "coreweave.networking.v1beta1.VPCService",
        "coreweave.inference.v1alpha1.GatewayService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            services.lines().any(|l| l == service),
            "{service} missing from:\n{services}"
        );
    }
    let described = grpcurl_ok(&[
        &mock.addr,
        "describe",
        "coreweave.networking.v1beta1.VPCService",
    ]);
    assert!(
        described.contains("rpc CreateVPC ( .coreweave.networking.v1beta1.CreateVPCRequest )"),
        "{described}"
    );
    assert!(
        described.contains("// Creates a VPC."),
        "comments reach users: {described}"
    );
    let message = grpcurl_ok(&[
        &mock.addr,
        "describe",
        "coreweave.inference.v1alpha1.GatewaySpec",
    ]);
    assert!(message.contains("oneof auth"), "{message}");

    for service in ["", "coreweave.networking.v1beta1.VPCService"] {
        let body = format!(r#"{{"service":"{service}"}}"#);
        let health = grpcurl_ok(&["-d", &body, &mock.addr, "grpc.health.v1.Health/Check"]);
        assert!(health.contains("SERVING"), "{health}");
    }
}

#[test]
fn grpcurl_vpc_crud() {
    let mock = MockProcess::start(&["--transition-delay", "0s"]);
    let addr = &mock.addr;
    let created = call(
        addr,
        "coreweave.networking.v1beta1.VPCService/CreateVPC",
        r#"{"name":"grpcurl-vpc","zone":"us-east-04a","vpcPrefixes":[{"name":"w","value":"172.16.0.0/16"}]}"#,
    );
    let id = created["vpc"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["vpc"]["zone"], "US-EAST-04A");
    assert_eq!(created["vpc"]["hostPrefixes"][0]["type"], "PRIMARY");

    let got = call(
        addr,
        "coreweave.networking.v1beta1.VPCService/GetVPC",
        &format!(r#"{{"id":"{id}"}}"#),
    );
    assert_eq!(got["vpc"]["status"], "STATUS_READY");
    let listed = call(
        addr,
        "coreweave.networking.v1beta1.VPCService/ListVPCs",
        "{}",
    );
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let updated = call(
        addr,
        "coreweave.networking.v1beta1.VPCService/UpdateVPC",
        // grpcurl 1.8.6 reads a FieldMask as an object, not the canonical string.
        &format!(
            r#"{{"id":"{id}","updateMask":{{"paths":["ingress.disable_public_services"]}},"ingress":{{"disablePublicServices":true}}}}"#
        ),
    );
    assert_eq!(updated["vpc"]["ingress"]["disablePublicServices"], true);
    assert_eq!(
        updated["vpc"]["vpcPrefixes"][0]["status"],
        "STATUS_AVAILABLE"
    );

    let deleted = call(
        addr,
        "coreweave.networking.v1beta1.VPCService/DeleteVPC",
        &format!(r#"{{"id":"{id}"}}"#),
    );
    assert_eq!(deleted["vpc"]["id"], id.as_str());
    let output = grpcurl(&[
        "-H",
        TOKEN_HEADER,
        "-d",
        &format!(r#"{{"id":"{id}"}}"#),
        addr,
        "coreweave.networking.v1beta1.VPCService/GetVPC",
    ]);
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("NotFound") && text.contains(&format!("VPC {id} not found")),
        "{text}"
    );
}

#[test]
fn grpcurl_gateway_crud() {
    let mock = MockProcess::start(&["--transition-delay", "0s"]);
    let addr = &mock.addr;
    let params = call(
        addr,
        "coreweave.inference.v1alpha1.GatewayService/GetGatewayParameters",
        "{}",
    );
    assert!(params["zones"]
        .as_array()
        .unwrap()
        .iter()
        .any(|z| z == "US-LAB-01A"));

    let created = call(
        addr,
        "coreweave.inference.v1alpha1.GatewayService/CreateGateway",
        r#"{"name":"grpcurl-gw","zones":["us-east-04a"],"coreWeaveAuth":{},"headerBasedRouting":{"headerName":"x-model"}}"#,
    );
    let id = created["gateway"]["spec"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = call(
        addr,
        "coreweave.inference.v1alpha1.GatewayService/GetGateway",
        &format!(r#"{{"id":"{id}"}}"#),
    );
    assert_eq!(got["gateway"]["status"]["status"], "STATUS_READY");
    assert!(got["gateway"]["status"]["endpoints"][0]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let listed = call(
        addr,
        "coreweave.inference.v1alpha1.GatewayService/ListGateways",
        r#"{"updatedAfter":"2020-01-01T00:00:00Z"}"#,
    );
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let updated = call(
        addr,
        "coreweave.inference.v1alpha1.GatewayService/UpdateGateway",
        &format!(
            r#"{{"id":"{id}","name":"renamed","coreWeaveAuth":{{}},"pathBasedRouting":{{}}}}"#
        ),
    );
    assert_eq!(updated["gateway"]["spec"]["name"], "renamed");
    assert_eq!(updated["gateway"]["status"]["status"], "STATUS_UPDATING");
    call(
        addr,
        "coreweave.inference.v1alpha1.GatewayService/DeleteGateway",
        &format!(r#"{{"id":"{id}"}}"#),
    );
    let listed = call(
        addr,
        "coreweave.inference.v1alpha1.GatewayService/ListGateways",
        "{}",
    );
    assert!(
        listed
            .get("items")
            .is_none_or(|items| items.as_array().unwrap().is_empty()),
        "{listed}"
    );
}

#[test]
fn grpcurl_shows_which_field_is_invalid() {
    let mock = MockProcess::start(&[]);
    let output = grpcurl(&[
        "-H",
        TOKEN_HEADER,
        "-d",
        r#"{"name":"ok-name","zone":"US-EAST-04A","hostPrefixes":[{"name":"p","type":"PRIMARY","prefixes":["10.0.0.1/16"]}]}"#,
        &mock.addr,
        "coreweave.networking.v1beta1.VPCService/CreateVPC",
    ]);
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("InvalidArgument"), "{text}");
    // The BadRequest detail decodes through reflection, field path and all.
    assert!(
        text.contains(r#""field":"host_prefixes[0].prefixes[0]""#),
        "{text}"
    );
    assert!(text.contains("host bits"), "{text}");

    let output = grpcurl(&[
        "-d",
        "{}",
        &mock.addr,
        "coreweave.networking.v1beta1.VPCService/ListVPCs",
    ]);
    let text = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("Unauthenticated"), "{text}");
}

#[test]
fn grpcurl_drives_the_control_service() {
    let mock = MockProcess::start(&["--transition-delay", "1h"]);
    let services = grpcurl_ok(&[&mock.addr, "list"]);
    assert!(
        services
            .lines()
            .any(|l| l == "coreweave.mock.v1.ControlService"),
        "{services}"
    );
    let control = "coreweave.mock.v1.ControlService";
    let who = call(&mock.addr, &format!("{control}/WhoAmI"), "{}");
    assert!(!who["organizationId"].as_str().unwrap().is_empty(), "{who}");

    // A VPC, a clock advance for this organization only, and it is READY.
    let created = call(
        &mock.addr,
        "coreweave.networking.v1beta1.VPCService/CreateVPC",
        r#"{"name":"ctl","zone":"US-EAST-04A"}"#,
    );
    let id = created["vpc"]["id"].as_str().unwrap().to_owned();
    let clock = call(
        &mock.addr,
        &format!("{control}/AdvanceClock"),
        r#"{"by":"2h"}"#,
    );
    assert_eq!(
        clock["clock"]["frozen"],
        Value::Null,
        "false is left out: {clock}"
    );
    let read = call(
        &mock.addr,
        "coreweave.networking.v1beta1.VPCService/GetVPC",
        &format!(r#"{{"id":"{id}"}}"#),
    );
    assert_eq!(read["vpc"]["status"], "STATUS_READY");

    // A fault from grpcurl, listed, then firing.
    let added = call(
        &mock.addr,
        &format!("{control}/AddFault"),
        r#"{"fault":{"method":"ListVPCs","code":"UNAVAILABLE","times":1}}"#,
    );
    assert_eq!(added["fault"]["method"], "ListVPCs");
    let listed = call(&mock.addr, &format!("{control}/ListFaults"), "{}");
    assert_eq!(listed["faults"][0]["times"], 1);
    let failed = grpcurl(&[
        "-H",
        TOKEN_HEADER,
        "-d",
        "{}",
        &mock.addr,
        "coreweave.networking.v1beta1.VPCService/ListVPCs",
    ]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("Unavailable"));

    // The journal and a bad request.
    let calls = call(
        &mock.addr,
        &format!("{control}/ListCalls"),
        r#"{"code":"UNAVAILABLE"}"#,
    );
    assert_eq!(calls["calls"].as_array().unwrap().len(), 1, "{calls}");
    let bad = grpcurl(&[
        "-H",
        TOKEN_HEADER,
        "-d",
        r#"{"fault":{"method":"Nope"}}"#,
        &mock.addr,
        &format!("{control}/AddFault"),
    ]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("InvalidArgument") && stderr.contains("CreateVPC"),
        "{stderr}"
    );

    // Reset empties this organization.
    call(&mock.addr, &format!("{control}/Reset"), "{}");
    let listed = call(
        &mock.addr,
        "coreweave.networking.v1beta1.VPCService/ListVPCs",
        "{}",
    );
    assert!(listed.get("items").is_none(), "{listed}");
}
