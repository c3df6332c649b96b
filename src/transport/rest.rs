//! JSON over the documented REST paths (spec sections 1 and 4), on hyper-util's pooled
//! client with rustls: connections are reused, and HTTP/2 is used when the server offers it.
//!
//! Requests carry only known keys in canonical camelCase (defaults left out, `updateMask` as
//! one string); the fields bound to the path (`id`) and the query (`updatedAfter`) are taken
//! out of the body. Responses are read tolerantly: unknown keys are skipped and unknown enum
//! names read as the zero value, because the service adds fields over time.

use std::{fmt, time::Duration};

use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use prost::{Message, Name};
use serde_json::{Map, Value};
use tonic::Code;

use super::proxy::{ProxyConnector, ProxySetting};
use crate::{
    auth::Token,
    error::{Error, ErrorKind},
    json::{self, Output, Unknown},
    rpc::{Method, MAX_RESPONSE_BYTES},
};

/// What a path segment may hold unescaped: RFC 3986's unreserved characters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How much of a non-JSON error body an error message quotes.
const QUOTED_BODY_CHARS: usize = 200;

const USER_AGENT: &str = concat!("coreweave-api-rust/", env!("CARGO_PKG_VERSION"));

type HttpsClient = Client<HttpsConnector<ProxyConnector>, Full<Bytes>>;

/// The REST API at one base URL, over a shared connection pool.
#[derive(Clone)]
pub(crate) struct RestWire {
    client: HttpsClient,
    /// `scheme://authority` plus any base path, without a trailing `/`.
    base: String,
    /// The endpoint's host and port, for error messages.
    authority: String,
}

impl fmt::Debug for RestWire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestWire")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl RestWire {
    /// A pool for `endpoint` (already checked to be an http or https URL with a host).
    pub(crate) fn new(
        endpoint: &http::Uri,
        connect_timeout: Duration,
        tls: rustls::ClientConfig,
        proxy: &ProxySetting,
    ) -> Result<Self, Error> {
        let connector = super::tls::tcp_connector(connect_timeout);
        let connector = ProxyConnector::new(connector, proxy.matcher());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(https);
        let authority = endpoint
            .authority()
            .map(ToString::to_string)
            .unwrap_or_default();
        let scheme = endpoint.scheme_str().unwrap_or("https");
        let base_path = endpoint.path().trim_end_matches('/');
        Ok(Self {
            client,
            base: format!("{scheme}://{authority}{base_path}"),
            authority,
        })
    }

    /// Sends one request and reads its response.
    pub(crate) async fn unary<Req, Resp>(
        &self,
        method: Method,
        request: &Req,
        token: &Token,
    ) -> Result<Resp, Error>
    where
        Req: Message + Name,
        Resp: Message + Name + Default,
    {
        let request = self.http_request(method, request, token)?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| self.send_error(e))?;
        let (parts, body) = response.into_parts();
        // An error is read with a limit of its own: no error needs more, and a hostile or
        // broken server must not make one that fills memory.
        let limit = match parts.status.is_success() {
            true => MAX_RESPONSE_BYTES,
            false => MAX_ERROR_BODY_BYTES,
        };
        let bytes = Limited::new(body, limit)
            .collect()
            .await
            .map_err(|e| {
                let failed = format!(
                    "reading the {method} response (HTTP {}) from {} failed: {e}",
                    parts.status, self.authority
                );
                match parts.status.is_success() {
                    true => Error::new(ErrorKind::Unavailable, failed),
                    false => Error::new(kind_of_http_status(parts.status), failed)
                        .with_http_status(parts.status.as_u16()),
                }
            })?
            .to_bytes();
        if !parts.status.is_success() {
            return Err(http_error(method, parts.status, &parts.headers, &bytes));
        }
        json::from_slice::<Resp>(&bytes, Unknown::Tolerate)
            .map(|decoded| decoded.message)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Other,
                    format!(
                        "the {method} response from {} is not the expected JSON: {e}",
                        self.authority
                    ),
                )
            })
    }

    /// The HTTP request for one call: method and path from the RPC's rule, the path's `id`
    /// and the query parameters taken from the request, the rest as the JSON body.
    fn http_request<Req: Message + Name>(
        &self,
        method: Method,
        request: &Req,
        token: &Token,
    ) -> Result<http::Request<Full<Bytes>>, Error> {
        let rule = method.http();
        let mut fields = match json::to_value(request, Output::Canonical) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => Map::new(),
            Err(e) => return Err(Error::new(ErrorKind::Other, e.to_string())),
        };
        let mut path = rule.path.to_owned();
        if path.contains("{id}") {
            let id = take_string(&mut fields, "id");
            if id.is_empty() {
                return Err(Error::invalid_argument(
                    "id",
                    format!("{method} needs an id"),
                ));
            }
            let segment = utf8_percent_encode(&id, PATH_SEGMENT).to_string();
            path = path.replace("{id}", &segment);
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        for key in rule.query {
            if fields.contains_key(*key) {
                query.append_pair(key, &take_string(&mut fields, key));
            }
        }
        let query = query.finish();
        let uri = match query.is_empty() {
            true => format!("{}{path}", self.base),
            false => format!("{}{path}?{query}", self.base),
        };
        let mut builder = http::Request::builder()
            .method(rule.method)
            .uri(uri)
            .header(header::AUTHORIZATION, token.header())
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, USER_AGENT);
        let body = if rule.body {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Bytes::from(Value::Object(fields).to_string())
        } else {
            Bytes::new()
        };
        builder
            .body(Full::new(body))
            .map_err(|e| Error::config(format!("cannot build the {method} request: {e}")))
    }

    /// A request that got no response: a connection failure (the request never left), or a
    /// failure after it was sent.
    fn send_error(&self, error: hyper_util::client::legacy::Error) -> Error {
        if error.is_connect() {
            return Error::connect_failure(&self.authority, error);
        }
        let message = format!("the request to {} failed: {error}", self.authority);
        Error::new(ErrorKind::Unavailable, message).with_source(error)
    }
}

/// Removes a field from a JSON object and returns it as text.
fn take_string(fields: &mut Map<String, Value>, key: &str) -> String {
    match fields.remove(key) {
        Some(Value::String(text)) => text,
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// The error for a non-2xx response: the server's `google.rpc.Status` when the body is one,
/// else an error from the HTTP status that quotes the body (a proxy's HTML 502, an empty 503).
fn http_error(method: Method, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let error = match json::status_from_slice(body) {
        Ok(rpc) if rpc.code != 0 => {
            let code = Code::from(rpc.code);
            let message = rpc.message.clone();
            let details = Bytes::from(rpc.encode_to_vec());
            Error::from_status(tonic::Status::with_details(code, message, details))
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let quoted: String = text.trim().chars().take(QUOTED_BODY_CHARS).collect();
            let message = match quoted.is_empty() {
                true => format!("{method}: HTTP {status} with an empty body"),
                false => format!("{method}: HTTP {status}: {quoted}"),
            };
            Error::new(kind_of_http_status(status), message)
        }
    };
    error
        .with_http_status(status.as_u16())
        .with_retry_after(retry_after(headers))
}

/// The largest error body the client reads: 1 MiB, far above any real error.
const MAX_ERROR_BODY_BYTES: usize = 1024 * 1024;

/// The kind of error an HTTP status stands for, when the body says nothing more.
fn kind_of_http_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        400 => ErrorKind::InvalidArgument,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        // 409 is ALREADY_EXISTS or ABORTED; without a body, claim no resource exists.
        409 => ErrorKind::Aborted,
        429 => ErrorKind::ResourceExhausted,
        499 => ErrorKind::Cancelled,
        501 => ErrorKind::Unimplemented,
        502 | 503 => ErrorKind::Unavailable,
        504 => ErrorKind::Timeout,
        500..=599 => ErrorKind::Internal,
        _ => ErrorKind::Other,
    }
}

/// The `Retry-After` header: delay seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error for a `GetVPC` answered with `status` and `body`.
    fn get_error(status: StatusCode, body: &[u8]) -> Error {
        http_error(Method::GetVpc, status, &HeaderMap::new(), body)
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
    }

    #[test]
    fn bodies_that_are_not_a_status_keep_the_http_status() {
        let html = b"<html><body><h1>502 Bad Gateway</h1></body></html>";
        let error = get_error(StatusCode::BAD_GATEWAY, html);
        assert_eq!(error.kind(), ErrorKind::Unavailable);
        assert_eq!(error.http_status(), Some(502));
        assert!(error.is_retryable());
        assert!(error.message().contains("502 Bad Gateway"), "{error}");

        let error = get_error(StatusCode::SERVICE_UNAVAILABLE, b"");
        assert_eq!(
            error.message(),
            "GetVPC: HTTP 503 Service Unavailable with an empty body"
        );
        assert!(error.is_retryable());

        let error = get_error(StatusCode::UNAUTHORIZED, b"nope");
        assert_eq!(error.kind(), ErrorKind::Unauthenticated);
        assert!(!error.is_retryable());
    }

    #[test]
    fn status_bodies_become_the_same_error_as_over_grpc() {
        let body = br#"{"code": 5, "message": "VPC v not found", "details": [
            {"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resourceType": "VPC",
             "resourceName": "v", "owner": "", "description": "", "futureField": 1}],
            "extra": true}"#;
        let error = get_error(StatusCode::NOT_FOUND, body);
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert_eq!(error.message(), "VPC v not found");
        assert_eq!(error.resource_info().unwrap().resource_name, "v");
        assert_eq!(error.code(), Some(Code::NotFound));
    }
}
