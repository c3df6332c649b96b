//! One error type for everything the client can report, with the server's `google.rpc`
//! details as typed accessors.

use std::{error::Error as StdError, fmt, time::Duration};

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub use tonic_types::{FieldViolation, PreconditionViolation, QuotaViolation, ResourceInfo};

use crate::{inference::v1alpha1::Gateway, networking::v1beta1::Vpc};

/// What went wrong, in broad strokes. New kinds may be added, so match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request broke a validation rule; see [`Error::field_violations`].
    InvalidArgument,
    /// The resource does not exist (or belongs to another organization).
    NotFound,
    /// A resource with the same name or id exists already.
    AlreadyExists,
    /// The resource is in a state that does not allow the call, such as DELETING.
    FailedPrecondition,
    /// The token is missing, malformed or not accepted.
    Unauthenticated,
    /// The token may not do this.
    PermissionDenied,
    /// A quota or size limit was hit, or the server is overloaded.
    ResourceExhausted,
    /// The server is temporarily unavailable.
    Unavailable,
    /// A deadline passed: the attempt's timeout, or the server's deadline.
    Timeout,
    /// Retries were warranted, but the retry policy's time budget (`total_timeout`) left no
    /// room for another attempt. The last attempt's error is the [`source`](std::error::Error::source).
    OutOfBudget,
    /// No connection could be made to the endpoint.
    Connect,
    /// The call was aborted, usually by a concurrent change.
    Aborted,
    /// The call was cancelled.
    Cancelled,
    /// The server does not implement the call.
    Unimplemented,
    /// The server failed internally.
    Internal,
    /// The client's configuration is invalid (endpoint, token, options).
    Config,
    /// A waiter gave up: the resource did not reach the state in time.
    WaitTimeout,
    /// A waiter saw the resource fail (a FAILED or ERROR gateway).
    ResourceFailed,
    /// A waiter saw a state it did not expect, such as DELETING while waiting for READY.
    UnexpectedState,
    /// Any other failure.
    Other,
}

impl ErrorKind {
    fn from_code(code: Code) -> Self {
        match code {
            Code::InvalidArgument | Code::OutOfRange => Self::InvalidArgument,
            Code::NotFound => Self::NotFound,
            Code::AlreadyExists => Self::AlreadyExists,
            Code::FailedPrecondition => Self::FailedPrecondition,
            Code::Unauthenticated => Self::Unauthenticated,
            Code::PermissionDenied => Self::PermissionDenied,
            Code::ResourceExhausted => Self::ResourceExhausted,
            Code::Unavailable => Self::Unavailable,
            Code::DeadlineExceeded => Self::Timeout,
            Code::Aborted => Self::Aborted,
            Code::Cancelled => Self::Cancelled,
            Code::Unimplemented => Self::Unimplemented,
            Code::Internal | Code::DataLoss => Self::Internal,
            Code::Ok | Code::Unknown => Self::Other,
        }
    }

    /// The label used in messages, such as `INVALID_ARGUMENT`.
    pub fn label(self) -> &'static str {
        match self {
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Timeout => "TIMEOUT",
            Self::OutOfBudget => "OUT_OF_BUDGET",
            Self::Connect => "CONNECT",
            Self::Aborted => "ABORTED",
            Self::Cancelled => "CANCELLED",
            Self::Unimplemented => "UNIMPLEMENTED",
            Self::Internal => "INTERNAL",
            Self::Config => "CONFIG",
            Self::WaitTimeout => "WAIT_TIMEOUT",
            Self::ResourceFailed => "RESOURCE_FAILED",
            Self::UnexpectedState => "UNEXPECTED_STATE",
            Self::Other => "UNKNOWN",
        }
    }
}

/// The last state of a resource a waiter saw before it gave up.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LastSeen {
    /// A VPC.
    Vpc(Box<Vpc>),
    /// A gateway.
    Gateway(Box<Gateway>),
}

/// An error from the CoreWeave API or from the client itself.
///
/// `Display` reads like `INVALID_ARGUMENT: host_prefixes[0].prefixes[0]: ...`, naming every
/// bad field the server reported.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    code: Option<Code>,
    details: ErrorDetails,
    /// The field violations the server sent beyond [`MAX_VIOLATIONS`], counted only.
    unlisted_violations: usize,
    last_seen: Option<LastSeen>,
    http_status: Option<u16>,
    retry_after: Option<Duration>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::from_inner(Inner {
            kind,
            message: message.into(),
            code: None,
            details: ErrorDetails::new(),
            unlisted_violations: 0,
            last_seen: None,
            http_status: None,
            retry_after: None,
            source: None,
        })
    }

    fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Box::new(inner),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// A connection that could not be made for a reason given in words.
    pub(crate) fn connect(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Connect, message)
    }

    /// A connection to `authority` that could not be made, named by its cause:
    /// `connection refused to 127.0.0.1:1`.
    pub(crate) fn connect_failure(
        authority: &str,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        let cause = connect_cause(&source);
        let hint = match cause.contains("InvalidContentType") || cause.contains("corrupt message") {
            true => {
                "; the server does not speak TLS: for a plaintext server (such as \
                     coreweave-mock) use an http:// endpoint"
            }
            false => "",
        };
        Self::connect(format!("{cause} to {authority}{hint}")).with_source(source)
    }

    /// A request the client refuses to send, naming the field.
    pub(crate) fn invalid_argument(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut error = Self::new(ErrorKind::InvalidArgument, message.clone());
        error.inner.details = ErrorDetails::with_bad_request_violation(field, message);
        error
    }

    /// Retries ran out of time after `attempts` attempts; `last` is the last attempt's error.
    pub(crate) fn out_of_budget(
        method: &str,
        attempts: u32,
        budget: Duration,
        last: Error,
    ) -> Self {
        let message = format!(
            "{method} gave up after {attempts} attempt(s): the retry budget of {budget:?} leaves no time for another; last error: {last}"
        );
        Self::new(ErrorKind::OutOfBudget, message).with_source(last)
    }

    pub(crate) fn with_http_status(mut self, status: u16) -> Self {
        self.inner.http_status = Some(status);
        self
    }

    pub(crate) fn with_retry_after(mut self, delay: Option<Duration>) -> Self {
        self.inner.retry_after = delay;
        self
    }

    pub(crate) fn with_last_seen(mut self, last_seen: LastSeen) -> Self {
        self.inner.last_seen = Some(last_seen);
        self
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Maps a gRPC status, recognising client-side timeouts and connection failures. What a
    /// server sent is kept bounded, however much it sent: the message to
    /// [`MAX_MESSAGE_CHARS`], the first [`MAX_VIOLATIONS`] field violations (the rest are
    /// counted), each field and description to [`MAX_MESSAGE_CHARS`].
    pub(crate) fn from_status(status: Status) -> Self {
        let kind = classify(&status);
        let mut details = status.get_error_details();
        let mut unlisted_violations = 0;
        if let Some(bad_request) = details.bad_request() {
            let all = &bad_request.field_violations;
            unlisted_violations = all.len().saturating_sub(MAX_VIOLATIONS);
            let kept: Vec<FieldViolation> = all
                .iter()
                .take(MAX_VIOLATIONS)
                .map(|v| FieldViolation::new(bounded(&v.field), bounded(&v.description)))
                .collect();
            details.set_bad_request(kept);
        }
        let message = if is_unreadable_answer(&status) {
            format!(
                "the server's answer could not be read: this client reset the HTTP/2 stream \
                 with PROTOCOL_ERROR, most often because the answer's headers (a gRPC status \
                 with its message and details) exceed the client's limit of {} MiB",
                crate::config::MAX_HEADER_LIST_BYTES / (1024 * 1024)
            )
        } else {
            bounded(status.message()).into_owned()
        };
        // The source keeps the code and the bounded message, not a copy of all that was sent.
        let source = Status::new(status.code(), message.clone());
        Self::from_inner(Inner {
            kind,
            message,
            code: Some(status.code()),
            details,
            unlisted_violations,
            last_seen: None,
            http_status: None,
            retry_after: None,
            source: Some(Box::new(source)),
        })
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The server's (or the client's) message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The gRPC code the call ended with, when it reached the gRPC layer.
    pub fn code(&self) -> Option<Code> {
        self.inner.code
    }

    /// The HTTP status of the response, over the REST transport.
    pub fn http_status(&self) -> Option<u16> {
        self.inner.http_status
    }

    /// How long the server asked the client to wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Whether the resource was not found.
    pub fn is_not_found(&self) -> bool {
        self.inner.kind == ErrorKind::NotFound
    }

    /// Whether the request was invalid.
    pub fn is_invalid_argument(&self) -> bool {
        self.inner.kind == ErrorKind::InvalidArgument
    }

    /// Whether the resource exists already.
    pub fn is_already_exists(&self) -> bool {
        self.inner.kind == ErrorKind::AlreadyExists
    }

    /// Whether a deadline passed.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Timeout | ErrorKind::WaitTimeout)
    }

    /// Whether the client's configuration is at fault.
    pub fn is_config(&self) -> bool {
        self.inner.kind == ErrorKind::Config
    }

    /// Whether the failure is transient, so that the same call may succeed if tried again.
    /// A quota failure is not transient: waiting does not raise a quota.
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Unavailable | ErrorKind::Connect | ErrorKind::Timeout => true,
            ErrorKind::ResourceExhausted => self.quota_violations().is_empty(),
            _ => false,
        }
    }

    /// How many field violations the server sent beyond the [`MAX_VIOLATIONS`] kept.
    pub fn unlisted_violations(&self) -> usize {
        self.inner.unlisted_violations
    }

    /// The bad fields the server named (`google.rpc.BadRequest`), at most [`MAX_VIOLATIONS`].
    pub fn field_violations(&self) -> &[FieldViolation] {
        self.inner
            .details
            .bad_request()
            .map(|b| b.field_violations.as_slice())
            .unwrap_or_default()
    }

    /// The resource the error is about (`google.rpc.ResourceInfo`), on NOT_FOUND and
    /// ALREADY_EXISTS.
    pub fn resource_info(&self) -> Option<&ResourceInfo> {
        self.inner.details.resource_info()
    }

    /// The failed preconditions (`google.rpc.PreconditionFailure`).
    pub fn precondition_violations(&self) -> &[PreconditionViolation] {
        self.inner
            .details
            .precondition_failure()
            .map(|p| p.violations.as_slice())
            .unwrap_or_default()
    }

    /// The exceeded quotas (`google.rpc.QuotaFailure`).
    pub fn quota_violations(&self) -> &[QuotaViolation] {
        self.inner
            .details
            .quota_failure()
            .map(|q| q.violations.as_slice())
            .unwrap_or_default()
    }

    /// Every `google.rpc` detail the server attached.
    pub fn details(&self) -> &ErrorDetails {
        &self.inner.details
    }

    /// For waiter errors, the last state of the resource that was seen.
    pub fn last_seen(&self) -> Option<&LastSeen> {
        self.inner.last_seen.as_ref()
    }
}

/// Turns NOT_FOUND into `Ok(None)`, for the `get_opt` methods.
pub(crate) fn found<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Maps a status to a kind, recognising what tonic reports for client-side failures.
fn classify(status: &Status) -> ErrorKind {
    if is_client_timeout(status) {
        return ErrorKind::Timeout;
    }
    if status.code() == Code::Unavailable && is_connect_failure(status) {
        return ErrorKind::Connect;
    }
    ErrorKind::from_code(status.code())
}

/// tonic reports its own timeout as CANCELLED "Timeout expired".
pub(crate) fn is_client_timeout(status: &Status) -> bool {
    status.code() == Code::Cancelled
        && source_chain(status).any(|e| e.downcast_ref::<tonic::TimeoutExpired>().is_some())
}

/// Whether the status comes from failing to connect, in which case the request never left.
pub(crate) fn is_connect_failure(status: &Status) -> bool {
    source_chain(status).any(|e| e.downcast_ref::<tonic::ConnectError>().is_some())
}

/// Whether the HTTP/2 library reset the stream itself for a protocol error, as it does when
/// an answer's header list is over the client's limit (or its headers are malformed): the
/// server's status never arrived, so its code and message say nothing.
fn is_unreadable_answer(status: &Status) -> bool {
    source_chain(status)
        .filter_map(|e| e.downcast_ref::<h2::Error>())
        .any(|e| e.is_library() && e.is_reset() && e.reason() == Some(h2::Reason::PROTOCOL_ERROR))
}

/// Why a connection failed, in words: `connection refused`, or the innermost cause.
fn connect_cause(error: &(dyn StdError + 'static)) -> String {
    let mut innermost = error;
    let mut next = error.source();
    while let Some(current) = next {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::TimedOut => "connection timed out".to_owned(),
                _ => format!("cannot connect ({io})"),
            };
        }
        innermost = current;
        next = current.source();
    }
    format!("cannot connect ({innermost})")
}

fn source_chain(status: &Status) -> impl Iterator<Item = &(dyn StdError + 'static)> {
    let mut next = status.source();
    std::iter::from_fn(move || {
        let current = next?;
        next = current.source();
        Some(current)
    })
}

/// The most characters of a server's message, field or description an error keeps.
pub const MAX_MESSAGE_CHARS: usize = 1024;
/// The most field violations an error keeps; the rest are counted
/// ([`Error::unlisted_violations`]).
pub const MAX_VIOLATIONS: usize = 64;
/// The most field violations `Display` lists before it counts the rest.
const DISPLAYED_VIOLATIONS: usize = 8;

/// Text a server sent, cut to [`MAX_MESSAGE_CHARS`] (and marked with `…`).
fn bounded(text: &str) -> std::borrow::Cow<'_, str> {
    crate::text::cut(text, MAX_MESSAGE_CHARS)
}

impl fmt::Display for Error {
    /// `KIND: message`, or `KIND: field: description; ...` with at most 8 violations and a
    /// count of the rest: one bounded line however large the server's error was.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.inner.kind.label())?;
        let violations = self.field_violations();
        if violations.is_empty() {
            return f.write_str(&self.inner.message);
        }
        for (i, violation) in violations.iter().take(DISPLAYED_VIOLATIONS).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", violation.field, violation.description)?;
        }
        let more =
            violations.len().saturating_sub(DISPLAYED_VIOLATIONS) + self.unlisted_violations();
        if more > 0 {
            write!(f, "; and {more} more")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    /// Reads like `Display` (returning the error from `main` prints one line, not a dump),
    /// with the protocol facts in brackets: `UNAVAILABLE: ... [code Unavailable, HTTP 503,
    /// retry after 3s]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let mut facts = Vec::new();
        if let Some(code) = self.inner.code {
            facts.push(format!("code {code:?}"));
        }
        if let Some(status) = self.inner.http_status {
            facts.push(format!("HTTP {status}"));
        }
        if let Some(delay) = self.inner.retry_after {
            facts.push(format!("retry after {delay:?}"));
        }
        if self.inner.last_seen.is_some() {
            facts.push("last seen resource attached".to_owned());
        }
        if !facts.is_empty() {
            write!(f, " [{}]", facts.join(", "))?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        Self::from_status(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_a_kind() {
        let table = [
            (Code::InvalidArgument, ErrorKind::InvalidArgument),
            (Code::OutOfRange, ErrorKind::InvalidArgument),
            (Code::NotFound, ErrorKind::NotFound),
            (Code::AlreadyExists, ErrorKind::AlreadyExists),
            (Code::FailedPrecondition, ErrorKind::FailedPrecondition),
            (Code::Unauthenticated, ErrorKind::Unauthenticated),
            (Code::PermissionDenied, ErrorKind::PermissionDenied),
            (Code::ResourceExhausted, ErrorKind::ResourceExhausted),
            (Code::Unavailable, ErrorKind::Unavailable),
            (Code::DeadlineExceeded, ErrorKind::Timeout),
            (Code::Aborted, ErrorKind::Aborted),
            (Code::Cancelled, ErrorKind::Cancelled),
            (Code::Unimplemented, ErrorKind::Unimplemented),
            (Code::Internal, ErrorKind::Internal),
            (Code::DataLoss, ErrorKind::Internal),
            (Code::Unknown, ErrorKind::Other),
        ];
        for (code, kind) in table {
            assert_eq!(
                Error::from_status(Status::new(code, "x")).kind(),
                kind,
                "{code:?}"
            );
        }
    }

    #[test]
    fn tonic_timeout_is_reported_as_timeout() {
        let status = Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(status.code(), Code::Cancelled);
        let error = Error::from_status(status);
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert!(error.is_retryable());
    }

    #[test]
    fn plain_cancel_is_not_a_timeout() {
        assert_eq!(
            Error::from_status(Status::cancelled("user cancelled")).kind(),
            ErrorKind::Cancelled
        );
    }

    #[test]
    fn display_names_every_bad_field() {
        let details = ErrorDetails::with_bad_request(vec![
            FieldViolation::new("host_prefixes[0].prefixes[0]", "bad CIDR"),
            FieldViolation::new("name", "is required"),
        ]);
        let status = Status::with_error_details(Code::InvalidArgument, "invalid", details);
        let error = Error::from_status(status);
        assert_eq!(
            error.to_string(),
            "INVALID_ARGUMENT: host_prefixes[0].prefixes[0]: bad CIDR; name: is required"
        );
        assert_eq!(error.field_violations().len(), 2);
        assert!(!error.is_retryable());
    }

    #[test]
    fn quota_failures_are_not_retryable_but_overload_is() {
        let quota = Status::with_error_details(
            Code::ResourceExhausted,
            "quota",
            ErrorDetails::with_quota_failure_violation("vpcs", "limit 10"),
        );
        assert!(!Error::from_status(quota).is_retryable());
        assert!(Error::from_status(Status::resource_exhausted("busy")).is_retryable());
    }
}
