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
use tonic::{metadata::MetadataValue, Request};

const TOKEN: &str = "CW-SECRET-persistence";

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
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
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {TOKEN}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
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
            meta.insert("format", 2).unwrap();
        }
        txn.commit().unwrap();
    }
    let stderr = refused_start(&file);
    assert!(stderr.contains("newer coreweave-mock"), "{stderr}");
}
