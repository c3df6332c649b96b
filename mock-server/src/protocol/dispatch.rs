//! The one place where an RPC of the table ([`Method`]) meets its service implementation.
//! REST and Connect unary both dispatch here, each with its own way of reading the request
//! and writing the response ([`Invoke`]); no protocol names a method or a path of its own.
//!
//! A call that needs no wait (no large body to parse off the workers, no steered delay) runs
//! from its decoded request to its rendered response in plain function calls and is
//! answered at once ([`Answer::Now`]); only a call that waits gets a future, boxed where the
//! wait begins. A chain of `async fn`s each holding the one below, and a boxed future per
//! call, made the stack 15 KB deep at the handler and moved a kilobyte of future per call.

use coreweave_api::{json::ApiMessage, rpc::Method};
use prost::{Message, Name};
use tonic::Status;

use super::Apis;
use crate::pipeline::{journal::Protocol, Answer};

/// How one protocol runs a call: it decodes the request as `Req`, calls the service, and
/// renders the outcome.
pub(crate) trait Invoke {
    /// What the protocol answers with.
    type Output;

    /// Runs `call`, the service's implementation of the RPC.
    fn invoke<Req: RequestMessage>(self, call: impl ServiceCall<Req>) -> Answer<Self::Output>;
}

/// A request message of the API, as the protocols decode it.
pub(crate) trait RequestMessage: Message + Name + Default + Send + 'static {}

impl<T: Message + Name + Default + Send + 'static> RequestMessage for T {}

/// One call of an RPC's service implementation, owning what it needs (it may be made once a
/// large body is parsed).
pub(crate) trait ServiceCall<Req>: Send + 'static {
    /// The response message.
    type Response: ApiMessage + Send + 'static;

    /// Makes the call, which came in over `protocol`.
    fn call(
        self,
        request: tonic::Request<Req>,
        protocol: Protocol,
    ) -> Answer<Result<tonic::Response<Self::Response>, Status>>;
}

impl<Req, Resp, F> ServiceCall<Req> for F
where
    F: FnOnce(tonic::Request<Req>, Protocol) -> Answer<Result<tonic::Response<Resp>, Status>>
        + Send
        + 'static,
    Resp: ApiMessage + Send + 'static,
{
    type Response = Resp;

    fn call(
        self,
        request: tonic::Request<Req>,
        protocol: Protocol,
    ) -> Answer<Result<tonic::Response<Resp>, Status>> {
        self(request, protocol)
    }
}

/// Runs `method` by `invoke`, against the service that implements it. Each call owns a
/// handle on its service (an `Arc` clone), so that a call made later borrows nothing.
pub(crate) fn dispatch<I: Invoke>(apis: &Apis, method: Method, invoke: I) -> Answer<I::Output> {
    macro_rules! call {
        ($service:ident . $rpc:ident) => {{
            let service = apis.$service.clone();
            invoke.invoke(move |request, protocol| service.$rpc(request, protocol))
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
