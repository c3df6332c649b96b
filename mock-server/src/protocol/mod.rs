//! The protocols: the front doors onto the API services. Every protocol on the mock's one
//! port that is not plain gRPC (REST/JSON, Connect, gRPC-Web) is translated here into a call
//! of the same gRPC service implementation; bodies, codecs and protocol errors live here too.
//! Requests are routed by content type:
//!
//! | request | served as |
//! |---|---|
//! | `application/grpc-web*` | gRPC, translated by tonic-web, with CORS |
//! | `application/grpc*` | gRPC, without CORS (browsers cannot speak it) |
//! | `application/connect+proto` | Connect streaming, bridged to the gRPC services (server reflection for `buf curl`) |
//! | any of those with `+json` | the same, each JSON message rewritten as protobuf and back ([`transcode`]) |
//! | `POST /<package>.<Service>/<Method>` of the API | Connect unary, typed ([`connect`]) |
//! | `POST /<package>.<Service>/<Method>` of another service | Connect unary, bridged to its gRPC service ([`transcode`]) |
//! | anything else | REST |

mod access;
pub(crate) mod body;
mod bounded_json;
pub(crate) mod connect;
mod connect_stream;
mod direct;
mod dispatch;
pub(crate) mod error;
mod guard;
mod in_flight;
mod response_body;
pub(crate) mod rest;
mod transcode;

use std::{
    convert::Infallible,
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::{atomic::AtomicBool, Arc},
    task::{Context, Poll},
};

use axum::{
    http::{header, HeaderValue, Request, Response, Version},
    Router,
};
use hyper::body::Incoming;
use tonic_web::GrpcWebService;
use tower::{Layer, Service, ServiceExt};
use tower_http::cors::Cors;

#[cfg(test)]
pub(crate) use access::CONTROL_SERVICE_PREFIX;
pub(crate) use access::{ControlAccess, CONTROL_PATH_PREFIX};
pub(crate) use in_flight::InFlight;
pub(crate) use response_body::ResponseBody;
pub(crate) use transcode::Descriptors;

use crate::{
    api::gateway::GatewayApi,
    api::vpc::VpcApi,
    pipeline::journal::Protocol,
    pipeline::{answer::Later, Answer, MockState},
};

/// The services the HTTP protocols call into.
#[derive(Debug, Clone)]
pub(crate) struct Apis {
    /// The VPC service.
    pub vpcs: VpcApi,
    /// The gateway service.
    pub gateways: GatewayApi,
    /// The largest body accepted, in bytes.
    pub max_body_bytes: usize,
    /// What JSON request bodies may do with unknown keys: ignored and reported, or rejected
    /// (`--strict-json`).
    pub unknown_keys: coreweave_api::json::Unknown,
    /// The shared state, for the control API.
    pub state: Arc<MockState>,
    /// Whether the server is serving; `/healthz` answers 503 once it is shutting down.
    pub serving: Arc<AtomicBool>,
}

/// The REST 405 for a method a path does not serve.
pub(crate) async fn method_not_allowed(
    request: Request<axum::body::Body>,
) -> axum::response::Response {
    let status = tonic::Status::unimplemented(format!(
        "method {} is not allowed on {}",
        request.method(),
        request.uri().path()
    ));
    let mut response = error::rest_error(&status);
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// The REST 404 for a path no route serves.
pub(crate) fn no_route<B>(request: &Request<B>) -> axum::response::Response {
    use coreweave_api::rpc::Method;
    let status = tonic::Status::not_found(format!(
        "no route for {} {}; see {} and {}",
        request.method(),
        request.uri().path(),
        Method::ListVpcs.http().path,
        Method::ListGateways.http().path,
    ));
    error::rest_error(&status)
}

/// CORS for browser clients (gRPC-Web, Connect and REST from a page on another origin). The
/// mock is a local development server, so any origin may call it; the headers the protocols
/// need are allowed in and exposed back. Native gRPC needs HTTP/2 trailers, which no browser
/// can send, so its calls skip CORS and its `Vary` headers.
fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::HeaderName;
    use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
    let exposed = [
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "connect-protocol-version",
    ]
    .map(HeaderName::from_static);
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(exposed)
        .max_age(std::time::Duration::from_secs(600))
}

/// The protocol a request speaks, by its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// `application/grpc` and `application/grpc+proto`.
    Grpc,
    /// `application/grpc-web*`, which works over HTTP/1.1 too.
    GrpcWeb,
    /// `application/connect+proto`: Connect streaming.
    ConnectStream,
    /// `application/grpc+json`, `application/grpc-web+json`, `application/connect+json`:
    /// one of the three with the JSON codec.
    Json(Enveloped),
    /// A Connect unary call of a service without a typed front door (health, control).
    ConnectUnary,
    /// Everything else: REST, the API's Connect unary calls (with the RPC, parsed once for
    /// the direct door), the control API, CORS preflights.
    Http(Option<coreweave_api::rpc::Method>),
}

/// The protocols that frame messages in envelopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enveloped {
    Grpc,
    GrpcWeb,
    ConnectStream,
}

impl Enveloped {
    /// The content type of the protocol with the protobuf codec.
    fn proto_type(self) -> &'static str {
        match self {
            Self::Grpc => "application/grpc",
            Self::GrpcWeb => "application/grpc-web+proto",
            Self::ConnectStream => "application/connect+proto",
        }
    }
}

impl Wire {
    fn of<B>(request: &Request<B>) -> Self {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map_or(&b""[..], HeaderValue::as_bytes);
        let json = transcode::is_json(content_type);
        let enveloped = if content_type.starts_with(b"application/grpc-web") {
            Enveloped::GrpcWeb
        } else if content_type.starts_with(b"application/grpc") {
            Enveloped::Grpc
        } else if content_type.starts_with(b"application/connect+") {
            Enveloped::ConnectStream
        } else if request.method() == axum::http::Method::POST {
            let path = request.uri().path();
            return match connect::api_procedure(path) {
                Some(rpc) => Self::Http(Some(rpc)),
                None if connect::is_procedure(path) => Self::ConnectUnary,
                None => Self::Http(None),
            };
        } else {
            return Self::Http(None);
        };
        match (enveloped, json) {
            (envelope, true) => Self::Json(envelope),
            (Enveloped::Grpc, false) => Self::Grpc,
            (Enveloped::GrpcWeb, false) => Self::GrpcWeb,
            (Enveloped::ConnectStream, false) => Self::ConnectStream,
        }
    }

    /// The protocol the journal and metrics name for a call, where the gRPC services cannot
    /// tell it themselves: none for gRPC, their default (which spares each call an allocated
    /// request extension), nor for the HTTP router, which names its own (REST or Connect).
    fn protocol(self) -> Option<Protocol> {
        match self {
            Self::Grpc | Self::Http(_) | Self::Json(Enveloped::Grpc) => None,
            Self::GrpcWeb | Self::Json(Enveloped::GrpcWeb) => Some(Protocol::GrpcWeb),
            Self::ConnectStream | Self::ConnectUnary | Self::Json(Enveloped::ConnectStream) => {
                Some(Protocol::Connect)
            }
        }
    }
}

/// Whether a gRPC request's connection can carry the answer's trailers: HTTP/2, or HTTP/1.1
/// from a client that accepts them (`TE: trailers`), in a chunked body, as connect-go serves
/// it (connect-python's gRPC client speaks HTTP/1.1 by default).
fn can_carry_grpc<B>(request: &Request<B>) -> bool {
    request.version() >= Version::HTTP_2
        || (request.version() == Version::HTTP_11
            && request
                .headers()
                .get(header::TE)
                .is_some_and(|te| te.as_bytes().eq_ignore_ascii_case(b"trailers")))
}

/// Declares the trailers of a gRPC answer over HTTP/1.1, which hyper sends (in the chunked
/// body) only when the answer names them; a trailers-only answer has none.
fn declare_trailers(mut response: Response<tonic::body::Body>) -> Response<tonic::body::Body> {
    if !response.headers().contains_key("grpc-status") {
        response.headers_mut().insert(
            header::TRAILER,
            HeaderValue::from_static("grpc-status, grpc-message, grpc-status-details-bin"),
        );
    }
    response
}

/// The answer to gRPC over HTTP/1.x (or an h2c upgrade attempt, which arrives as HTTP/1.1):
/// 505 with a message that says what to do, and one log line.
fn grpc_needs_http2<B>(request: &Request<B>) -> Response<tonic::body::Body> {
    let message = "gRPC needs HTTP/2: use h2c with prior knowledge (grpcurl -plaintext, \
                   curl --http2-prior-knowledge) or TLS with ALPN h2; gRPC-Web works over HTTP/1.1";
    tracing::warn!(
        path = request.uri().path(),
        version = ?request.version(),
        "refused gRPC over HTTP/1.x"
    );
    let mut response = Response::new(tonic::body::Body::new(message.to_owned()));
    *response.status_mut() = axum::http::StatusCode::HTTP_VERSION_NOT_SUPPORTED;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    headers.insert("grpc-status", HeaderValue::from_static("14"));
    headers.insert(
        "grpc-message",
        HeaderValue::from_static("gRPC%20needs%20HTTP%2F2"),
    );
    response
}

/// How tonic's decoder describes a request it cannot read; it answers INTERNAL, as the gRPC
/// status-code guide says, but the real service (connect-go) answers INVALID_ARGUMENT.
const UNREADABLE_REQUEST: &[&str] = &[
    "failed to decode Protobuf message",
    "protocol error:",
    "Missing request message",
    "Unexpected EOF decoding stream",
    "Error decompressing",
    // gRPC-Web text that is not base64.
    "tonic-web: ",
];
/// How tonic's decoder describes a message over its size cap (OUT_OF_RANGE).
const TOO_LARGE: &str = "Error, decoded message length too large";
/// How tonic's decoder describes a compressed message that inflates past the size cap
/// (RESOURCE_EXHAUSTED, without the QuotaFailure the services' own refusal carries).
const INFLATED_TOO_LARGE: &str = "Error decompressing: size limit";

/// Rewrites tonic's errors for a request it could not read into the client's mistake they
/// are: INVALID_ARGUMENT for malformed bytes, RESOURCE_EXHAUSTED with a QuotaFailure for an
/// oversized message, compressed or not; and its CANCELLED for an expired `grpc-timeout`
/// into the DEADLINE_EXCEEDED that gRPC and Connect servers answer. Other statuses, the services' own, pass unchanged.
fn blame_the_request(response: &mut Response<tonic::body::Body>, limit: usize) {
    use tonic::{Code, Status};
    use tonic_types::{ErrorDetails, StatusExt};
    // Most answers carry their status in trailers; of those with it here, only INTERNAL,
    // OUT_OF_RANGE, RESOURCE_EXHAUSTED and CANCELLED can be tonic's own. One header tells, without
    // parsing the rest (a NOT_FOUND's details cost 8,000 instructions to parse).
    let code = response.headers().get(Status::GRPC_STATUS);
    let code = code.map(|code| Code::from_bytes(code.as_bytes()));
    if !matches!(
        code,
        Some(Code::Internal | Code::OutOfRange | Code::ResourceExhausted | Code::Cancelled)
    ) {
        return;
    }
    let Some(status) = Status::from_header_map(response.headers()) else {
        return;
    };
    let message = status.message();
    let replacement = match status.code() {
        Code::Internal if UNREADABLE_REQUEST.iter().any(|p| message.starts_with(p)) => {
            Status::invalid_argument(format!("the request is not a valid message: {message}"))
        }
        Code::OutOfRange if message.starts_with(TOO_LARGE) => {
            let description = format!("the request exceeds the limit of {limit} bytes");
            let details = ErrorDetails::with_quota_failure_violation("request size", &description);
            Status::with_error_details(Code::ResourceExhausted, description, details)
        }
        // tonic's own answer when the caller's `grpc-timeout` runs out.
        Code::Cancelled if message == "Timeout expired" => {
            Status::deadline_exceeded("the call did not finish within the deadline its caller set")
        }
        Code::ResourceExhausted if message.starts_with(INFLATED_TOO_LARGE) => {
            let description =
                format!("the request, decompressed, exceeds the limit of {limit} bytes");
            let details = ErrorDetails::with_quota_failure_violation("request size", &description);
            Status::with_error_details(Code::ResourceExhausted, description, details)
        }
        _ => return,
    };
    tracing::debug!(original = %message, code = ?replacement.code(), "unreadable gRPC request");
    let headers = response.headers_mut();
    headers.remove(Status::GRPC_STATUS_DETAILS);
    if replacement.add_header(headers).is_err() {
        tracing::warn!("cannot rewrite the status of an unreadable request");
    }
}

/// Calls a gRPC service and rewrites tonic's answer to a request it could not read.
fn call_grpc<G>(grpc: G, request: Request<tonic::body::Body>, limit: usize) -> GrpcCall<G>
where
    G: Service<Request<tonic::body::Body>, Response = Response<tonic::body::Body>>,
{
    GrpcCall {
        call: grpc.oneshot(request),
        limit,
    }
}

pin_project_lite::pin_project! {
    /// A call to a gRPC service whose answer to an unreadable request is rewritten; a named
    /// future, so that native gRPC, the hot path, is not boxed.
    pub struct GrpcCall<G: Service<Request<tonic::body::Body>>> {
        #[pin]
        call: tower::util::Oneshot<G, Request<tonic::body::Body>>,
        limit: usize,
    }
}

impl<G> Future for GrpcCall<G>
where
    G: Service<Request<tonic::body::Body>, Response = Response<tonic::body::Body>>,
    G::Error: Into<BoxError>,
{
    type Output = Result<Response<tonic::body::Body>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.call.poll(cx)).map_err(Into::into)?;
        blame_the_request(&mut response, *this.limit);
        Poll::Ready(Ok(response))
    }
}

pin_project_lite::pin_project! {
    /// What [`ProtocolRouter`] answers with: native gRPC's call as it is; an answer made
    /// already (the direct door's, most of the time); an HTTP handler's call that waits; any
    /// other protocol's call boxed.
    #[project = RoutedProjection]
    pub enum Routed<G: Service<Request<tonic::body::Body>>> {
        /// Native gRPC.
        Grpc { #[pin] call: GrpcCall<G> },
        /// An answer made before the call's future.
        Now { response: Option<Response<ResponseBody>> },
        /// The direct door's call that waits (for its body, a delay), or the HTTP router's.
        Http { call: Later<axum::response::Response> },
        /// Every other protocol.
        Other { call: BoxFuture<Response<tonic::body::Body>> },
    }
}

impl<G: Service<Request<tonic::body::Body>>> Routed<G> {
    /// The routed call of the direct door's answer.
    fn answered(answer: Answer<axum::response::Response>) -> Self {
        match answer {
            Answer::Now(response) => Self::Now {
                response: Some(response.map(ResponseBody::Http)),
            },
            Answer::Later(call) => Self::Http { call },
        }
    }
}

impl<G> Future for Routed<G>
where
    G: Service<Request<tonic::body::Body>, Response = Response<tonic::body::Body>>,
    G::Error: Into<BoxError>,
{
    type Output = Result<Response<ResponseBody>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let grpc = |response: Response<_>| response.map(ResponseBody::Grpc);
        match self.project() {
            RoutedProjection::Grpc { call } => call.poll(cx).map_ok(grpc),
            RoutedProjection::Now { response } => Poll::Ready(
                response
                    .take()
                    .ok_or_else(|| "polled after its answer".into()),
            ),
            RoutedProjection::Http { call } => call
                .as_mut()
                .poll(cx)
                .map(|response| Ok(response.map(ResponseBody::Http))),
            RoutedProjection::Other { call } => call.as_mut().poll(cx).map_ok(grpc),
        }
    }
}

/// A layer that sends each request to the protocol it speaks: native gRPC straight on to the
/// wrapped gRPC service; gRPC-Web and Connect streaming, with CORS, to the same service through
/// their translations; everything else, with CORS, to the HTTP router.
#[derive(Debug, Clone)]
pub(crate) struct ProtocolLayer {
    http: Router,
    apis: Arc<Apis>,
    max_request_bytes: usize,
    access: Arc<ControlAccess>,
    descriptors: Arc<Descriptors>,
}

impl ProtocolLayer {
    /// Routes non-gRPC requests to `http`; `max_request_bytes` is the request size limit
    /// that a too-large gRPC message is reported against; `access` says who may reach the
    /// control plane through a browser's protocols; `descriptors` those of every service
    /// served, for the JSON codecs.
    pub(crate) fn new(
        http: Router,
        apis: Apis,
        max_request_bytes: usize,
        access: ControlAccess,
        descriptors: Arc<Descriptors>,
    ) -> Self {
        Self {
            http,
            apis: Arc::new(apis),
            max_request_bytes,
            access: Arc::new(access),
            descriptors,
        }
    }
}

impl<S: Clone> Layer<S> for ProtocolLayer {
    type Service = ProtocolRouter<S>;

    fn layer(&self, grpc: S) -> Self::Service {
        ProtocolRouter {
            browser: Arc::new(Browser {
                api: Doors::new(&grpc, &self.http, cors()),
                control: Doors::new(&grpc, &self.http, self.access.cors()),
                access: Arc::clone(&self.access),
                descriptors: Arc::clone(&self.descriptors),
                apis: Arc::clone(&self.apis),
            }),
            grpc,
            max_request_bytes: self.max_request_bytes,
            in_flight: None,
        }
    }
}

/// The service [`ProtocolLayer`] builds. Each connection has a clone, so what only browsers
/// need is shared, not copied.
#[derive(Debug, Clone)]
pub(crate) struct ProtocolRouter<S> {
    grpc: S,
    browser: Arc<Browser<S>>,
    max_request_bytes: usize,
    /// The calls in flight on the connection this clone serves.
    in_flight: Option<InFlight>,
}

impl<S: Clone> ProtocolRouter<S> {
    /// The router for one connection, counting its calls on `in_flight`.
    pub(crate) fn for_connection(&self, in_flight: InFlight) -> Self {
        Self {
            in_flight: Some(in_flight),
            ..self.clone()
        }
    }
}

/// The services of the protocols a browser can speak, with CORS: open for the API, as the
/// control access policy says for the control plane.
#[derive(Debug)]
struct Browser<S> {
    api: Doors<S>,
    control: Doors<S>,
    access: Arc<ControlAccess>,
    /// Every served service's messages, for the JSON codecs.
    descriptors: Arc<Descriptors>,
    /// The API's handlers, for the direct door.
    apis: Arc<Apis>,
}

/// The front doors a browser can use, behind one CORS policy.
#[derive(Debug)]
struct Doors<S> {
    /// gRPC-Web, translated by tonic-web.
    grpc_web: Cors<GrpcWebService<S>>,
    /// Connect streaming, bridged to the gRPC services directly (over HTTP/1.1 too).
    connect_stream: Cors<S>,
    /// REST, Connect unary and the control API.
    http: Cors<Router>,
}

impl<S: Clone> Doors<S> {
    fn new(grpc: &S, http: &Router, cors: tower_http::cors::CorsLayer) -> Self {
        Self {
            grpc_web: cors.layer(tonic_web::GrpcWebLayer::new().layer(grpc.clone())),
            connect_stream: cors.layer(grpc.clone()),
            http: cors.layer(http.clone()),
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<S> Service<Request<Incoming>> for ProtocolRouter<S>
where
    S: Service<Request<tonic::body::Body>, Response = Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = guard::Guarded<Routed<S>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each call drives a clone to readiness itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let wire = Wire::of(&request);
        let deadline = guard::deadline_of(wire, &request);
        let in_flight = self.in_flight.as_ref().map(InFlight::begin);
        let control = wire != Wire::Grpc && access::is_control(&request);
        if control {
            if let Some(refused) = self.browser.access.refusal(&request) {
                let response = Some(refused.map(ResponseBody::Http));
                return guard::Guarded::new(wire, in_flight, Routed::Now { response });
            }
        }
        if let (Wire::Http(procedure), false) = (wire, control) {
            if let Some(route) = direct::route_of(&request, procedure) {
                // Answered here, most of the time: a panic is answered as one while the
                // call's future is polled is.
                let apis = &self.browser.apis;
                let serve = AssertUnwindSafe(|| direct::serve(apis, route, request));
                let call = match std::panic::catch_unwind(serve) {
                    Ok(answer) => Routed::answered(answer),
                    Err(panic) => Routed::Now {
                        response: Some(guard::internal(wire, panic.as_ref())),
                    },
                };
                return guard::Guarded::new(wire, in_flight, call);
            }
        }
        let mut request = request.map(tonic::body::Body::new);
        if let Some(protocol) = wire.protocol() {
            request.extensions_mut().insert(protocol);
        }
        let limit = self.max_request_bytes;
        let doors = match control {
            true => &self.browser.control,
            false => &self.browser.api,
        };
        let descriptors = &self.browser.descriptors;
        let other: BoxFuture<Response<tonic::body::Body>> = match wire {
            Wire::Grpc if request.version() >= Version::HTTP_2 => {
                let call = call_grpc(self.grpc.clone(), request, limit);
                return guard::Guarded::new(wire, in_flight, Routed::Grpc { call })
                    .with_deadline(deadline);
            }
            Wire::Grpc if can_carry_grpc(&request) => {
                let call = call_grpc(self.grpc.clone(), request, limit);
                Box::pin(async move { call.await.map(declare_trailers) })
            }
            Wire::Grpc => {
                let response = grpc_needs_http2(&request);
                Box::pin(async move { Ok(response) })
            }
            Wire::GrpcWeb => Box::pin(call_grpc(doors.grpc_web.clone(), request, limit)),
            Wire::ConnectStream => Box::pin(connect_stream::call(
                doors.connect_stream.clone(),
                request,
                limit,
            )),
            Wire::Json(Enveloped::Grpc) if !can_carry_grpc(&request) => {
                let response = grpc_needs_http2(&request);
                Box::pin(async move { Ok(response) })
            }
            Wire::Json(envelope) => {
                let proto_type = envelope.proto_type();
                let (grpc, grpc_web, stream) = (
                    self.grpc.clone(),
                    doors.grpc_web.clone(),
                    doors.connect_stream.clone(),
                );
                let call = move |request: Request<tonic::body::Body>| -> BoxFuture<Response<tonic::body::Body>> {
                    match envelope {
                        Enveloped::Grpc if request.version() < Version::HTTP_2 => {
                            let call = call_grpc(grpc, request, limit);
                            Box::pin(async move { call.await.map(declare_trailers) })
                        }
                        Enveloped::Grpc => Box::pin(call_grpc(grpc, request, limit)),
                        Enveloped::GrpcWeb => Box::pin(call_grpc(grpc_web, request, limit)),
                        Enveloped::ConnectStream => {
                            Box::pin(connect_stream::call(stream, request, limit))
                        }
                    }
                };
                let descriptors = Arc::clone(descriptors);
                Box::pin(transcode::json_envelopes(
                    descriptors,
                    request,
                    proto_type,
                    limit,
                    call,
                ))
            }
            Wire::ConnectUnary => {
                let grpc = doors.connect_stream.clone();
                let call = move |request| async move {
                    let response: Result<_, BoxError> =
                        grpc.oneshot(request).await.map_err(Into::into);
                    response
                };
                let descriptors = Arc::clone(descriptors);
                Box::pin(transcode::connect_unary(descriptors, request, limit, call))
            }
            Wire::Http(_) => {
                let call = Routed::Http {
                    call: http_door(doors, request),
                };
                return guard::Guarded::new(wire, in_flight, call);
            }
        };
        guard::Guarded::new(wire, in_flight, Routed::Other { call: other }).with_deadline(deadline)
    }
}

/// A request through the HTTP router and its layers: REST, Connect unary, the control API.
fn http_door<S>(
    doors: &Doors<S>,
    request: Request<tonic::body::Body>,
) -> Later<axum::response::Response> {
    let http = doors.http.clone();
    Box::pin(async move {
        let response: Result<_, Infallible> = http.oneshot(request).await;
        let Ok(response) = response;
        response
    })
}
