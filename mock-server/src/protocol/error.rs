//! gRPC statuses as HTTP errors: the REST JSON of spec section 8 and Connect's error JSON.
//! Both are derived from the same `tonic::Status` the gRPC services return.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use base64::Engine;
use coreweave_api::json::{self, Output};
use prost::Message;
use serde_json::{json, Value};
use tonic::{Code, Status};
use tonic_types::pb;

/// The HTTP status for a gRPC code (the mapping of google.rpc.Code, shared by REST and
/// Connect).
pub(crate) fn http_status(code: Code) -> StatusCode {
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

/// A tonic status as the `google.rpc.Status` it carries: code, message and details.
fn rpc_status(status: &Status) -> pb::Status {
    let details = pb::Status::decode(status.details())
        .map(|s| s.details)
        .unwrap_or_default();
    pb::Status {
        code: status.code() as i32,
        message: status.message().to_owned(),
        details,
    }
}

/// A JSON response with an HTTP status.
fn json_response(http: StatusCode, body: Vec<u8>) -> Response {
    let content_type = HeaderValue::from_static("application/json");
    (http, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A status as the REST error body `{"code", "message", "details"}` with its HTTP status,
/// written with every field, as the REST transcoders write `google.rpc.Status`.
pub(crate) fn rest_error(status: &Status) -> Response {
    let body =
        json::status_to_vec(&rpc_status(status), Output::EmitUnpopulated).unwrap_or_else(|e| {
            let fallback =
                json!({"code": Code::Internal as i32, "message": e.to_string(), "details": []});
            fallback.to_string().into_bytes()
        });
    json_response(http_status(status.code()), body)
}

/// Connect's name for a code, such as `invalid_argument`.
pub(crate) fn connect_code(code: Code) -> &'static str {
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
/// where each detail carries its type name, its base64 (unpadded) protobuf value, and its
/// JSON form under `debug`.
pub(crate) fn connect_error(status: &Status) -> Response {
    json_response(
        http_status(status.code()),
        connect_error_json(status).to_string().into_bytes(),
    )
}

/// The JSON of a Connect error, as unary errors and the end of a stream carry it.
pub(crate) fn connect_error_json(status: &Status) -> Value {
    let base64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let rpc = rpc_status(status);
    let debug = json::status_to_value(&rpc, Output::Canonical).unwrap_or_default();
    let details: Vec<Value> = rpc
        .details
        .iter()
        .enumerate()
        .map(|(index, any)| {
            let type_name = any.type_url.rsplit('/').next().unwrap_or_default();
            let mut debug = debug["details"][index].clone();
            if let Value::Object(fields) = &mut debug {
                fields.remove("@type");
            }
            json!({"type": type_name, "value": base64.encode(&any.value), "debug": debug})
        })
        .collect();
    json!({"code": connect_code(status.code()), "message": status.message(), "details": details})
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
