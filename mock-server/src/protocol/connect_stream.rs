//! The Connect protocol's streaming calls (`application/connect+proto`), bridged to the gRPC
//! services. `buf curl --protocol connect` asks server reflection this way.
//!
//! Both protocols frame each message with the same five-byte envelope (flags, length), so
//! the request body passes through unchanged. Only the end differs: gRPC ends a response with
//! trailers, Connect with a last envelope (flag `0x02`) holding JSON, `{}` or `{"error": ...}`.

use axum::http::{header, HeaderMap, HeaderValue, Request, Response};
use bytes::{BufMut, Bytes, BytesMut};
use http_body::Frame;
use http_body_util::BodyExt;
use serde_json::json;
use tonic::{Code, Status};

use super::error::connect_error_json;

/// The envelope flag that marks Connect's end-of-stream message.
const END_STREAM: u8 = 0x02;

/// Runs a Connect streaming call on `grpc`, the gRPC services (`limit` is the request size
/// limit an oversized message is reported against).
pub(super) async fn call<G>(
    grpc: G,
    request: Request<tonic::body::Body>,
    limit: usize,
) -> Result<Response<tonic::body::Body>, super::BoxError>
where
    G: tower::Service<Request<tonic::body::Body>, Response = Response<tonic::body::Body>>,
    G::Error: Into<super::BoxError>,
{
    let response = super::call_grpc(grpc, to_grpc(request), limit).await?;
    Ok(from_grpc(response))
}

/// Rewrites a Connect streaming request into the gRPC request it frames identically.
pub(super) fn to_grpc(mut request: Request<tonic::body::Body>) -> Request<tonic::body::Body> {
    let headers = request.headers_mut();
    let timeout = headers
        .get("connect-timeout-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert(header::TE, HeaderValue::from_static("trailers"));
    // Compression is negotiated by headers of other names; the envelopes' flag is the same.
    rename(headers, "connect-content-encoding", "grpc-encoding");
    rename(headers, "connect-accept-encoding", "grpc-accept-encoding");
    if let Some(millis) = timeout.and_then(|m| HeaderValue::from_str(&format!("{m}m")).ok()) {
        headers.insert("grpc-timeout", millis);
    }
    request
}

/// Rewrites the gRPC response into Connect's: the same message envelopes, then the status
/// as an end-of-stream envelope instead of trailers.
pub(super) fn from_grpc(response: Response<tonic::body::Body>) -> Response<tonic::body::Body> {
    let (mut parts, body) = response.into_parts();
    // A trailers-only response carries its status in the headers and has no body.
    let early = Status::from_header_map(&parts.headers);
    // The body is rewritten, so a length the gRPC answer declared no longer holds.
    for name in [
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "content-length",
    ] {
        parts.headers.remove(name);
    }
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/connect+proto"),
    );
    rename(
        &mut parts.headers,
        "grpc-encoding",
        "connect-content-encoding",
    );
    rename(
        &mut parts.headers,
        "grpc-accept-encoding",
        "connect-accept-encoding",
    );
    parts.status = axum::http::StatusCode::OK;
    let body = match early {
        Some(status) => tonic::body::Body::new(http_body_util::Full::new(end_stream(&status))),
        None => tonic::body::Body::new(body.map_frame(|frame| match frame.into_data() {
            Ok(data) => Frame::data(data),
            Err(frame) => {
                let trailers = frame.into_trailers().unwrap_or_default();
                Frame::data(end_stream(&status_of(&trailers)))
            }
        })),
    };
    Response::from_parts(parts, body)
}

/// Moves header `from` to `to`, if it is there.
fn rename(headers: &mut HeaderMap, from: &'static str, to: &'static str) {
    if let Some(value) = headers.remove(from) {
        headers.insert(to, value);
    }
}

/// The status the trailers carry; OK when they carry none.
fn status_of(trailers: &HeaderMap) -> Status {
    Status::from_header_map(trailers).unwrap_or_else(|| Status::new(Code::Ok, ""))
}

/// Connect's end-of-stream envelope for a status.
fn end_stream(status: &Status) -> Bytes {
    let payload = if status.code() == Code::Ok {
        json!({})
    } else {
        json!({"error": connect_error_json(status)})
    };
    let payload = payload.to_string();
    let mut envelope = BytesMut::with_capacity(5 + payload.len());
    envelope.put_u8(END_STREAM);
    envelope.put_u32(u32::try_from(payload.len()).unwrap_or(u32::MAX));
    envelope.put_slice(payload.as_bytes());
    envelope.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_stream_envelope_carries_the_status_as_json() {
        let ok = end_stream(&Status::new(Code::Ok, ""));
        assert_eq!(&ok[..], b"\x02\x00\x00\x00\x02{}");
        let error = end_stream(&Status::not_found("no such service"));
        assert_eq!(error[0], END_STREAM);
        let json: serde_json::Value = serde_json::from_slice(&error[5..]).unwrap();
        assert_eq!(json["error"]["code"], "not_found");
        assert_eq!(json["error"]["message"], "no such service");
    }
}
