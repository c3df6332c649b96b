//! Reading request bodies for REST and Connect: size limit, content type, and JSON or
//! protobuf decoding with errors that name the problem.

use axum::{
    body::{Body, Bytes},
    http::{header, HeaderMap},
};
use serde::de::DeserializeOwned;
use tonic::{metadata::MetadataMap, Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// Reads a whole body, refusing one larger than `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, Status> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        Status::resource_exhausted(format!("request body exceeds the limit of {limit} bytes"))
    })
}

/// The media type of a request, lowercased and without parameters.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next().unwrap_or_default().trim();
    Some(media.to_ascii_lowercase())
}

/// Requires a JSON content type when there is a body.
pub fn require_json(headers: &HeaderMap, body: &[u8]) -> Result<(), Status> {
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

/// Parses a proto3 JSON body (pbjson); an empty body is the empty message.
///
/// Errors name the problem: the unknown key, the wrong type or enum name, or where the JSON
/// is malformed.
pub fn parse_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, Status> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|error| json_error(&error))
}

fn json_error(error: &serde_json::Error) -> Status {
    let text = error.to_string();
    let message = format!("invalid JSON body: {text}");
    // serde names an unknown or duplicated key as "... field `key` ...".
    let field = text
        .split('`')
        .nth(1)
        .filter(|_| text.starts_with("unknown field") || text.starts_with("duplicate field"));
    match field {
        Some(field) => {
            let description = if text.starts_with("duplicate field") {
                "set more than once, or together with another member of its oneof".to_owned()
            } else {
                "unknown field".to_owned()
            };
            let details =
                ErrorDetails::with_bad_request(vec![FieldViolation::new(field, description)]);
            Status::with_error_details(Code::InvalidArgument, message, details)
        }
        None => Status::invalid_argument(message),
    }
}

/// Wraps a message in a tonic request that carries the HTTP headers as metadata, so the
/// services see the same `authorization` header gRPC clients send.
pub fn grpc_request<T>(headers: &HeaderMap, message: T) -> tonic::Request<T> {
    tonic::Request::from_parts(
        MetadataMap::from_headers(headers.clone()),
        Default::default(),
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use coreweave_api::networking::v1beta1::CreateVpcRequest;

    #[test]
    fn json_errors_name_the_problem() {
        let status = parse_json::<CreateVpcRequest>(br#"{"name":"x","colour":"red"}"#).unwrap_err();
        assert!(status.message().contains("colour"), "{}", status.message());
        assert_eq!(
            status.get_details_bad_request().unwrap().field_violations[0].field,
            "colour"
        );

        let status = parse_json::<CreateVpcRequest>(br#"{"name": 5}"#).unwrap_err();
        assert!(
            status.message().contains("invalid type"),
            "{}",
            status.message()
        );

        let status = parse_json::<CreateVpcRequest>(br#"{"name": "x""#).unwrap_err();
        assert!(status.message().contains("line 1"), "{}", status.message());

        assert_eq!(
            parse_json::<CreateVpcRequest>(b"  ").unwrap(),
            CreateVpcRequest::default()
        );
    }
}
