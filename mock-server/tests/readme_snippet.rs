//! The README's in-process snippet, compiled and run as written: the README must show exactly
//! the lines between the markers.

// README snippet begins
use coreweave_api::inference::v1alpha1::Status;
use coreweave_api::Client;
use coreweave_mock::{Code, Fault, ManualClock, Method, MockServer, Scope};

#[tokio::test]
async fn a_gateway_that_failed() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::new();
    let mock = MockServer::builder()
        .clock(clock.clone()) // the lifecycle moves only when the test says so
        .fault(Fault::lose_reply(Method::CreateVpc, 1)) // applied, then answered UNAVAILABLE
        .fault(Fault::fail(Method::GetVpc, 2, Code::Unavailable))
        .start() // on 127.0.0.1:0
        .await?;
    let token = "CW-SECRET-readme";
    let client = Client::builder()
        .endpoint(mock.endpoint())
        .token(token)
        .build()?;
    let gateway = client
        .gateways()
        .create("app")
        .core_weave_auth()
        .path_based_routing()
        .send()
        .await?;
    let id = gateway.spec.map(|spec| spec.id).unwrap_or_default();
    // Reads of the gateway report FAILED, which the lifecycle itself never does, until it
    // is deleted or the organization reset:
    mock.force_gateway_state(&Scope::token(token), &id, Status::Failed, "no capacity")?;
    let read = client.gateways().get(&id).await?;
    assert_eq!(
        read.status.map(|status| status.status()),
        Some(Status::Failed)
    );
    Ok(())
}
// README snippet ends

#[test]
fn the_readme_shows_the_snippet_as_written() {
    let this = include_str!("readme_snippet.rs");
    let snippet = this
        .split("// README snippet begins\n")
        .nth(1)
        .and_then(|rest| rest.split("// README snippet ends").next())
        .expect("the markers");
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(&format!("```rust\n{snippet}```")),
        "the README's in-process snippet differs from mock-server/tests/readme_snippet.rs"
    );
}
