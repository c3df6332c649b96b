//! The client library against the in-process mock: every RPC through the typed API, every
//! error kind from a real server response, retries, lost replies, waiters and timeouts.

mod common;

use std::{
    net::TcpListener,
    time::{Duration, Instant, SystemTime},
};

use common::*;
use coreweave_api::{
    inference::v1alpha1::{Status as GatewayStatus, WeightsAndBiasesAuth},
    networking::v1beta1::{
        host_prefix, vpc, HostPrefix, IpAddressManagementPolicy, ListVpCsRequest,
    },
    Client, ErrorKind, LastSeen, RetryPolicy, Transport, WaitOptions,
};
use coreweave_mock::{Fault, Limits, Method, MockServer, Scope};
use prost::Message;
use tonic::Code;

fn fast_wait(max: Duration) -> WaitOptions {
    WaitOptions::new(max).poll_interval(Duration::from_millis(20))
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

/// A mock with no transition delay and these faults, and a client of its own token that
/// retries quickly and gives each attempt 5 s.
async fn faulty_mock(
    transport: Transport,
    label: &str,
    faults: impl IntoIterator<Item = Fault>,
) -> (MockServer, Client) {
    let builder = faults.into_iter().fold(
        MockServer::builder().transition_delay(Duration::ZERO),
        |builder, fault| builder.fault(fault),
    );
    let mock = start(builder).await;
    let token = unique_token(label);
    let client = client_with(
        &mock,
        transport,
        &token,
        fast_retries(),
        Duration::from_secs(5),
    );
    (mock, client)
}

/// The client library pointed at `mock` over `transport`, with its own token.
fn client(mock: &MockServer, transport: Transport, token: &str) -> Client {
    client_with(
        mock,
        transport,
        token,
        RetryPolicy::default(),
        Duration::from_secs(10),
    )
}

fn client_with(
    mock: &MockServer,
    transport: Transport,
    token: &str,
    retry: RetryPolicy,
    timeout: Duration,
) -> Client {
    Client::builder()
        .endpoint(mock.endpoint())
        .transport(transport)
        .token(token)
        .retry_policy(retry)
        .timeout(timeout)
        .build()
        .unwrap()
}

#[test]
fn client_futures_are_send_and_the_client_is_cheap_to_share() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_clone_sync<T: Clone + Send + Sync>() {}
    assert_clone_sync::<Client>();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let client = Client::builder()
        .endpoint("http://127.0.0.1:9")
        .token("t")
        .build()
        .unwrap();
    assert_send(&client.vpcs().get("id"));
    assert_send(&client.vpcs().create("n").send());
    assert_send(&client.gateways().create("n").send());
    assert_send(&client.gateways().list().send());
    assert_send(&client.vpcs().wait_until_ready("id", Duration::from_secs(1)));
}

async fn every_vpc_rpc_through_the_typed_api(transport: Transport) {
    let mock = instant_mock().await;
    let client = client(&mock, transport, &unique_token("vpc-rpcs"));
    let vpcs = client.vpcs();

    let created = vpcs
        .create("app-vpc")
        .zone("us-east-04a")
        .primary_host_prefix("primary", ["10.20.0.0/18", "fd00:20::/48"])
        .add_host_prefix(HostPrefix {
            name: "pods".into(),
            prefixes: vec!["10.128.0.0/16".into()],
            r#type: host_prefix::Type::Routed as i32,
            ipam: Some(IpAddressManagementPolicy {
                prefix_length: 24,
                gateway_address_policy: 2,
            }),
        })
        .vpc_prefix("workloads", "172.16.0.0/16")
        .disable_public_services(true)
        .dns_servers(["1.1.1.1"])
        .send()
        .await
        .unwrap();
    assert_eq!(created.zone, "US-EAST-04A");
    assert_eq!(created.host_prefixes.len(), 2);
    assert!(created.ingress.unwrap().disable_public_services);

    assert_eq!(vpcs.get(&created.id).await.unwrap().name, "app-vpc");
    assert!(vpcs.get_opt(&created.id).await.unwrap().is_some());
    assert!(vpcs
        .get_opt("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap()
        .is_none());
    assert_eq!(vpcs.list().await.unwrap().len(), 1);

    let updated = vpcs
        .update(&created.id)
        .disable_public_access(true)
        .send()
        .await
        .unwrap();
    assert!(updated.egress.unwrap().disable_public_access);
    assert!(
        updated.ingress.unwrap().disable_public_services,
        "fields outside the mask keep their values"
    );
    assert_eq!(updated.dhcp.unwrap().dns.unwrap().servers, ["1.1.1.1"]);

    let legacy = vpcs
        .create("legacy-vpc")
        .zone("US-EAST-06A")
        .host_prefix("10.30.0.0/16")
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.host_prefixes[0].name, "host primary");

    let deleted = vpcs.delete(&created.id).await.unwrap();
    assert_eq!(deleted.id, created.id);
    assert!(vpcs.get_opt(&created.id).await.unwrap().is_none());
}

async fn every_gateway_rpc_through_the_typed_api(transport: Transport) {
    let mock = instant_mock().await;
    let client = client(&mock, transport, &unique_token("gw-rpcs"));
    let gateways = client.gateways();

    let zones = gateways.parameters().await.unwrap().zones;
    assert!(zones.contains(&"US-EAST-04A".to_owned()));

    let before = SystemTime::now() - Duration::from_secs(1);
    let created = gateways
        .create("llm-gateway")
        .zones(["us-east-04a"])
        .weights_and_biases_auth(WeightsAndBiasesAuth {
            api_key: "secret".into(),
            server_url: "https://api.wandb.ai".into(),
            enable_usage_reports: true,
            enable_rate_limiting: false,
        })
        .header_based_routing("x-model")
        .additional_dns(["llm.example.com"])
        .send()
        .await
        .unwrap();
    let spec = created.spec.clone().unwrap();
    assert!(
        uuid::Uuid::parse_str(&spec.id).is_ok(),
        "the client chose a UUID"
    );
    assert_eq!(spec.zones, ["US-EAST-04A"]);

    assert_eq!(
        gateways.get(&spec.id).await.unwrap().spec.unwrap().name,
        "llm-gateway"
    );
    assert!(gateways
        .get_opt("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap()
        .is_none());
    assert_eq!(gateways.list().await.unwrap().len(), 1);
    assert_eq!(
        gateways.list().updated_after(before).await.unwrap().len(),
        1
    );
    let later = SystemTime::now() + Duration::from_secs(60);
    assert!(gateways
        .list()
        .updated_after(later)
        .send()
        .await
        .unwrap()
        .is_empty());

    let edited = gateways
        .edit(&spec)
        .core_weave_auth()
        .path_based_routing()
        .send()
        .await
        .unwrap();
    let edited_spec = edited.spec.unwrap();
    assert_eq!(
        edited_spec.name, "llm-gateway",
        "edit keeps what it does not change"
    );
    assert_eq!(
        edited_spec.endpoint_configuration.unwrap().additional_dns,
        ["llm.example.com"]
    );

    let replaced = gateways
        .update(&spec.id)
        .name("renamed")
        .core_weave_auth()
        .body_based_routing()
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.spec.unwrap().name, "renamed");

    let own_id = "0e9f5b7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    let chosen = gateways
        .create("chosen")
        .id(own_id)
        .core_weave_auth()
        .path_based_routing()
        .send()
        .await
        .unwrap();
    assert_eq!(chosen.spec.unwrap().id, own_id);

    gateways.delete(&spec.id).await.unwrap();
    gateways.delete(own_id).await.unwrap();
    assert!(gateways.list().await.unwrap().is_empty());
}

async fn every_error_kind_comes_from_a_real_response(transport: Transport) {
    let limits = Limits {
        max_vpcs_per_org: Some(1),
        ..Limits::default()
    };
    let mock = start(
        MockServer::builder()
            .transition_delay(Duration::from_secs(60))
            .limits(limits)
            .token("CW-SECRET-kinds")
            .fault(Fault::fail(
                Method::GetGatewayParameters,
                1,
                Code::PermissionDenied,
            ))
            .fault(Fault::fail(Method::ListGateways, 1, Code::Internal))
            .fault(Fault::fail(Method::GetGateway, 1, Code::Unimplemented))
            .fault(Fault::fail(Method::DeleteGateway, 1, Code::Aborted))
            .fault(Fault::fail(Method::ListVpcs, 9, Code::Unavailable)),
    )
    .await;
    let client = client_with(
        &mock,
        transport,
        "CW-SECRET-kinds",
        RetryPolicy::no_retries(),
        Duration::from_secs(5),
    );
    let vpcs = client.vpcs();

    let error = vpcs
        .create("Bad Name")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(error.field_violations()[0].field, "name");
    assert!(
        error.to_string().starts_with("INVALID_ARGUMENT: name: "),
        "{error}"
    );

    let error = vpcs
        .get("5b1f0e8e-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(
        error.resource_info().unwrap().resource_name,
        "5b1f0e8e-0000-4000-8000-000000000000"
    );

    let vpc = vpcs
        .create("only")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap();
    let error = vpcs
        .create("only")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AlreadyExists);
    assert!(error.resource_info().is_some());

    let error = vpcs
        .create("second")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ResourceExhausted);
    assert!(!error.quota_violations().is_empty());
    assert!(!error.is_retryable());

    vpcs.delete(&vpc.id).await.unwrap();
    let error = vpcs
        .update(&vpc.id)
        .disable_public_access(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::FailedPrecondition);
    assert_eq!(
        error.precondition_violations()[0].subject,
        format!("vpcs/{}", vpc.id)
    );

    let error = client_with(
        &mock,
        transport,
        "CW-SECRET-wrong",
        RetryPolicy::no_retries(),
        Duration::from_secs(5),
    )
    .vpcs()
    .get("x")
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);

    let gateways = client.gateways();
    assert_eq!(
        gateways.parameters().await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        gateways.list().await.unwrap_err().kind(),
        ErrorKind::Internal
    );
    assert_eq!(
        gateways.get("x").await.unwrap_err().kind(),
        ErrorKind::Unimplemented
    );
    assert_eq!(
        gateways.delete("x").await.unwrap_err().kind(),
        ErrorKind::Aborted
    );
    let error = vpcs.list().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    assert!(error.is_retryable());
}

async fn reads_retry_through_injected_unavailable(transport: Transport) {
    let (_mock, client) = faulty_mock(
        transport,
        "retry",
        [
            Fault::fail(Method::ListVpcs, 3, Code::Unavailable),
            Fault::fail(Method::GetGatewayParameters, 2, Code::ResourceExhausted),
        ],
    )
    .await;
    assert!(client.vpcs().list().await.unwrap().is_empty());
    assert!(!client
        .gateways()
        .parameters()
        .await
        .unwrap()
        .zones
        .is_empty());
}

async fn retries_stop_at_max_attempts(transport: Transport) {
    let mock =
        start(MockServer::builder().fault(Fault::fail(Method::ListVpcs, 10, Code::Unavailable)))
            .await;
    let token = unique_token("max-attempts");
    let policy = RetryPolicy {
        max_attempts: 3,
        ..fast_retries()
    };
    let error = client_with(&mock, transport, &token, policy, Duration::from_secs(5))
        .vpcs()
        .list()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    // Exactly three attempts were used: seven injected failures remain.
    let mut raw = vpc_stub(&mock, &token);
    for _ in 0..7 {
        assert_eq!(
            raw.list_vp_cs(ListVpCsRequest {}).await.unwrap_err().code(),
            Code::Unavailable
        );
    }
    assert!(raw.list_vp_cs(ListVpCsRequest {}).await.is_ok());
}

async fn non_retryable_errors_are_not_retried(transport: Transport) {
    let mock = start(MockServer::builder().fault(Fault::fail(
        Method::ListVpcs,
        2,
        Code::PermissionDenied,
    )))
    .await;
    let token = unique_token("no-retry");
    let error = client_with(
        &mock,
        transport,
        &token,
        fast_retries(),
        Duration::from_secs(5),
    )
    .vpcs()
    .list()
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    // One attempt only: the second injected failure is still there.
    let status = vpc_stub(&mock, &token)
        .list_vp_cs(ListVpCsRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

async fn a_lost_create_reply_never_makes_a_second_vpc(transport: Transport) {
    let (_mock, client) = faulty_mock(
        transport,
        "lost-vpc",
        [Fault::lose_reply(Method::CreateVpc, 1)],
    )
    .await;
    let vpc = client
        .vpcs()
        .create("lost-reply")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap();
    let all = client.vpcs().list().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, vpc.id);
}

async fn a_failed_vpc_create_that_did_not_land_is_retried_once_confirmed(transport: Transport) {
    let (_mock, client) = faulty_mock(
        transport,
        "retry-vpc",
        [Fault::fail(Method::CreateVpc, 2, Code::Unavailable)],
    )
    .await;
    let vpc = client
        .vpcs()
        .create("eventually")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap();
    assert_eq!(
        client
            .vpcs()
            .list()
            .await
            .unwrap()
            .iter()
            .map(|v| &v.id)
            .collect::<Vec<_>>(),
        [&vpc.id]
    );
}

async fn a_vpc_create_is_not_retried_when_the_outcome_cannot_be_checked(transport: Transport) {
    let mock = start(
        MockServer::builder()
            .fault(Fault::lose_reply(Method::CreateVpc, 1))
            .fault(Fault::fail(Method::ListVpcs, 100, Code::Unavailable)),
    )
    .await;
    let token = unique_token("unknown-outcome");
    let policy = RetryPolicy {
        max_attempts: 2,
        ..fast_retries()
    };
    let error = client_with(&mock, transport, &token, policy, Duration::from_secs(5))
        .vpcs()
        .create("unknown")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    mock.faults().clear();
    let items = vpc_stub(&mock, &token)
        .list_vp_cs(ListVpCsRequest {})
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(items.len(), 1, "exactly the one create that landed");
}

async fn lost_gateway_create_replies_never_make_a_second_gateway(transport: Transport) {
    let (_mock, client) = faulty_mock(
        transport,
        "lost-gw",
        [Fault::lose_reply(Method::CreateGateway, 2)],
    )
    .await;
    let gateway = client
        .gateways()
        .create("lost")
        .core_weave_auth()
        .path_based_routing()
        .send()
        .await
        .unwrap();
    let all = client.gateways().list().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].spec.as_ref().unwrap().id, gateway.spec.unwrap().id);
}

async fn waiters_follow_the_transition_delay(transport: Transport) {
    let mock = start(MockServer::builder().transition_delay(Duration::from_millis(150))).await;
    let client = client(&mock, transport, &unique_token("waiters"));
    let wait = fast_wait(Duration::from_secs(10));

    let vpc = client
        .vpcs()
        .create("waited")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap();
    assert_eq!(vpc.status(), vpc::Status::Creating);
    let ready = client.vpcs().wait_until_ready(&vpc.id, wait).await.unwrap();
    assert_eq!(ready.status(), vpc::Status::Ready);
    client.vpcs().delete_and_wait(&vpc.id, wait).await.unwrap();
    assert!(client.vpcs().get_opt(&vpc.id).await.unwrap().is_none());

    let gateway = client
        .gateways()
        .create("waited")
        .core_weave_auth()
        .body_based_routing()
        .send_and_wait(wait)
        .await
        .unwrap();
    let status = gateway.status.as_ref().unwrap();
    assert_eq!(status.status(), GatewayStatus::Ready);
    assert!(!status.endpoints.is_empty());
    let id = gateway.spec.unwrap().id;

    // Waiting for READY on a deleting gateway is an unexpected state, not a hang.
    client.gateways().delete(&id).await.unwrap();
    let error = client
        .gateways()
        .wait_until_ready(&id, wait)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnexpectedState);
    client
        .gateways()
        .wait_until_deleted(&id, wait)
        .await
        .unwrap();

    // A VPC that is READY is not "being deleted".
    let vpc = client
        .vpcs()
        .create("stays")
        .zone("US-EAST-04A")
        .send_and_wait(wait)
        .await
        .unwrap();
    let error = client
        .vpcs()
        .wait_until_deleted(&vpc.id, wait)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnexpectedState);
}

async fn a_wait_that_runs_out_reports_the_last_state_seen(transport: Transport) {
    let mock = start(MockServer::builder().transition_delay(Duration::from_secs(3600))).await;
    let client = client(&mock, transport, &unique_token("wait-timeout"));
    let vpc = client
        .vpcs()
        .create("slow")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap();
    let started = Instant::now();
    let error = client
        .vpcs()
        .wait_until_ready(&vpc.id, fast_wait(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.kind(), ErrorKind::WaitTimeout);
    assert!(error.is_timeout());
    match error.last_seen() {
        Some(LastSeen::Vpc(last)) => assert_eq!(last.status(), vpc::Status::Creating),
        other => panic!("last seen: {other:?}"),
    }
}

async fn a_slow_server_is_a_timeout(transport: Transport) {
    let mock =
        start(MockServer::builder().fault(Fault::delay(Method::ListVpcs, Duration::from_secs(30))))
            .await;
    let client = client_with(
        &mock,
        transport,
        &unique_token("slow"),
        RetryPolicy::no_retries(),
        Duration::from_millis(200),
    );
    let started = Instant::now();
    let error = client.vpcs().list().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let worded = "ListVPCs timed out after 200ms";
    assert_eq!(error.message(), worded, "one wording on both transports");

    // The overall budget bounds retries of a slow call too, and says so.
    let budget = RetryPolicy {
        total_timeout: Duration::from_millis(500),
        ..fast_retries()
    };
    let client = client_with(
        &mock,
        transport,
        &unique_token("slow-budget"),
        budget,
        Duration::from_millis(200),
    );
    let started = Instant::now();
    let error = client.vpcs().list().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OutOfBudget, "{error:?}");
    let last = std::error::Error::source(&error).expect("the last attempt's error");
    assert!(last.to_string().starts_with("TIMEOUT"), "{last}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

async fn connection_refused_is_a_quick_connect_error(transport: Transport) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .transport(transport)
        .token("t")
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.vpcs().list().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connect, "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("CONNECT: connection refused to 127.0.0.1:{port}")
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // A create that never reached a server is safe to retry, and still fails as Connect.
    let error = client
        .vpcs()
        .create("x")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connect);
}

#[tokio::test]
async fn bad_configuration_is_an_error_not_a_panic() {
    for (endpoint, token) in [
        ("http://127.0.0.1:1", ""),
        ("not a url", "t"),
        ("ftp://x", "t"),
        ("http://127.0.0.1:1", "has space"),
    ] {
        let error = Client::builder()
            .endpoint(endpoint)
            .token(token)
            .build()
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config, "{endpoint:?} {token:?}");
    }
    let client = Client::from_env_with(|key| match key {
        "COREWEAVE_API_TOKEN" => Some("CW-SECRET-env".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(client.endpoint(), "https://api.coreweave.com");
    assert!(
        !format!("{client:?}").contains("CW-SECRET-env"),
        "the token leaked into Debug"
    );
}

async fn a_list_of_ten_thousand_vpcs_fits(transport: Transport) {
    // Ten times the default quota of 1,000.
    let mock = mock_with_vpc_quota(10_000).await;
    let token = unique_token("big-list");
    let client = client(&mock, transport, &token);
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let vpcs = client.vpcs();
        tasks.push(tokio::spawn(async move {
            for i in (worker..10_000).step_by(16) {
                vpcs.create(format!("vpc-{i:05}"))
                    .zone("US-EAST-04A")
                    .vpc_prefix("p", "172.16.0.0/16")
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let all = client.vpcs().list().await.unwrap();
    assert_eq!(all.len(), 10_000);
    let unique: std::collections::HashSet<&str> = all.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(unique.len(), 10_000);
    let bytes = coreweave_api::networking::v1beta1::ListVpCsResponse { items: all }.encoded_len();
    println!(
        "ListVPCs with 10,000 VPCs: {bytes} bytes ({:.2} MiB)",
        bytes as f64 / 1048576.0
    );
}

async fn an_https_endpoint_speaks_tls(transport: Transport) {
    // The mock is plaintext, so a TLS client cannot complete its handshake: the failure is a
    // connection error, which shows the client did attempt TLS.
    let mock = instant_mock().await;
    let endpoint = mock.endpoint().replace("http://", "https://");
    let client = Client::builder()
        .endpoint(endpoint)
        .transport(transport)
        .token("t")
        .retry_policy(RetryPolicy::no_retries())
        .build()
        .unwrap();
    let error = client.vpcs().list().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connect, "{error:?}");
    let hint = "the server does not speak TLS: for a plaintext server";
    assert!(error.to_string().contains(hint), "{error}");
    let chain = format!("{:?}", std::error::Error::source(&error));
    // rustls rejects the plaintext HTTP/2 bytes as an invalid TLS record.
    assert!(chain.contains("InvalidContentType"), "{chain}");
}

#[tokio::test]
async fn raw_requests_and_stubs_are_an_escape_hatch() {
    use coreweave_api::{
        inference::v1alpha1::{create_gateway_request, CreateGatewayRequest, PathBasedRouting},
        networking::v1beta1::{CreateVpcRequest, Ingress, UpdateVpcRequest},
        proto::FieldMask,
    };
    let mock = instant_mock().await;
    let client = client(&mock, Transport::Grpc, &unique_token("raw"));
    let vpc = client
        .vpcs()
        .create_from(CreateVpcRequest {
            name: "raw".into(),
            zone: "US-EAST-04A".into(),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();
    let updated = client
        .vpcs()
        .update_from(UpdateVpcRequest {
            id: vpc.id.clone(),
            update_mask: Some(FieldMask::new(["ingress.disablePublicServices"])),
            ingress: Some(Ingress {
                disable_public_services: true,
            }),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();
    assert!(updated.ingress.unwrap().disable_public_services);

    let gateway = client
        .gateways()
        .create_from(CreateGatewayRequest {
            name: "raw".into(),
            auth: Some(create_gateway_request::Auth::CoreWeaveAuth(
                Default::default(),
            )),
            routing: Some(create_gateway_request::Routing::PathBasedRouting(
                PathBasedRouting {},
            )),
            ..Default::default()
        })
        .send()
        .await
        .unwrap();
    assert!(!gateway.spec.unwrap().id.is_empty());

    // The generated stub, with the client's token and timeout on the request.
    let items = client
        .vpc_stub()
        .list_vp_cs(client.authorize(ListVpCsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(items.len(), 1);
}

async fn a_large_error_arrives_bounded_instead_of_vanishing(transport: Transport) {
    let mut faults = Vec::new();
    for size in [17_000, 100_000] {
        let message = "m".repeat(size);
        let details = tonic_types::ErrorDetails::with_bad_request_violation("name", "bad");
        faults.push(Fault::fail_with(
            Method::GetVpc,
            1,
            Code::InvalidArgument,
            message,
            details,
        ));
    }
    let (_mock, client) = faulty_mock(transport, "large-error", faults).await;
    for _ in 0..2 {
        let error = client.vpcs().get("v").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
        assert_eq!(
            error.field_violations()[0].field,
            "name",
            "the details arrive too"
        );
        let kept = error.message().chars().count();
        assert_eq!(kept, coreweave_api::MAX_MESSAGE_CHARS + 1, "cut and marked");
    }
}

async fn a_failed_or_erroring_gateway_ends_the_wait_with_its_reason(transport: Transport) {
    let mock = start(MockServer::builder().transition_delay(Duration::from_secs(3600))).await;
    let token = unique_token("failed-gw");
    let client = client(&mock, transport, &token);
    for (status, label) in [
        (GatewayStatus::Failed, "STATUS_FAILED"),
        (GatewayStatus::Error, "STATUS_ERROR"),
    ] {
        let gateway = client
            .gateways()
            .create("doomed")
            .core_weave_auth()
            .path_based_routing()
            .send()
            .await
            .unwrap();
        let id = gateway.spec.unwrap().id;
        mock.force_gateway_state(
            &Scope::token(&token),
            &id,
            status,
            "no capacity in US-EAST-04A",
        )
        .unwrap();
        let error = client
            .gateways()
            .wait_until_ready(&id, fast_wait(Duration::from_secs(10)))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ResourceFailed, "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(label) && message.contains("no capacity in US-EAST-04A"),
            "{message}"
        );
        match error.last_seen() {
            Some(LastSeen::Gateway(last)) => {
                assert_eq!(last.status.as_ref().unwrap().status(), status)
            }
            other => panic!("last seen: {other:?}"),
        }
    }
}

async fn a_lost_reply_scripted_for_one_organization_makes_no_duplicate(transport: Transport) {
    let mock = instant_mock().await;
    let (token, other) = (unique_token("scoped-lose"), unique_token("scoped-other"));
    mock.faults()
        .add(Fault::lose_reply(Method::CreateVpc, 1).for_token(&token))
        .unwrap();
    let client = client_with(
        &mock,
        transport,
        &token,
        fast_retries(),
        Duration::from_secs(5),
    );
    let vpc = client
        .vpcs()
        .create("once")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap();
    let listed = client.vpcs().list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, vpc.id);
    // The other organization's create was never touched.
    let other = client_with(
        &mock,
        transport,
        &other,
        RetryPolicy::no_retries(),
        Duration::from_secs(5),
    );
    other
        .vpcs()
        .create("once")
        .zone("US-EAST-04A")
        .send()
        .await
        .unwrap();
}

/// Runs each test body once per transport, as `grpc::<name>` and `rest::<name>`: one suite,
/// both wires.
macro_rules! on_both_transports {
    ($($test:ident),+ $(,)?) => {
        mod grpc {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(coreweave_api::Transport::Grpc).await
                }
            )+
        }
        mod rest {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(coreweave_api::Transport::Rest).await
                }
            )+
        }
    };
}

on_both_transports!(
    every_vpc_rpc_through_the_typed_api,
    every_gateway_rpc_through_the_typed_api,
    every_error_kind_comes_from_a_real_response,
    reads_retry_through_injected_unavailable,
    retries_stop_at_max_attempts,
    non_retryable_errors_are_not_retried,
    a_lost_create_reply_never_makes_a_second_vpc,
    a_failed_vpc_create_that_did_not_land_is_retried_once_confirmed,
    a_vpc_create_is_not_retried_when_the_outcome_cannot_be_checked,
    lost_gateway_create_replies_never_make_a_second_gateway,
    waiters_follow_the_transition_delay,
    a_wait_that_runs_out_reports_the_last_state_seen,
    a_slow_server_is_a_timeout,
    connection_refused_is_a_quick_connect_error,
    a_list_of_ten_thousand_vpcs_fits,
    an_https_endpoint_speaks_tls,
    a_failed_or_erroring_gateway_ends_the_wait_with_its_reason,
    a_large_error_arrives_bounded_instead_of_vanishing,
    a_lost_reply_scripted_for_one_organization_makes_no_duplicate,
);
