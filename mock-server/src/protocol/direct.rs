//! The direct door: an API call over REST or Connect that needs none of the HTTP router's
//! layers (no browser origin for CORS, no compressed body, no compressed answer asked for)
//! goes straight to its handler, found by the RPC table, rather than through axum's router,
//! tower-http's compression layers and CORS: about a third of the instructions of a Connect
//! call went there. Everything else, and anything the door does not plainly recognise, takes
//! the router, which answers it the same way plus the layers' work.

use std::sync::Arc;

use axum::http::{header, Request};
use axum::response::Response;

use super::{connect, rest, Apis};
use crate::pipeline::Answer;

/// Where a request goes when it takes the direct door.
#[derive(Debug)]
pub(super) enum Route {
    Rest(coreweave_api::rpc::Method, Option<String>),
    Connect(coreweave_api::rpc::Method),
}

/// The route of a request that may take the direct door; `None` for any other. `procedure`
/// is the API's RPC when the request's path names one as a Connect procedure.
pub(super) fn route_of<B>(
    request: &Request<B>,
    procedure: Option<coreweave_api::rpc::Method>,
) -> Option<Route> {
    let headers = request.headers();
    let plain = !headers.contains_key(header::ORIGIN)
        && !headers.contains_key(header::CONTENT_ENCODING)
        && headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .all(|value| {
                !value
                    .as_bytes()
                    .windows(4)
                    .any(|w| w.eq_ignore_ascii_case(b"gzip"))
            });
    if !plain {
        return None;
    }
    if let Some(rpc) = procedure {
        return Some(Route::Connect(rpc));
    }
    rest::route_of(request.method(), request.uri().path()).map(|(rpc, id)| Route::Rest(rpc, id))
}

/// Runs a request by its direct route: answered at once when it needs no wait. Its body is
/// hyper's own, read (if at all) without a box around it.
pub(super) fn serve(
    apis: &Arc<Apis>,
    route: Route,
    request: Request<hyper::body::Incoming>,
) -> Answer<Response> {
    match route {
        Route::Rest(rpc, id) => rest::serve(apis, rpc, id, request),
        Route::Connect(rpc) => connect::serve(apis, rpc, request),
    }
}
