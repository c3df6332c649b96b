//! The REST transport through an HTTP proxy: a `CONNECT` proxy on loopback that records what
//! it tunnelled, named by the builder or by the environment's variables, with `NO_PROXY`
//! bypassing it.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use coreweave_api::Client;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// What the proxy saw of each tunnel: its target and its `Proxy-Authorization`, if any.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A `CONNECT` proxy on a free loopback port; its URL and what it saw.
async fn connect_proxy() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Seen::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                let mut line = String::new();
                client.read_line(&mut line).await.unwrap();
                let target = line.split(' ').nth(1).unwrap_or_default().to_owned();
                let mut auth = None;
                loop {
                    let mut header = String::new();
                    client.read_line(&mut header).await.unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        if name.eq_ignore_ascii_case("proxy-authorization") {
                            auth = Some(value.trim().to_owned());
                        }
                    }
                }
                record.lock().unwrap().push((target.clone(), auth));
                let mut upstream = TcpStream::connect(&target).await.unwrap();
                let mut client = client.into_inner();
                client
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn the_builder_s_proxy_carries_every_call_in_a_tunnel_with_its_credentials() {
    let mock = instant_mock().await;
    let (proxy, seen) = connect_proxy().await;
    let with_user = proxy.replace("http://", "http://alice:s3cret@");
    let client = Client::builder()
        .endpoint(mock.endpoint())
        .token("CW-SECRET-proxied")
        .proxy(with_user)
        .build()
        .unwrap();
    assert!(client.vpcs().list().await.unwrap().is_empty());
    let seen = seen.lock().unwrap().clone();
    let target = mock.addr().to_string();
    assert_eq!(seen.len(), 1, "one pooled connection: {seen:?}");
    assert_eq!(seen[0].0, target);
    // "alice:s3cret" in base64.
    assert_eq!(seen[0].1.as_deref(), Some("Basic YWxpY2U6czNjcmV0"));
}

#[tokio::test]
async fn the_environment_names_the_proxy_and_no_proxy_bypasses_it() {
    let mock = instant_mock().await;
    let (proxy, seen) = connect_proxy().await;
    let endpoint = mock.endpoint();
    let client = |no_proxy: &str| {
        let vars = [
            ("COREWEAVE_API_ENDPOINT", endpoint.as_str()),
            ("COREWEAVE_API_TOKEN", "CW-SECRET-env-proxy"),
            ("https_proxy", proxy.as_str()),
            ("http_proxy", proxy.as_str()),
            ("NO_PROXY", no_proxy),
        ];
        Client::from_env_with(|key| {
            vars.iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| (*value).to_owned())
        })
        .unwrap()
    };
    // NO_PROXY set, but not to this host: the call goes through the proxy.
    assert!(client("example.com")
        .vpcs()
        .list()
        .await
        .unwrap()
        .is_empty());
    assert_eq!(seen.lock().unwrap().len(), 1);
    // NO_PROXY naming the host: direct.
    assert!(client("127.0.0.1").vpcs().list().await.unwrap().is_empty());
    assert_eq!(seen.lock().unwrap().len(), 1, "NO_PROXY bypassed the proxy");
}
