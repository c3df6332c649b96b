//! Retries and timeouts: the client-wide policy, per-call overrides, and how running out of
//! time or budget is reported.
//!
//! ```sh
//! export COREWEAVE_API_ENDPOINT=http://127.0.0.1:50051   # the mock; unset for the real API
//! export COREWEAVE_API_TOKEN=CW-SECRET-example
//! cargo run --example retries_and_timeouts
//! ```

use std::time::Duration;

use coreweave_api::{Client, ClientBuilder, ErrorKind, RetryPolicy};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Client-wide: each attempt may take 10 s; transient failures are retried up to 4 times
    // with exponential backoff and jitter, within 60 s in all. Creates are retried only when
    // that cannot make a second resource.
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

    // Per call: a clone with other settings shares the connection.
    let impatient = client
        .with_timeout(Duration::from_millis(1))
        .with_retry_policy(RetryPolicy::no_retries());
    match impatient.vpcs().list().await {
        Ok(vpcs) => println!("answered within 1 ms: {} VPC(s)", vpcs.len()),
        Err(error) if error.kind() == ErrorKind::Timeout => println!("as expected: {error}"),
        Err(error) => return Err(error.into()),
    }

    // When retries are warranted but the time budget is spent, the kind says so, and the
    // last attempt's error is the source.
    let tight = client.with_retry_policy(RetryPolicy {
        total_timeout: Duration::from_millis(1),
        ..policy
    });
    match tight
        .with_timeout(Duration::from_millis(1))
        .vpcs()
        .list()
        .await
    {
        Ok(_) => println!("answered within the budget"),
        Err(error) if error.kind() == ErrorKind::OutOfBudget => println!("gave up: {error}"),
        Err(error) if error.kind() == ErrorKind::Timeout => println!("timed out: {error}"),
        Err(error) => return Err(error.into()),
    }
    Ok(())
}
