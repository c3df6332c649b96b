//! Reading request bodies for REST and Connect: size limit, content type, and JSON or
//! protobuf decoding with errors that name the field.

use axum::{
    body::{Body, Bytes},
    http::{header, HeaderMap, HeaderValue},
    response::Response,
};
use futures_util::FutureExt;
use std::borrow::Cow;

use coreweave_api::json::{self, Decoded, IgnoredKeys, JsonError, Unknown};

use super::dispatch::{RequestMessage, ServiceCall};
use crate::pipeline::{journal::Protocol, recorded::WARNING_HEADER, Answer};
use prost::{Message, Name};
use tonic::{metadata::MetadataMap, Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// A request body the HTTP protocols read: axum's, through the router, or hyper's own,
/// through the direct door.
pub(crate) trait RequestBody:
    http_body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
    + Send
    + 'static
{
}

impl<B> RequestBody for B where
    B: http_body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static
{
}

/// Reads a whole body (of any protocol), refusing one larger than `limit` bytes with
/// RESOURCE_EXHAUSTED and a QuotaFailure, as the services refuse an oversized message. The
/// limit counts the bytes as they arrive, so a compressed body is counted inflated, while it
/// inflates.
pub(crate) async fn read_limited<B>(body: B, limit: usize) -> Result<Bytes, Status>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use http_body_util::BodyExt;
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        // A body that breaks off, or gzip that does not inflate.
        Err(error) => Err(Status::invalid_argument(format!(
            "the request body cannot be read: {error}"
        ))),
    }
}

/// UNIMPLEMENTED for a request body in a content coding the mock cannot read, naming the ones
/// it can.
pub(crate) fn unsupported_encoding(encoding: &str) -> Status {
    Status::unimplemented(format!(
        "content-encoding {:?} is not supported; send the body as {ENCODINGS} or identity",
        crate::model::quoted(encoding)
    ))
}

/// A 200 answer of `bytes` as `content_type`, made in one go (axum's `IntoResponse` for
/// bytes writes a content type of its own first, which would then be replaced).
pub(crate) fn ok_response(content_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// RESOURCE_EXHAUSTED, with a QuotaFailure, for a request body over `limit` bytes.
pub(crate) fn too_large(limit: usize) -> Status {
    let description = format!("request body exceeds the limit of {limit} bytes");
    let details = ErrorDetails::with_quota_failure_violation("request size", &description);
    <Status as StatusExt>::with_error_details(Code::ResourceExhausted, description, details)
}

/// The content codings the HTTP protocols (REST, Connect unary, the control API) read and
/// write, besides `identity`.
const ENCODINGS: &str = "gzip";

/// Compression for the HTTP protocols: a gzip request body (`Content-Encoding: gzip`) is
/// inflated as it is read, so that the size limit applies to what it inflates to and a small
/// bomb stops growing at the limit; a response is compressed when the client accepts gzip
/// (`Accept-Encoding`). A body in any other coding is refused, naming the supported ones.
pub(crate) fn with_compression(router: axum::Router) -> axum::Router {
    use tower_http::{compression::CompressionLayer, decompression::RequestDecompressionLayer};
    router
        .layer(CompressionLayer::new().gzip(true))
        .layer(RequestDecompressionLayer::new().gzip(true))
        .layer(axum::middleware::from_fn(refuse_unknown_encoding))
}

/// Refuses a body in a content coding the mock cannot read, in the words of the caller's
/// protocol: Connect's `unimplemented` error, or REST's JSON error with HTTP 415.
async fn refuse_unknown_encoding(
    request: axum::http::Request<Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let encoding = request
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|value| {
            value
                .to_str()
                .unwrap_or("(not text)")
                .trim()
                .to_ascii_lowercase()
        });
    let Some(encoding) = encoding.filter(|e| e != "identity" && e != ENCODINGS) else {
        return next.run(request).await;
    };
    let status = unsupported_encoding(&encoding);
    let mut response = if super::connect::is_procedure(request.uri().path()) {
        super::error::connect_error(&status)
    } else {
        let mut response = super::error::rest_error(&status);
        *response.status_mut() = axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
        response
    };
    response.headers_mut().insert(
        header::ACCEPT_ENCODING,
        axum::http::HeaderValue::from_static("gzip, identity"),
    );
    response
}

/// The media type of a request, lowercased (copied only when it is not) and without
/// parameters. Read as bytes: the parameters are not looked at, so they need not be text.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    let value = headers.get(header::CONTENT_TYPE)?.as_bytes();
    let end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
    let media = std::str::from_utf8(value.get(..end)?.trim_ascii()).ok()?;
    Some(match media.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Cow::Owned(media.to_ascii_lowercase()),
        false => Cow::Borrowed(media),
    })
}

/// Requires a JSON content type when there is a body.
pub(crate) fn require_json(headers: &HeaderMap, body: &[u8]) -> Result<(), Status> {
    if body.is_empty() {
        return Ok(());
    }
    match media_type(headers).as_deref() {
        Some("application/json") => Ok(()),
        Some(other) => Err(Status::invalid_argument(format!(
            "unsupported content type {other:?}: send the body as application/json"
        ))),
        None => Err(Status::invalid_argument(
            "missing content type: send the body with `Content-Type: application/json`",
        )),
    }
}

/// A request read from JSON, with the unknown keys that were ignored.
#[derive(Debug)]
pub(crate) struct JsonRequest<T> {
    /// The request.
    pub message: T,
    /// The unknown keys that were ignored.
    pub ignored: IgnoredKeys,
}

/// Bodies at least this large are parsed on Tokio's blocking pool: a 4 MiB body of a million
/// tiny objects takes hundreds of milliseconds, which must not hold an async worker.
const BLOCKING_PARSE_BYTES: usize = 64 * 1024;

/// Parses a proto3 JSON body (see [`decode_json`]), off the async workers when it is large.
pub(crate) fn parse_json<T: Message + Name + Default + Send + 'static>(
    body: Bytes,
    unknown: Unknown,
) -> Answer<Result<JsonRequest<T>, Status>> {
    off_the_workers(body.len(), move || decode_json(&body, unknown))
}

/// Runs `work` on the input of `size` bytes where it belongs: at once when small, on Tokio's
/// blocking pool when large, so that no async worker is held.
pub(crate) fn off_the_workers<T: Send + 'static>(
    size: usize,
    work: impl FnOnce() -> Result<T, Status> + Send + 'static,
) -> Answer<Result<T, Status>> {
    if size < BLOCKING_PARSE_BYTES {
        return Answer::Now(work());
    }
    Answer::later(tokio::task::spawn_blocking(work).map(|joined| {
        joined.unwrap_or_else(|e| Err(Status::internal(format!("the JSON parser failed: {e}"))))
    }))
}

/// Parses a proto3 JSON body; an empty body is the empty message. With
/// [`Unknown::Reject`] an unknown key is INVALID_ARGUMENT, with [`Unknown::Report`] it is
/// ignored and listed.
pub(crate) fn decode_json<T: Message + Name + Default>(
    body: &[u8],
    unknown: Unknown,
) -> Result<JsonRequest<T>, Status> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(reported(json::Decoded {
            message: T::default(),
            ignored: IgnoredKeys::default(),
        }));
    }
    // An object of plain strings (`{"id": "…"}`, the whole request of most calls) is read
    // without building a JSON value first; it holds no depth to bound.
    let decoded = match serde_json::from_slice::<StringMembers<'_>>(body) {
        Ok(StringMembers(members)) => {
            json::from_string_members::<T>(members.iter().copied(), unknown)
        }
        Err(_) => {
            let value = super::bounded_json::from_slice(body)
                .map_err(|e| super::bounded_json::read_error(&e))?;
            json::from_value::<T>(value, unknown)
        }
    };
    decoded.map(reported).map_err(|e| json_error(&e))
}

/// The members of a JSON object whose values are all strings, in their order; a key named
/// twice is there twice (and left to the general path by [`json::from_string_members`]).
struct StringMembers<'a>(Vec<(&'a str, &'a str)>);

impl<'de> serde::Deserialize<'de> for StringMembers<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = StringMembers<'de>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("an object of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(4);
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(StringMembers(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// A decoded request, its ignored keys logged in one line.
pub(crate) fn reported<T>(decoded: Decoded<T>) -> JsonRequest<T> {
    if !decoded.ignored.is_empty() {
        tracing::warn!(
            count = decoded.ignored.total,
            keys = %decoded.ignored,
            "ignored unknown JSON keys in the request body"
        );
    }
    JsonRequest {
        message: decoded.message,
        ignored: decoded.ignored,
    }
}

/// INVALID_ARGUMENT for a body that does not fit the request, with a BadRequest naming the
/// field when one is to blame.
pub(crate) fn json_error(error: &JsonError) -> Status {
    let message = format!("invalid JSON body: {error}");
    match &error.field {
        Some(field) => {
            let violation = FieldViolation::new(field.clone(), error.description.clone());
            let details = ErrorDetails::with_bad_request(vec![violation]);
            <Status as StatusExt>::with_error_details(Code::InvalidArgument, message, details)
        }
        None => Status::invalid_argument(message),
    }
}

/// Wraps a message in a tonic request that carries the HTTP headers as metadata, so the
/// services see the same `authorization` header gRPC clients send, and the ignored JSON
/// keys, for the journal.
fn grpc_request<T>(headers: HeaderMap, message: T, ignored: &IgnoredKeys) -> tonic::Request<T> {
    let mut extensions = tonic::Extensions::default();
    if !ignored.is_empty() {
        extensions.insert(ignored.clone());
    }
    tonic::Request::from_parts(MetadataMap::from_headers(headers), extensions, message)
}

/// Runs a decoded request (or its decoding error, which `refused` journals) through `call`
/// and renders the outcome with `render`, with the call's warnings (the request's ignored
/// keys among them) in `x-mock-warning` headers: the part of a call that every HTTP protocol
/// shares.
pub(crate) fn answer<Req: RequestMessage, C: ServiceCall<Req>>(
    decoded: Result<JsonRequest<Req>, Status>,
    headers: HeaderMap,
    protocol: Protocol,
    call: C,
    refused: impl FnOnce(&HeaderMap, &Status),
    render: impl FnOnce(Result<C::Response, Status>) -> Response + Send + 'static,
) -> Answer<Response> {
    let answered = match decoded {
        Ok(request) => {
            let message = grpc_request(headers, request.message, &request.ignored);
            call.call(message, protocol)
        }
        Err(status) => {
            refused(&headers, &status);
            Answer::Now(Err(status))
        }
    };
    answered.map(|answered| rendered(answered, render))
}

/// The service's answer rendered by `render`, with its warnings as `x-mock-warning` headers.
fn rendered<T>(
    answered: Result<tonic::Response<T>, Status>,
    render: impl FnOnce(Result<T, Status>) -> Response,
) -> Response {
    let (outcome, warnings) = match answered {
        Ok(answer) => {
            let (metadata, message, _) = answer.into_parts();
            let mut headers = metadata.into_headers();
            let warnings: Vec<HeaderValue> = match headers.is_empty() {
                // Most calls: no warning, and no header name to hash.
                true => Vec::new(),
                false => match headers.entry(WARNING_HEADER) {
                    header::Entry::Occupied(entry) => entry.remove_entry_mult().1.collect(),
                    header::Entry::Vacant(_) => Vec::new(),
                },
            };
            (Ok(message), warnings)
        }
        Err(status) => (Err(status), Vec::new()),
    };
    let mut response = render(outcome);
    for warning in warnings {
        response.headers_mut().append(WARNING_HEADER, warning);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use coreweave_api::networking::v1beta1::CreateVpcRequest;

    #[test]
    fn json_errors_name_the_field() {
        let status =
            decode_json::<CreateVpcRequest>(br#"{"name":"x","colour":"red"}"#, Unknown::Reject)
                .unwrap_err();
        assert_eq!(
            status.get_details_bad_request().unwrap().field_violations[0].field,
            "colour"
        );

        let status =
            decode_json::<CreateVpcRequest>(br#"{"name": 5}"#, Unknown::Report).unwrap_err();
        let violation = &status.get_details_bad_request().unwrap().field_violations[0];
        assert_eq!(violation.field, "name");
        assert!(violation.description.contains("a string"), "{violation:?}");

        let status =
            decode_json::<CreateVpcRequest>(br#"{"name": "x""#, Unknown::Report).unwrap_err();
        assert!(status.message().contains("line 1"), "{}", status.message());

        let empty = decode_json::<CreateVpcRequest>(b"  ", Unknown::Reject).unwrap();
        assert_eq!(empty.message, CreateVpcRequest::default());
    }
}
