//! The Connect protocol's unary calls (`POST /<package>.<Service>/<Method>` with
//! `application/json` or `application/proto`), so connect-based clients such as connect-go
//! can use the mock. Every call goes to the gRPC service itself.

use std::{sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, Method, Request, StatusCode},
    response::Response,
    routing::any,
    Router,
};
use coreweave_api::json::{self, ApiMessage, IgnoredKeys, Output, Unknown};
use futures_util::FutureExt;

use crate::pipeline::{journal::Protocol, Answer, MockState};
use prost::{Message, Name};
use tonic::Status;

use super::{
    body::{answer, media_type, ok_response, parse_json, read_limited, JsonRequest, RequestBody},
    dispatch::{Invoke, RequestMessage, ServiceCall},
    error::connect_error,
    Apis,
};

/// The Connect route: `POST /<package>.<Service>/<Method>` that is not gRPC. Other
/// two-segment paths get the REST 404.
pub(crate) fn routes() -> Router<Apis> {
    Router::new().route("/{service}/{method}", any(unary))
}

/// How a Connect request and its response are encoded.
#[derive(Debug, Clone, Copy)]
enum Codec {
    Json,
    Proto,
}

impl Codec {
    fn from_headers(headers: &HeaderMap) -> Result<Self, Status> {
        match media_type(headers).as_deref() {
            Some("application/json") => Ok(Self::Json),
            Some("application/proto") => Ok(Self::Proto),
            other => Err(Status::invalid_argument(format!(
                "unsupported content type {:?}: Connect unary calls use application/json or application/proto",
                other.unwrap_or("")
            ))),
        }
    }

    fn decode<T: Message + Name + Default + Send + 'static>(
        self,
        body: Bytes,
        unknown: Unknown,
    ) -> Answer<Result<JsonRequest<T>, Status>> {
        match self {
            Self::Json => parse_json(body, unknown),
            Self::Proto => Answer::Now(
                T::decode(body)
                    .map(|message| JsonRequest {
                        message,
                        ignored: IgnoredKeys::default(),
                    })
                    .map_err(|e| Status::invalid_argument(format!("invalid protobuf body: {e}"))),
            ),
        }
    }

    /// The response: canonical proto3 JSON (defaults left out, as connect-go writes it) or
    /// protobuf.
    fn encode<T: ApiMessage>(self, message: &T) -> Response {
        let (content_type, bytes) = match self {
            Self::Json => match json::to_vec(message, Output::Canonical) {
                Ok(bytes) => ("application/json", bytes),
                Err(e) => {
                    return connect_error(&Status::internal(format!(
                        "cannot encode the response: {e}"
                    )))
                }
            },
            Self::Proto => ("application/proto", message.encode_to_vec()),
        };
        ok_response(content_type, bytes)
    }
}

/// The client's deadline, from `connect-timeout-ms`.
fn timeout(headers: &HeaderMap) -> Option<Duration> {
    let millis = headers
        .get("connect-timeout-ms")?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    Some(Duration::from_millis(millis))
}

/// Whether `path` names a procedure, `/<package>.<Service>/<Method>`, as Connect calls do.
pub(crate) fn is_procedure(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    matches!(
        (segments.next(), segments.next(), segments.next()),
        (Some(service), Some(method), None) if service.contains('.') && !method.is_empty()
    )
}

/// The API's RPC at `path`, a procedure served by [`routes`] with the API's JSON rules;
/// `None` for other services' procedures, whose Connect calls are bridged to their gRPC
/// services.
pub(crate) fn api_procedure(path: &str) -> Option<coreweave_api::rpc::Method> {
    // A REST path's first segment (`v1beta1`) has no dot: no need to look further.
    let (service, _) = path.strip_prefix('/')?.split_once('/')?;
    if !service.contains('.') {
        return None;
    }
    path.parse().ok()
}

async fn unary(
    State(apis): State<Apis>,
    Path((service, method)): Path<(String, String)>,
    request: Request<Body>,
) -> Response {
    if !service.contains('.') {
        return super::no_route(&request);
    }
    let Some(rpc) = api_procedure(request.uri().path()) else {
        return connect_error(&Status::unimplemented(format!(
            "unknown procedure /{service}/{method}"
        )));
    };
    serve(&Arc::new(apis), rpc, request).await
}

/// Runs a Connect unary call of the API's `rpc`, within its `connect-timeout-ms`, once its
/// body has arrived.
pub(crate) fn serve(
    apis: &Arc<Apis>,
    rpc: coreweave_api::rpc::Method,
    request: Request<impl RequestBody>,
) -> Answer<Response> {
    if request.method() != Method::POST {
        let status = Status::unimplemented(format!(
            "Connect unary calls use POST, not {}",
            request.method()
        ));
        let mut response = connect_error(&status);
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        return Answer::Now(response);
    }
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let codec = match Codec::from_headers(&headers) {
        Ok(codec) => codec,
        Err(status) => return refused(apis, rpc, &headers, &status),
    };
    let limit = timeout(&headers);
    let apis = Arc::clone(apis);
    let call = async move {
        let body = match read_limited(body, apis.max_body_bytes).await {
            Ok(body) => body,
            Err(status) => return refused(&apis, rpc, &headers, &status).await,
        };
        let call = Call {
            codec,
            headers,
            body,
            unknown: apis.unknown_keys,
            rpc,
            state: Arc::clone(&apis.state),
        };
        super::dispatch::dispatch(&apis, rpc, call).await
    };
    match limit {
        None => Answer::later(call),
        Some(limit) => Answer::later(
            tokio::time::timeout(limit, call)
                .map(move |answered| answered.unwrap_or_else(|_| deadline_exceeded(limit))),
        ),
    }
}

/// The answer to a call whose request could not be read, journaled as a near miss.
fn refused(
    apis: &Apis,
    rpc: coreweave_api::rpc::Method,
    headers: &HeaderMap,
    status: &Status,
) -> Answer<Response> {
    apis.state
        .journal_refused(rpc, Protocol::Connect, headers, &[], status);
    Answer::Now(connect_error(status))
}

/// The answer to a call that ran past its `connect-timeout-ms`.
fn deadline_exceeded(limit: Duration) -> Response {
    connect_error(&Status::deadline_exceeded(format!(
        "the call exceeded its {limit:?} deadline"
    )))
}

/// One decoded Connect call.
struct Call {
    codec: Codec,
    headers: HeaderMap,
    body: Bytes,
    unknown: Unknown,
    /// The RPC and the state, to journal a body that does not decode.
    rpc: coreweave_api::rpc::Method,
    state: Arc<MockState>,
}

impl Invoke for Call {
    type Output = Response;

    fn invoke<Req: RequestMessage>(self, call: impl ServiceCall<Req>) -> Answer<Response> {
        let codec = self.codec;
        let body = self.body.clone();
        let (headers, state, rpc) = (self.headers, self.state, self.rpc);
        let decoded = codec.decode::<Req>(self.body, self.unknown);
        decoded.then(move |decoded| {
            answer(
                decoded,
                headers,
                Protocol::Connect,
                call,
                move |headers, status| {
                    state.journal_refused(rpc, Protocol::Connect, headers, &body, status);
                },
                move |outcome| match outcome {
                    Ok(response) => codec.encode(&response),
                    Err(status) => connect_error(&status),
                },
            )
        })
    }
}
