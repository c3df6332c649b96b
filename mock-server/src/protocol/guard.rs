//! A call whose handling panics is answered INTERNAL, in its protocol's form, and logged
//! once; its connection and the server go on serving.

use std::{
    any::Any,
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    task::{ready, Context, Poll},
};

use axum::http::{header, HeaderValue, Response};
use futures_util::future::{CatchUnwind, FutureExt};
use tonic::Status;

use super::{error::rest_error, in_flight::CallInFlight, BoxError, Enveloped, Wire};

pin_project_lite::pin_project! {
    /// A call of `wire`'s protocol, answered INTERNAL if it panics, and counted as in flight
    /// on its connection until it ends.
    pub struct Guarded<F> {
        #[pin]
        call: CatchUnwind<AssertUnwindSafe<F>>,
        wire: Wire,
        in_flight: Option<CallInFlight>,
    }
}

impl<F: Future> Guarded<F> {
    pub(super) fn new(wire: Wire, in_flight: Option<CallInFlight>, call: F) -> Self {
        Self {
            call: AssertUnwindSafe(call).catch_unwind(),
            wire,
            in_flight,
        }
    }
}

impl<F> Future for Guarded<F>
where
    F: Future<Output = Result<Response<tonic::body::Body>, BoxError>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = match ready!(this.call.poll(cx)) {
            Ok(answer) => answer,
            Err(panic) => Ok(internal(*this.wire, panic.as_ref())),
        };
        this.in_flight.take();
        Poll::Ready(answer)
    }
}

/// The INTERNAL answer to a call that panicked, as its protocol writes errors.
fn internal(wire: Wire, panic: &(dyn Any + Send)) -> Response<tonic::body::Body> {
    let what = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let shown = coreweave_api::text::cut(what, 200);
    tracing::error!(panic = %shown, protocol = ?wire, "a call panicked; it was answered INTERNAL");
    let status = Status::internal("the mock failed while answering this call; its log says why");
    match wire {
        Wire::Grpc | Wire::Json(Enveloped::Grpc) => status.into_http(),
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
        Wire::ConnectUnary => super::error::connect_error(&status).map(tonic::body::Body::new),
        Wire::Http => rest_error(&status).map(tonic::body::Body::new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn panicking() -> Result<Response<tonic::body::Body>, BoxError> {
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
        let http = Guarded::new(Wire::Http, None, panicking()).await.unwrap();
        assert_eq!(http.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn an_answer_passes_unchanged() {
        let answer = async { Ok(Response::new(tonic::body::Body::empty())) };
        let response = Guarded::new(Wire::Http, None, answer).await.unwrap();
        assert_eq!(response.status(), axum::http::StatusCode::OK);
    }
}
