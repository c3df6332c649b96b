//! Handling errors: print them with `Display`, match on their kind, read the server's
//! details, and treat NOT_FOUND as "absent" with `get_opt`.
//!
//! ```sh
//! export COREWEAVE_API_ENDPOINT=http://127.0.0.1:50051   # the mock; unset for the real API
//! export COREWEAVE_API_TOKEN=CW-SECRET-example
//! cargo run --example errors
//! ```

use coreweave_api::{Client, ErrorKind};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;

    // An invalid request: the error names every bad field.
    let result = client
        .vpcs()
        .create("Not_A_Valid_Name")
        .zone("nowhere")
        .send()
        .await;
    match result {
        Ok(vpc) => println!("unexpectedly created {}", vpc.id),
        Err(error) if error.kind() == ErrorKind::InvalidArgument => {
            println!("refused: {error}");
            for violation in error.field_violations() {
                println!("  {}: {}", violation.field, violation.description);
            }
        }
        Err(error) => return Err(error.into()),
    }

    // NOT_FOUND as a value, not an error.
    match client
        .vpcs()
        .get_opt("00000000-0000-0000-0000-000000000000")
        .await?
    {
        Some(vpc) => println!("found {}", vpc.name),
        None => println!("no such VPC"),
    }

    // Or match on the kind, with the resource the server names.
    if let Err(error) = client
        .gateways()
        .get("00000000-0000-0000-0000-000000000000")
        .await
    {
        match error.kind() {
            ErrorKind::NotFound => {
                let resource = error.resource_info().map(|r| r.resource_type.as_str());
                println!("not found: {error} (resource type {resource:?})");
            }
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => {
                println!("check COREWEAVE_API_TOKEN: {error}");
            }
            _ if error.is_retryable() => println!("transient, try again later: {error}"),
            _ => return Err(error.into()),
        }
    }
    Ok(())
}
