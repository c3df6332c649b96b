//! The accept loop: every connection the listener admits ([`connections`]) is served by
//! hyper, HTTP/1.1 or HTTP/2 as the client speaks, each request going to the protocol router
//! that the connection's calls are counted on; a connection woken from inside its own poll is
//! polled again at once ([`repoll`](super::repoll)). On the stop signal the listener closes at
//! once, and each open connection closes as soon as the calls on it are answered.
//!
//! tonic's own server did this before, adding per call a layer for its connect info, one for
//! `grpc-timeout` (which the router's guard already applies) and one turning errors into
//! statuses: about 2,500 instructions of a REST call that none of its protocols needed.

use std::{future::Future, pin::pin};

use futures_util::StreamExt;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tower::{Layer, ServiceExt};

use super::connections::{self, ConnectionLimits};
use super::repoll::RepollOnSelfWake;
use crate::{
    protocol::{ProtocolLayer, ResponseBody},
    MockError,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves gRPC, gRPC-Web, Connect and REST on one listener until `signal` completes, then
/// waits for the open connections to finish their calls.
pub(super) async fn serve(
    listener: TcpListener,
    limits: ConnectionLimits,
    routes: Routes,
    router: ProtocolLayer,
    signal: impl Future<Output = ()>,
) -> Result<(), MockError> {
    let service = router.layer(routes.prepare());
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams);
    // No timer for HTTP/1.1, which turns hyper's request head timeout off: the connection
    // applies its own (`ConnectionLimits::request_head_timeout`) with a comparison per read,
    // where hyper's put an entry in tokio's timer wheel for every request (about 1,600
    // instructions, 5% of a REST call).
    let graceful = GracefulShutdown::new();
    {
        // Dropped as soon as the signal comes, which closes the listening socket.
        let mut incoming = pin!(connections::incoming(listener, limits));
        let mut signal = pin!(signal);
        loop {
            let connection = tokio::select! {
                () = &mut signal => break,
                next = incoming.next() => match next {
                    Some(Ok(connection)) => connection,
                    Some(Err(error)) => {
                        tracing::debug!(%error, "accepting a connection failed");
                        continue;
                    }
                    None => break,
                },
            };
            let calls = service
                .for_connection(connection.in_flight())
                .map_result(recover);
            let serving = http
                .serve_connection(TokioIo::new(connection), TowerToHyperService::new(calls))
                .into_owned();
            let serving = RepollOnSelfWake::new(graceful.watch(serving));
            tokio::spawn(async move {
                if let Err(error) = serving.await {
                    tracing::debug!(%error, "a connection ended with an error");
                }
            });
        }
    }
    graceful.shutdown().await;
    Ok(())
}

/// What tonic's server did with an error: answer it as a gRPC status.
fn recover(
    result: Result<http::Response<ResponseBody>, BoxError>,
) -> Result<http::Response<ResponseBody>, BoxError> {
    Ok(result.unwrap_or_else(|error| {
        let status = tonic::Status::from_error(error);
        status.into_http().map(ResponseBody::Grpc)
    }))
}
