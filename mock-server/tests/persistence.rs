//! `--state-file`: state that survives restarts, `kill -9` included, and files that must not
//! be used.

mod common;

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use common::process::{mock_binary, MockProcess};
use coreweave_api::networking::v1beta1::{
    vpc_service_client::VpcServiceClient, CreateVpcRequest, ListVpCsRequest,
};
use tonic::Request;

const TOKEN: &str = "CW-SECRET-persistence";

fn temp_dir(label: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "coreweave-mock-{label}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn authorized<T>(message: T) -> Request<T> {
    common::process::with_token(message, TOKEN)
}

async fn stub(addr: &str) -> VpcServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    VpcServiceClient::new(channel)
}

async fn listed_ids(addr: &str) -> Vec<String> {
    let response = stub(addr)
        .await
        .list_vp_cs(authorized(ListVpCsRequest {}))
        .await
        .unwrap();
    response
        .into_inner()
        .items
        .into_iter()
        .map(|v| v.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_create_survives_kill_9() {
    let dir = temp_dir("kill9");
    let file = dir.join("state.redb");
    let path = file.to_str().unwrap();
    let mock = MockProcess::start(&["--state-file", path, "--transition-delay", "0s"]);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for worker in 0..8 {
        let addr = mock.addr.clone();
        let acknowledged = Arc::clone(&acknowledged);
        workers.push(tokio::spawn(async move {
            let mut stub = stub(&addr).await;
            for i in 0.. {
                let request = CreateVpcRequest {
                    name: format!("w{worker}-{i}"),
                    zone: "US-EAST-04A".into(),
                    ..CreateVpcRequest::default()
                };
                match stub.create_vpc(authorized(request)).await {
                    Ok(response) => {
                        let id = response.into_inner().vpc.unwrap().id;
                        acknowledged.lock().unwrap().push(id);
                    }
                    Err(_) => break, // the server was killed
                }
            }
        }));
    }
    // Kill it in the middle of the burst, once some creates have been acknowledged.
    while acknowledged.lock().unwrap().len() < 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    mock.kill();
    for worker in workers {
        worker.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let restarted = MockProcess::start(&["--state-file", path, "--transition-delay", "0s"]);
    let listed = listed_ids(&restarted.addr).await;
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !listed.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged creates lost",
        missing.len(),
        acknowledged.len()
    );
}

#[tokio::test]
async fn state_survives_a_clean_restart_and_resets_are_kept() {
    let dir = temp_dir("restart");
    let file = dir.join("state.redb");
    let path = file.to_str().unwrap();
    let mock = MockProcess::start(&["--state-file", path]);
    let mut client = stub(&mock.addr).await;
    for name in ["one", "two"] {
        let request = CreateVpcRequest {
            name: name.into(),
            zone: "US-EAST-04A".into(),
            ..CreateVpcRequest::default()
        };
        client.create_vpc(authorized(request)).await.unwrap();
    }
    assert!(mock.terminate().success());
    let mock = MockProcess::start(&["--state-file", path]);
    assert_eq!(listed_ids(&mock.addr).await.len(), 2);
    drop(mock);
}

/// Starts the binary on `file`, expects the start to fail, and returns its stderr.
fn refused_start(file: &std::path::Path) -> String {
    let output = std::process::Command::new(mock_binary())
        .args(["--listen", "127.0.0.1:0", "--state-file"])
        .arg(file)
        .output()
        .unwrap();
    assert!(!output.status.success(), "the start must fail on {file:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_file_that_is_not_a_state_file_stops_the_start_and_is_left_alone() {
    let dir = temp_dir("corrupt");
    let file = dir.join("state.redb");
    let garbage = b"this is not a database".repeat(100);
    std::fs::write(&file, &garbage).unwrap();
    let stderr = refused_start(&file);
    assert!(stderr.contains("state.redb"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), garbage);
}

#[tokio::test]
async fn a_truncated_file_stops_the_start_with_an_error_naming_it() {
    let dir = temp_dir("truncated");
    let file = dir.join("state.redb");
    {
        let builder = coreweave_mock::MockServer::builder().state_file(&file);
        let mock = common::start(builder).await;
        let mut stub = common::vpc_stub(&mock, &common::unique_token("truncated"));
        for i in 0..3 {
            let body = common::bodies::vpc_body(serde_json::json!({"name": format!("v{i}")}));
            common::created_vpc(&mut stub, body).await;
        }
        drop(stub);
        mock.shutdown().await.unwrap();
    }
    let whole = std::fs::read(&file).unwrap();
    std::fs::write(&file, &whole[..4096]).unwrap();
    let stderr = refused_start(&file);
    assert!(
        stderr.contains("state.redb") && stderr.contains("truncated or corrupt"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "an error, not a panic: {stderr}"
    );
    assert_eq!(std::fs::read(&file).unwrap().len(), 4096, "left as it is");
}

#[test]
fn a_file_from_a_newer_mock_stops_the_start() {
    let dir = temp_dir("newer");
    let file = dir.join("state.redb");
    {
        let db = redb::Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .unwrap();
            meta.insert("format", 3).unwrap();
        }
        txn.commit().unwrap();
    }
    let stderr = refused_start(&file);
    assert!(stderr.contains("newer coreweave-mock"), "{stderr}");
}

/// The rows of a state file after its mock stopped: key to JSON, and the format.
fn rows_of(file: &std::path::Path) -> (u64, Vec<(String, serde_json::Value)>) {
    use redb::{ReadableTable, TableDefinition};
    let db = redb::Database::open(file).unwrap();
    let txn = db.begin_read().unwrap();
    let format = txn
        .open_table(TableDefinition::<&str, u64>::new("meta"))
        .unwrap()
        .get("format")
        .unwrap()
        .unwrap()
        .value();
    let table = txn
        .open_table(TableDefinition::<&str, &[u8]>::new("resources"))
        .unwrap();
    let rows = table
        .iter()
        .unwrap()
        .map(|row| {
            let (key, value) = row.unwrap();
            let json = serde_json::from_slice(value.value()).unwrap();
            (key.value().to_owned(), json)
        })
        .collect();
    (format, rows)
}

async fn create_named(addr: &str, name: &str) -> Result<String, tonic::Status> {
    let request = CreateVpcRequest {
        name: name.into(),
        zone: "US-EAST-04A".into(),
        ..CreateVpcRequest::default()
    };
    let created = stub(addr).await.create_vpc(authorized(request)).await?;
    Ok(created.into_inner().vpc.unwrap().id)
}

#[tokio::test]
async fn each_resource_is_its_own_row_and_a_delete_rewrites_only_its_row() {
    let dir = temp_dir("rows");
    let file = dir.join("state.redb");
    let path = file.to_str().unwrap();
    let mock = MockProcess::start(&["--state-file", path, "--transition-delay", "60s"]);
    let kept = create_named(&mock.addr, "kept").await.unwrap();
    let deleted = create_named(&mock.addr, "deleted").await.unwrap();
    let request = coreweave_api::networking::v1beta1::DeleteVpcRequest {
        id: deleted.clone(),
    };
    stub(&mock.addr)
        .await
        .delete_vpc(authorized(request))
        .await
        .unwrap();
    assert!(mock.terminate().success());

    let (format, rows) = rows_of(&file);
    assert_eq!(format, 2);
    let org = {
        let mut text = rows[0].0.clone();
        text.truncate(36);
        text
    };
    let keys: Vec<&str> = rows.iter().map(|(key, _)| key.as_str()).collect();
    let mut expected = [
        format!("{org}/vpcs/{kept}"),
        format!("{org}/vpcs/{deleted}"),
    ];
    expected.sort();
    assert_eq!(keys, expected);
    let phase_of = |id: &str| {
        let row = rows.iter().find(|(key, _)| key.ends_with(id)).unwrap();
        row.1["lifecycle"]["phase"].as_str().unwrap().to_owned()
    };
    assert_eq!(phase_of(&kept), "CREATING");
    assert_eq!(phase_of(&deleted), "DELETING");
}

#[tokio::test]
async fn a_file_in_format_1_is_read_and_rewritten_in_format_2() {
    let dir = temp_dir("format1");
    let file = dir.join("state.redb");
    let org = "0b2d4c9e-55b6-4a9b-9d4e-4d2b6a0c6f11";
    let vpc = "7f1c6a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
    let snapshot = serde_json::json!({
        "version": 1,
        "organizations": {org: {"vpcs": [{
            "vpc": {"id": vpc, "name": "old", "zone": "US-EAST-04A"},
            "lifecycle": {"createdAt": "2026-01-01T00:00:00Z", "changedAt": "2026-01-01T00:00:00Z",
                          "phase": "CREATING"},
        }]}},
    });
    {
        let db = redb::Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .unwrap();
            meta.insert("format", 1).unwrap();
            let mut orgs = txn
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("organizations"))
                .unwrap();
            let bytes = serde_json::to_vec(&snapshot).unwrap();
            orgs.insert(org, bytes.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let path = file.to_str().unwrap();
    let mock = MockProcess::start(&["--state-file", path]);
    let (code, state) = http_get(&mock.addr, "/_mock/v1/state", "x-mock-scope: server");
    assert_eq!(code, 200, "{state}");
    assert!(state.contains(vpc) && state.contains("\"old\""), "{state}");
    assert!(mock.terminate().success());
    let (format, rows) = rows_of(&file);
    assert_eq!(format, 2);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, format!("{org}/vpcs/{vpc}"));
    assert_eq!(rows[0].1["vpc"]["name"], "old");
}

/// `GET path` with one more header line: the status code and body.
fn http_get(addr: &str, path: &str, header: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\n{header}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (code, body.to_owned())
}

fn healthz(addr: &str) -> (u16, String) {
    http_get(addr, "/healthz", "accept: */*")
}

/// gRPC health's answer for the whole server.
async fn grpc_health(addr: &str) -> i32 {
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    answer.into_inner().status
}

/// Polls `probe` until it returns true, for at most about 20 seconds (the mock checks its
/// file every second).
async fn eventually(what: &str, mut probe: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if probe().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never: {what}");
}

const SERVING: i32 = 1;
const NOT_SERVING: i32 = 2;

#[tokio::test]
async fn a_file_that_vanished_is_written_again_whole_before_the_next_change() {
    let dir = temp_dir("vanished");
    let file = dir.join("state.redb");
    let path = file.to_str().unwrap();
    let mock = MockProcess::start(&["--state-file", path]);
    let before = create_named(&mock.addr, "before").await.unwrap();
    std::fs::remove_file(&file).unwrap();
    let after = create_named(&mock.addr, "after").await.unwrap();
    assert!(file.exists(), "the file is created again");
    assert_eq!(healthz(&mock.addr).0, 200);
    assert!(mock.terminate().success());
    let mock = MockProcess::start(&["--state-file", path]);
    let mut listed = listed_ids(&mock.addr).await;
    listed.sort();
    let mut expected = vec![before, after];
    expected.sort();
    assert_eq!(listed, expected, "nothing acknowledged was lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_cannot_be_saved_is_refused_undone_and_reported_until_the_file_recovers() {
    let dir = temp_dir("unwritable");
    let state_dir = dir.join("state");
    std::fs::create_dir_all(&state_dir).unwrap();
    let file = state_dir.join("state.redb");
    let path = file.to_str().unwrap();
    let mock = MockProcess::start(&["--state-file", path]);
    let saved = create_named(&mock.addr, "saved").await.unwrap();
    assert_eq!(grpc_health(&mock.addr).await, SERVING);

    std::fs::remove_dir_all(&state_dir).unwrap();
    let refused = create_named(&mock.addr, "refused").await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(
        refused.message().contains("the change was not made"),
        "{refused:?}"
    );
    assert!(
        refused.message().contains(path),
        "names the file: {refused:?}"
    );
    assert_eq!(
        listed_ids(&mock.addr).await,
        std::slice::from_ref(&saved),
        "nothing kept"
    );
    let (code, body) = healthz(&mock.addr);
    assert_eq!(code, 503);
    assert!(
        body.starts_with("NOT_SERVING: ") && body.contains(path),
        "{body}"
    );
    let addr = mock.addr.clone();
    eventually("gRPC health reports NOT_SERVING", async || {
        grpc_health(&addr).await == NOT_SERVING
    })
    .await;

    std::fs::create_dir_all(&state_dir).unwrap();
    eventually("the file is recovered", async || healthz(&addr).0 == 200).await;
    eventually("gRPC health reports SERVING", async || {
        grpc_health(&addr).await == SERVING
    })
    .await;
    let later = create_named(&mock.addr, "refused").await.unwrap();
    assert!(mock.terminate().success());

    let mock = MockProcess::start(&["--state-file", path]);
    let mut listed = listed_ids(&mock.addr).await;
    listed.sort();
    let mut expected = vec![saved, later];
    expected.sort();
    assert_eq!(
        listed, expected,
        "the whole state was written to the new file"
    );
}
