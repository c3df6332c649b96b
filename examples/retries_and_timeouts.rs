//! Retries and timeouts: the client-wide policy, per-call overrides, and how running out of
//! time or budget is reported.
//!
//! Against `coreweave-mock`, the example first slows its own `ListVPCs` calls down with a
//! delay fault (through the mock's control API), so that both errors happen for certain; it
//! clears the fault at the end. Against anything else it skips that step.
//!
//! ```sh
//! export COREWEAVE_API_ENDPOINT=http://127.0.0.1:50051   # the mock; unset for the real API
//! export COREWEAVE_API_TOKEN=CW-SECRET-example
//! cargo run --example retries_and_timeouts
//! ```

use std::time::Duration;

use coreweave_api::{Client, ClientBuilder, ErrorKind, RetryPolicy, ENDPOINT_ENV, TOKEN_ENV};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Client-wide: each attempt may take 10 s; transient failures (a timeout among them) are
    // retried up to 4 times with exponential backoff and jitter, within 60 s in all. Creates
    // are retried only when that cannot make a second resource.
    let policy = RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(5),
        multiplier: 2.0,
        total_timeout: Duration::from_secs(60),
    };
    let client: Client = ClientBuilder::from_env_with(|key| std::env::var(key).ok())?
        .timeout(Duration::from_secs(10))
        .retry_policy(policy)
        .build()?;
    println!("{} VPC(s)", client.vpcs().list().await?.len());

    let endpoint = std::env::var(ENDPOINT_ENV).unwrap_or_default();
    let token = std::env::var(TOKEN_ENV).unwrap_or_default();
    let slowed = mock_control(&endpoint, &token, "POST", SLOW_LISTS).await;
    if slowed {
        println!("the mock now delays this token's ListVPCs calls by 2 s");
    }

    // Per call: a clone with other settings shares the connection. Each attempt may take
    // 500 ms, and there are no retries: a slow answer is a Timeout.
    let impatient = client
        .with_timeout(Duration::from_millis(500))
        .with_retry_policy(RetryPolicy::no_retries());
    report(impatient.vpcs().list().await)?;

    // Retries are warranted after a timeout, but here the whole budget is 1 s: once it is
    // spent the kind says so, and names the last attempt's error.
    let tight = client
        .with_timeout(Duration::from_millis(300))
        .with_retry_policy(RetryPolicy {
            total_timeout: Duration::from_secs(1),
            ..policy
        });
    report(tight.vpcs().list().await)?;

    if slowed {
        mock_control(&endpoint, &token, "DELETE", "").await;
    }
    Ok(())
}

/// Prints how a list call ended; any error but running out of time or budget is returned.
fn report<T>(result: Result<Vec<T>, coreweave_api::Error>) -> Result<(), coreweave_api::Error> {
    match result {
        Ok(vpcs) => println!("answered in time: {} VPC(s)", vpcs.len()),
        Err(error) if error.kind() == ErrorKind::Timeout => println!("timed out: {error}"),
        Err(error) if error.kind() == ErrorKind::OutOfBudget => println!("gave up: {error}"),
        Err(error) => return Err(error),
    }
    Ok(())
}

/// The delay fault: this token's `ListVPCs` calls wait 2 s.
const SLOW_LISTS: &str = r#"{"method": "ListVPCs", "kind": "delay", "delay": "2s"}"#;

/// Sends `body` to the mock's `/_mock/v1/faults` as `method`, in `token`'s organization;
/// whether the mock accepted it. An endpoint that is not a plain-HTTP mock answers false.
async fn mock_control(endpoint: &str, token: &str, method: &str, body: &str) -> bool {
    let Some(authority) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let authority = authority.trim_end_matches('/');
    let Ok(mut stream) = TcpStream::connect(authority).await else {
        return false;
    };
    let request = format!(
        "{method} /_mock/v1/faults HTTP/1.1\r\nhost: {authority}\r\n\
         authorization: Bearer {token}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut response = Vec::new();
    let sent = stream.write_all(request.as_bytes()).await.is_ok();
    let read = stream.read_to_end(&mut response).await.is_ok();
    sent && read && response.starts_with(b"HTTP/1.1 200")
}
