//! The API: what each RPC of the VPC and gateway services does, and the rules a request must
//! follow. The services are the generated gRPC traits, implemented once; every protocol
//! (gRPC, gRPC-Web, Connect, REST) calls these same implementations through the pipeline.
//! A snapshot's resources are held to the same rules.
//!
//! Each service names its RPCs once ([`rpcs!`]): an inherent method per RPC answers through
//! the pipeline, at once unless the call must wait, which is how the HTTP protocols call it;
//! the gRPC trait's method awaits the same answer.

/// Implements a service's RPCs: for each, an inherent method that runs the call through the
/// pipeline ([`MockState::call`](crate::pipeline::MockState::call)) with the RPC's operation,
/// and the generated gRPC trait's method of the same name, which awaits it.
macro_rules! rpcs {
    ($api:ident: $service:path {
        $( $rpc:ident($request:ty) -> $response:ty = $method:ident, $op:expr; )*
    }) => {
        impl $api {
            $(
                #[doc = concat!("Runs `", stringify!($method), "`; see [`MockState::call`].")]
                pub(crate) fn $rpc(
                    &self,
                    request: tonic::Request<$request>,
                    protocol: crate::pipeline::journal::Protocol,
                ) -> crate::pipeline::Answer<Result<tonic::Response<$response>, tonic::Status>> {
                    let method = coreweave_api::rpc::Method::$method;
                    self.state.call(method, protocol, request, $op)
                }
            )*
        }

        #[tonic::async_trait]
        impl $service for $api {
            $(
                async fn $rpc(
                    &self,
                    request: tonic::Request<$request>,
                ) -> Result<tonic::Response<$response>, tonic::Status> {
                    // The inherent method of the same name; its answer taken as it is when
                    // made at once, rather than moved through a ready future.
                    let protocol = crate::pipeline::journal::Protocol::of(&request);
                    match <$api>::$rpc(self, request, protocol) {
                        crate::pipeline::Answer::Now(answer) => answer,
                        crate::pipeline::Answer::Later(answer) => answer.await,
                    }
                }
            )*
        }
    };
}

pub(crate) mod gateway;
mod journaled;
pub(crate) mod overview;
pub(crate) mod snapshot;
pub(crate) mod validation;
pub(crate) mod vpc;
