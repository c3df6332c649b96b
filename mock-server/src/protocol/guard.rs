//! A call whose handling panics is answered INTERNAL, in its protocol's form, and logged
//! once; its connection and the server go on serving. A call whose caller's deadline
//! (`grpc-timeout`, `connect-timeout-ms`) runs out is answered DEADLINE_EXCEEDED, in its
//! protocol's form.

use std::{
    any::Any,
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    task::{ready, Context, Poll},
    time::Duration,
};

use axum::http::{header, HeaderValue, Response};
use futures_util::future::{CatchUnwind, FutureExt};
use tonic::Status;

use super::{error::rest_error, in_flight::CallInFlight, BoxError, Enveloped, ResponseBody, Wire};

pin_project_lite::pin_project! {
    /// A call of `wire`'s protocol, answered INTERNAL if it panics, and counted as in flight
    /// on its connection until it ends.
    pub struct Guarded<F> {
        #[pin]
        call: CatchUnwind<AssertUnwindSafe<F>>,
        wire: Wire,
        in_flight: Option<CallInFlight>,
        // Boxed, and only for a call whose caller set a deadline.
        deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<F: Future> Guarded<F> {
    pub(super) fn new(wire: Wire, in_flight: Option<CallInFlight>, call: F) -> Self {
        Self {
            call: AssertUnwindSafe(call).catch_unwind(),
            wire,
            in_flight,
            deadline: None,
        }
    }

    /// Ends the call with DEADLINE_EXCEEDED once `deadline` has passed without an answer.
    pub(super) fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline.map(|deadline| Box::pin(tokio::time::sleep(deadline)));
        self
    }
}

impl<F> Future for Guarded<F>
where
    F: Future<Output = Result<Response<ResponseBody>, BoxError>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = match this.call.poll(cx) {
            Poll::Ready(Ok(answer)) => answer,
            Poll::Ready(Err(panic)) => Ok(internal(*this.wire, panic.as_ref())),
            Poll::Pending => {
                let Some(deadline) = this.deadline else {
                    return Poll::Pending;
                };
                ready!(deadline.as_mut().poll(cx));
                let status = Status::deadline_exceeded(
                    "the call did not finish within the deadline its caller set",
                );
                Ok(answer_status(*this.wire, &status))
            }
        };
        this.in_flight.take();
        Poll::Ready(answer)
    }
}

/// The longest deadline honoured; a caller's longer one is no deadline at all.
const MAX_DEADLINE: Duration = Duration::from_secs(24 * 3600);
/// How much sooner than a `grpc-timeout` the call is ended: tonic's own timer for that header
/// starts first and would answer CANCELLED, not the DEADLINE_EXCEEDED gRPC servers answer.
const GRPC_TIMEOUT_HEADSTART: Duration = Duration::from_millis(2);

/// The deadline the caller of a request of `wire`'s protocol set: `grpc-timeout` for gRPC
/// and gRPC-Web, `connect-timeout-ms` for Connect. (The API's typed Connect unary calls,
/// which arrive as `Wire::Http`, keep their own.)
pub(super) fn deadline_of<B>(wire: Wire, request: &axum::http::Request<B>) -> Option<Duration> {
    let header = |name| request.headers().get(name)?.to_str().ok();
    let deadline = match wire {
        Wire::Grpc | Wire::GrpcWeb | Wire::Json(Enveloped::Grpc | Enveloped::GrpcWeb) => {
            grpc_timeout(header("grpc-timeout")?)?.saturating_sub(GRPC_TIMEOUT_HEADSTART)
        }
        Wire::ConnectStream | Wire::ConnectUnary | Wire::Json(Enveloped::ConnectStream) => {
            Duration::from_millis(header("connect-timeout-ms")?.parse().ok()?)
        }
        Wire::Http(_) => return None,
    };
    (deadline <= MAX_DEADLINE).then_some(deadline)
}

/// A `grpc-timeout` value: at most 8 digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`).
fn grpc_timeout(value: &str) -> Option<Duration> {
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = value.split_at(split);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let count: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(count.checked_mul(3600)?),
        "M" => Duration::from_secs(count.checked_mul(60)?),
        "S" => Duration::from_secs(count),
        "m" => Duration::from_millis(count),
        "u" => Duration::from_micros(count),
        "n" => Duration::from_nanos(count),
        _ => return None,
    })
}

/// The INTERNAL answer to a call that panicked, as its protocol writes errors.
pub(super) fn internal(wire: Wire, panic: &(dyn Any + Send)) -> Response<ResponseBody> {
    let what = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let shown = coreweave_api::text::cut(what, 200);
    tracing::error!(panic = %shown, protocol = ?wire, "a call panicked; it was answered INTERNAL");
    let status = Status::internal("the mock failed while answering this call; its log says why");
    answer_status(wire, &status)
}

/// `status` as the answer of a call of `wire`'s protocol.
fn answer_status(wire: Wire, status: &Status) -> Response<ResponseBody> {
    match wire {
        Wire::ConnectUnary => super::error::connect_error(status).map(ResponseBody::Http),
        Wire::Http(_) => rest_error(status).map(ResponseBody::Http),
        _ => grpc_answer(wire, status.clone()).map(ResponseBody::Grpc),
    }
}

/// `status` as the answer of a call of one of the gRPC protocols, `wire`.
fn grpc_answer(wire: Wire, status: Status) -> Response<tonic::body::Body> {
    match wire {
        Wire::GrpcWeb | Wire::Json(Enveloped::GrpcWeb) => {
            let mut response = status.into_http();
            let grpc_web = HeaderValue::from_static("application/grpc-web+proto");
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, grpc_web);
            response
        }
        Wire::ConnectStream | Wire::Json(Enveloped::ConnectStream) => {
            super::connect_stream::from_grpc(status.into_http())
        }
        _ => status.into_http(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn panicking() -> Result<Response<ResponseBody>, BoxError> {
        panic!("the handler broke")
    }

    #[tokio::test]
    async fn a_panicking_call_is_answered_internal_in_its_protocol() {
        let grpc = Guarded::new(Wire::Grpc, None, panicking()).await.unwrap();
        assert_eq!(grpc.headers()["grpc-status"], "13");
        let web = Guarded::new(Wire::GrpcWeb, None, panicking())
            .await
            .unwrap();
        assert_eq!(web.headers()["grpc-status"], "13");
        assert_eq!(
            web.headers()[header::CONTENT_TYPE],
            "application/grpc-web+proto"
        );
        let http = Guarded::new(Wire::Http(None), None, panicking())
            .await
            .unwrap();
        assert_eq!(http.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn grpc_timeouts_are_read_in_every_unit() {
        assert_eq!(grpc_timeout("200m"), Some(Duration::from_millis(200)));
        assert_eq!(grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(
            grpc_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "m", "123456789m", "10x", "-1S", "1.5S"] {
            assert_eq!(grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn an_answer_passes_unchanged() {
        let answer = async { Ok(Response::new(ResponseBody::Grpc(Default::default()))) };
        let response = Guarded::new(Wire::Http(None), None, answer).await.unwrap();
        assert_eq!(response.status(), axum::http::StatusCode::OK);
    }
}
