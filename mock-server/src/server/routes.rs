//! The plain-HTTP routes of the one port: the API's REST and Connect front doors, the
//! control API (unless turned off), `/healthz` and `/metrics`, with a JSON 404 for any
//! other path.

use std::sync::atomic::Ordering;

use axum::{
    extract::State,
    http::{header, Request, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use crate::{
    control,
    protocol::{body, connect, method_not_allowed, no_route, rest, Apis, CONTROL_PATH_PREFIX},
};

/// The router for REST, Connect, `/healthz` and (with `control`) the control API under
/// `/_mock/v1/`, with a JSON 404 for unknown paths.
pub(crate) fn router(apis: Apis, control: bool) -> Router {
    let mut router = rest::routes()
        .merge(connect::routes())
        .route("/healthz", get(healthz).fallback(method_not_allowed))
        .route("/metrics", get(metrics).fallback(method_not_allowed));
    if control {
        router = router.merge(control::http::routes());
    }
    let router = router
        .fallback(move |request: Request<axum::body::Body>| async move {
            let path = request.uri().path();
            if path.starts_with(CONTROL_PATH_PREFIX) {
                control::http::no_control_route(path, control)
            } else {
                no_route(&request)
            }
        })
        .with_state(apis);
    body::with_compression(router)
}

/// `GET /metrics`: Prometheus text.
async fn metrics(State(apis): State<Apis>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    let state = &apis.state;
    let body = state
        .metrics
        .render(&state.store, state.transition_delay, |org| state.now(org));
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `GET /healthz`: 200 while serving; 503 while shutting down, or while the state file
/// cannot be written (with why), for orchestrators that speak plain HTTP.
async fn healthz(State(apis): State<Apis>) -> Response {
    if !apis.serving.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "NOT_SERVING\n").into_response();
    }
    match apis
        .state
        .state_file
        .as_ref()
        .and_then(|file| file.problem())
    {
        None => (StatusCode::OK, "SERVING\n").into_response(),
        Some(problem) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("NOT_SERVING: {problem}\n"),
        )
            .into_response(),
    }
}
