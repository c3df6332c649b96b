//! gRPC statuses as HTTP errors: the REST JSON of spec section 8 and Connect's error JSON.
//! Both are derived from the same `tonic::Status` the gRPC services return.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use base64::Engine;
use prost::Message;
use serde_json::{json, Value};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The HTTP status for a gRPC code (the mapping of google.rpc.Code, shared by REST and
/// Connect).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `google.rpc` details of a status in their JSON form, each with its `@type`.
fn details_json(details: &ErrorDetails) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(bad_request) = details.bad_request() {
        let violations: Vec<Value> = bad_request
            .field_violations
            .iter()
            .map(|v| json!({"field": v.field, "description": v.description}))
            .collect();
        out.push(json!({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}));
    }
    if let Some(info) = details.resource_info() {
        out.push(json!({
            "@type": "type.googleapis.com/google.rpc.ResourceInfo",
            "resourceType": info.resource_type,
            "resourceName": info.resource_name,
            "owner": info.owner,
            "description": info.description,
        }));
    }
    if let Some(failure) = details.precondition_failure() {
        let violations: Vec<Value> = failure
            .violations
            .iter()
            .map(|v| json!({"type": v.r#type, "subject": v.subject, "description": v.description}))
            .collect();
        out.push(json!({"@type": "type.googleapis.com/google.rpc.PreconditionFailure", "violations": violations}));
    }
    if let Some(failure) = details.quota_failure() {
        let violations: Vec<Value> = failure
            .violations
            .iter()
            .map(|v| json!({"subject": v.subject, "description": v.description}))
            .collect();
        out.push(json!({"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": violations}));
    }
    out
}

/// A status as the REST error body `{"code", "message", "details"}` with its HTTP status.
pub fn rest_error(status: &Status) -> Response {
    let body = json!({
        "code": status.code() as i32,
        "message": status.message(),
        "details": details_json(&status.get_error_details()),
    });
    (http_status(status.code()), axum::Json(body)).into_response()
}

/// Connect's name for a code, such as `invalid_argument`.
fn connect_code(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// A status as a Connect unary error: `{"code": "...", "message": "...", "details": [...]}`
/// where each detail carries its type name and base64 (unpadded) protobuf value.
pub fn connect_error(status: &Status) -> Response {
    let base64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let any_details = tonic_types::pb::Status::decode(status.details())
        .map(|s| s.details)
        .unwrap_or_default();
    let debug = details_json(&status.get_error_details());
    let details: Vec<Value> = any_details
        .iter()
        .map(|any| {
            let type_name = any.type_url.rsplit('/').next().unwrap_or_default();
            let debug = debug
                .iter()
                .find(|d| d["@type"].as_str().is_some_and(|t| t.ends_with(type_name)));
            json!({"type": type_name, "value": base64.encode(&any.value), "debug": debug})
        })
        .collect();
    let body = json!({"code": connect_code(status.code()), "message": status.message(), "details": details});
    let mut response = (http_status(status.code()), axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_documented_http_status() {
        let table = [
            (Code::InvalidArgument, 400),
            (Code::FailedPrecondition, 400),
            (Code::OutOfRange, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::Aborted, 409),
            (Code::ResourceExhausted, 429),
            (Code::Cancelled, 499),
            (Code::Internal, 500),
            (Code::Unknown, 500),
            (Code::DataLoss, 500),
            (Code::Unimplemented, 501),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
        ];
        for (code, http) in table {
            assert_eq!(http_status(code).as_u16(), http, "{code:?}");
        }
    }
}
