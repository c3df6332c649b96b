//! Binary gRPC over tonic, through the same generic unary call the generated stubs make.

use std::time::Duration;

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
        match grpc.unary(request, path, codec).await {
            Ok(response) => Ok(response.into_inner()),
            Err(status) if is_connect_failure(&status) => {
                Err(Error::connect_failure(&self.authority, status))
            }
            // tonic's own deadline fired: worded as the REST transport words it.
            Err(status) if is_client_timeout(&status) => Err(Error::new(
                ErrorKind::Timeout,
                format!("{method} timed out after {timeout:?}"),
            )
            .with_source(status)),
            Err(status) => Err(Error::from_status(status)),
        }
    }
}
