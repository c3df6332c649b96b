//! The client against servers that answer as no well-behaved one would, but a broken one, a
//! proxy or an attacker may: a `Retry-After` of centuries, error bodies of megabytes and
//! thousands of violations, an unknown status mid-delete. The client must neither panic, nor
//! wait out its budget, nor hold what it was sent.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    body::Body,
    extract::State,
    http::{header, Request, StatusCode},
    response::{IntoResponse, Response},
    Router,
};
use coreweave_api::{Client, ErrorKind, RetryPolicy, Transport, WaitOptions, MAX_VIOLATIONS};
use serde_json::json;

type Handler = fn(usize, &Request<Body>) -> Response;

/// Serves `handler` on a free local port to a REST client; it gets the number of the request
/// (from 0).
async fn serve(handler: Handler) -> Client {
    serve_to(handler, Transport::Rest).await
}

/// Serves `handler` (over HTTP/1.1 and HTTP/2) to a client of `transport`.
async fn serve_to(handler: Handler, transport: Transport) -> Client {
    let count = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .fallback(
            move |State(count): State<Arc<AtomicUsize>>, request: Request<Body>| async move {
                handler(count.fetch_add(1, Ordering::Relaxed), &request)
            },
        )
        .with_state(count);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let fast = RetryPolicy {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        total_timeout: Duration::from_secs(20),
        ..RetryPolicy::default()
    };
    Client::builder()
        .endpoint(format!("http://{addr}"))
        .token("CW-SECRET-hostile-server")
        .transport(transport)
        .retry_policy(fast)
        .build()
        .unwrap()
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    let headers = [(header::CONTENT_TYPE, "application/json")];
    (status, headers, body.to_string()).into_response()
}

/// Guards a call that must end by itself, so that a broken client fails the test rather than
/// hanging it.
async fn bounded<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the call ended by itself")
}

#[tokio::test]
async fn a_retry_after_past_the_budget_ends_the_call_at_once() {
    let client = serve(|_, _| {
        let headers = [(header::RETRY_AFTER, "18446744073709551615")];
        (StatusCode::SERVICE_UNAVAILABLE, headers, "").into_response()
    })
    .await;
    let error = bounded(client.vpcs().get("v")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OutOfBudget, "{error}");
    assert!(
        error.to_string().contains("503"),
        "names the last error: {error}"
    );
}

#[tokio::test]
async fn an_error_of_thousands_of_violations_is_kept_bounded() {
    let client = serve(|_, _| {
        let violations: Vec<_> = (0..5_000)
            .map(|i| json!({"field": format!("vpc_prefixes[{i}].value"), "description": "x".repeat(100)}))
            .collect();
        let body = json!({"code": 3, "message": "m".repeat(100_000), "details": [{
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": violations,
        }]});
        json_response(StatusCode::BAD_REQUEST, body)
    })
    .await;
    let error = bounded(client.vpcs().get("v")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(error.field_violations().len(), MAX_VIOLATIONS);
    assert_eq!(error.unlisted_violations(), 5_000 - MAX_VIOLATIONS);
    let shown = error.to_string();
    assert!(shown.len() < 2_000, "{} bytes", shown.len());
    assert!(
        shown.ends_with(&format!("and {} more", 5_000 - 8)),
        "{shown}"
    );
    assert!(error.message().chars().count() <= coreweave_api::MAX_MESSAGE_CHARS + 1);
    let debugged = format!("{error:?}");
    assert!(
        debugged.starts_with("INVALID_ARGUMENT: ") && debugged.len() < 2_100,
        "{debugged}"
    );
}

#[tokio::test]
async fn an_error_body_over_a_mebibyte_is_not_read() {
    let client = serve(|_, _| {
        let body = json!({"code": 3, "message": "m".repeat(2 * 1024 * 1024)});
        json_response(StatusCode::BAD_REQUEST, body)
    })
    .await;
    let error = bounded(client.vpcs().get("v")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    assert_eq!(error.http_status(), Some(400));
    assert!(error.to_string().len() < 500, "{error}");
}

#[tokio::test]
async fn the_delete_waiter_keeps_waiting_on_a_status_it_does_not_know() {
    let client = serve(|n, request| {
        let vpc = |status: &str| json!({"vpc": {"id": "v", "name": "v", "status": status}});
        match (request.method().as_str(), n) {
            ("DELETE", _) => json_response(StatusCode::OK, vpc("STATUS_DELETING")),
            // Production may report a status this client does not know, mid-delete.
            (_, 1 | 2) => json_response(StatusCode::OK, vpc("STATUS_DRAINING")),
            _ => json_response(
                StatusCode::NOT_FOUND,
                json!({"code": 5, "message": "VPC v not found"}),
            ),
        }
    })
    .await;
    let wait = WaitOptions::new(Duration::from_secs(30)).poll_interval(Duration::from_millis(5));
    bounded(client.vpcs().delete_and_wait("v", wait))
        .await
        .expect("an unknown status mid-delete keeps the wait going");
}

#[tokio::test]
async fn a_grpc_status_over_the_header_limit_is_an_error_that_says_so_at_once() {
    fn status_of_17_mib(_: usize, _: &Request<Body>) -> Response {
        let headers = [
            ("content-type", "application/grpc".to_owned()),
            ("grpc-status", "3".to_owned()),
            ("grpc-message", "m".repeat(17 * 1024 * 1024)),
        ];
        headers.into_response()
    }
    let client = serve_to(status_of_17_mib, Transport::Grpc).await;
    let error = bounded(client.vpcs().get("x")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal, "{error}");
    assert!(!error.is_retryable(), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("could not be read") && message.contains("limit of 16 MiB"),
        "{message}"
    );
    assert!(message.len() < 400, "{message}");
}
