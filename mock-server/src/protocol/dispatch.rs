//! The one place where an RPC of the table ([`Method`]) meets its service implementation.
//! REST and Connect unary both dispatch here, each with its own way of reading the request
//! and writing the response ([`Invoke`]); no protocol names a method or a path of its own.
//!
//! Each call's future is boxed here, per RPC, and the functions that build it on either side
//! return futures rather than being `async fn`s where they need no state across an await:
//! an `async fn` holds its arguments beside the future it awaits, and every level copies the
//! one below it. The direct door's future was 3.4 KB, a memcpy that made two fifths of a
//! REST call's L1 write misses.

use std::future::Future;

use coreweave_api::{
    inference::v1alpha1::gateway_service_server::GatewayService, json::ApiMessage,
    networking::v1beta1::vpc_service_server::VpcService, rpc::Method,
};
use prost::{Message, Name};
use tonic::Status;

use super::Apis;

/// How one protocol runs a call: it decodes the request as `Req`, calls the service, and
/// renders the outcome.
pub(crate) trait Invoke {
    /// What the protocol answers with.
    type Output;

    /// Runs `call`, the service's implementation of the RPC.
    fn invoke<Req: RequestMessage>(
        self,
        call: impl ServiceCall<Req>,
    ) -> impl Future<Output = Self::Output> + Send;
}

/// A request message of the API, as the protocols decode it.
pub(crate) trait RequestMessage: Message + Name + Default + Send + 'static {}

impl<T: Message + Name + Default + Send + 'static> RequestMessage for T {}

/// One call of an RPC's service implementation, owning what it needs.
pub(crate) trait ServiceCall<Req>: Send {
    /// The response message.
    type Response: ApiMessage;
    /// The call's future.
    type Answer: Future<Output = Result<tonic::Response<Self::Response>, Status>> + Send;

    /// Makes the call.
    fn call(self, request: tonic::Request<Req>) -> Self::Answer;
}

impl<Req, Resp, Fut, F> ServiceCall<Req> for F
where
    F: FnOnce(tonic::Request<Req>) -> Fut + Send,
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>> + Send,
    Resp: ApiMessage,
{
    type Response = Resp;
    type Answer = Fut;

    fn call(self, request: tonic::Request<Req>) -> Fut {
        self(request)
    }
}

/// Runs `method` by `invoke`, against the service that implements it. Each call owns a
/// handle on its service (an `Arc` clone), so that its future borrows nothing.
pub(crate) async fn dispatch<I: Invoke>(apis: &Apis, method: Method, invoke: I) -> I::Output {
    macro_rules! call {
        ($service:ident . $rpc:ident) => {{
            let service = apis.$service.clone();
            // Boxed: otherwise every future up the chain would hold room for the largest
            // of the eleven, and each call would copy it from level to level.
            Box::pin(invoke.invoke(move |request| async move { service.$rpc(request).await })).await
        }};
    }
    match method {
        Method::CreateVpc => call!(vpcs.create_vpc),
        Method::GetVpc => call!(vpcs.get_vpc),
        Method::ListVpcs => call!(vpcs.list_vp_cs),
        Method::UpdateVpc => call!(vpcs.update_vpc),
        Method::DeleteVpc => call!(vpcs.delete_vpc),
        Method::CreateGateway => call!(gateways.create_gateway),
        Method::GetGateway => call!(gateways.get_gateway),
        Method::ListGateways => call!(gateways.list_gateways),
        Method::UpdateGateway => call!(gateways.update_gateway),
        Method::DeleteGateway => call!(gateways.delete_gateway),
        Method::GetGatewayParameters => call!(gateways.get_gateway_parameters),
    }
}
