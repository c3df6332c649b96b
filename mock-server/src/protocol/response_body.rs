//! The body of every answer the port sends: a gRPC service's (tonic's) or an HTTP handler's
//! (axum's), each sent as it is. One type for both used to mean boxing every REST and
//! Connect answer's body a second time, and polling it through two layers of dynamic calls.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use axum::body::Bytes;
use http_body::{Frame, SizeHint};

use super::BoxError;

/// An answer's body.
// `pub` as the output of the router's futures, which pin-project-lite declares `pub`.
#[allow(unreachable_pub)]
#[derive(Debug)]
pub enum ResponseBody {
    /// A gRPC service's, or one written for a gRPC protocol.
    Grpc(tonic::body::Body),
    /// An HTTP handler's: REST, Connect unary, the control API.
    Http(axum::body::Body),
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        // Both bodies are boxes inside, and so `Unpin`.
        match self.get_mut() {
            Self::Grpc(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
            Self::Http(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Grpc(body) => body.is_end_stream(),
            Self::Http(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Grpc(body) => body.size_hint(),
            Self::Http(body) => body.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body::Body;
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn either_body_is_sent_as_it_is() {
        let http = ResponseBody::Http(axum::body::Body::from("rest"));
        assert_eq!(http.size_hint().exact(), Some(4));
        assert_eq!(http.collect().await.unwrap().to_bytes(), "rest");
        let grpc = ResponseBody::Grpc(tonic::body::Body::new("grpc".to_owned()));
        assert_eq!(grpc.collect().await.unwrap().to_bytes(), "grpc");
        assert!(ResponseBody::Grpc(tonic::body::Body::empty()).is_end_stream());
    }
}
