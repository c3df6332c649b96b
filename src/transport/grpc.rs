//! Binary gRPC over tonic, through the same generic unary call the generated stubs make.

use std::time::{Duration, Instant};

use http::uri::PathAndQuery;
use prost::Message;
use tonic::{client::Grpc, transport::Channel};

use crate::{
    auth::Token,
    error::{is_client_timeout, is_connect_failure, Error, ErrorKind},
    rpc::{Method, MAX_RESPONSE_BYTES},
};

/// gRPC over one lazily connected channel.
#[derive(Debug, Clone)]
pub(crate) struct GrpcWire {
    channel: Channel,
    /// The endpoint's host and port, for error messages.
    authority: String,
}

impl GrpcWire {
    pub(crate) fn new(channel: Channel, authority: String) -> Self {
        Self { channel, authority }
    }

    pub(crate) async fn unary<Req, Resp>(
        &self,
        method: Method,
        request: Req,
        token: &Token,
        timeout: Duration,
    ) -> Result<Resp, Error>
    where
        Req: Message + Send + 'static,
        Resp: Message + Default + Send + 'static,
    {
        let mut grpc =
            Grpc::new(self.channel.clone()).max_decoding_message_size(MAX_RESPONSE_BYTES);
        grpc.ready()
            .await
            .map_err(|e| Error::connect(format!("the channel is not ready: {e}")))?;
        let mut request = tonic::Request::new(request);
        request.set_timeout(timeout);
        request
            .metadata_mut()
            .insert("authorization", token.metadata());
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        let path = PathAndQuery::from_static(method.grpc_path());
        let started = Instant::now();
        match grpc.unary(request, path, codec).await {
            Ok(response) => Ok(response.into_inner()),
            Err(status) if is_connect_failure(&status) => {
                Err(Error::connect_failure(&self.authority, status))
            }
            // tonic's own deadline fired, or the server ended the call at the deadline this
            // client sent it (`grpc-timeout`), whichever came first: worded as the REST
            // transport words it.
            Err(status)
                if is_client_timeout(&status)
                    || ran_out_of(&status, started.elapsed(), timeout) =>
            {
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!("{method} timed out after {timeout:?}"),
                )
                .with_source(status))
            }
            Err(status) => Err(Error::from_status(status)),
        }
    }
}

/// Whether the server answered DEADLINE_EXCEEDED because this call's own deadline ran out:
/// at least nine tenths of it had passed (a server ends the call at the deadline it was sent,
/// which arrives a little after the call started). An earlier DEADLINE_EXCEEDED is the
/// server's own, and is reported as it is.
fn ran_out_of(status: &tonic::Status, elapsed: Duration, timeout: Duration) -> bool {
    status.code() == tonic::Code::DeadlineExceeded && elapsed >= timeout.mul_f64(0.9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_exceeded_at_the_callers_deadline_is_the_callers_timeout() {
        let expired = tonic::Status::deadline_exceeded("the call did not finish in time");
        let timeout = Duration::from_millis(200);
        assert!(ran_out_of(&expired, Duration::from_millis(198), timeout));
        assert!(ran_out_of(&expired, Duration::from_millis(250), timeout));
        assert!(
            !ran_out_of(&expired, Duration::from_millis(20), timeout),
            "the server's own deadline, long before ours"
        );
        let other = tonic::Status::unavailable("down");
        assert!(!ran_out_of(&other, Duration::from_millis(250), timeout));
    }
}
