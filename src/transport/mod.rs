//! The wire: the only layer that knows about HTTP or gRPC. Everything above it (builders,
//! retries, waiters, errors, tracing) works the same over both.

mod grpc;
mod proxy;
mod rest;
mod tls;

use std::{fmt, str::FromStr, time::Duration};

use prost::{Message, Name};

use crate::{auth::Token, error::Error, rpc::Method};

pub(crate) use grpc::GrpcWire;
pub(crate) use proxy::ProxySetting;
pub(crate) use rest::RestWire;
pub(crate) use tls::{grpc_tls_connector, TlsSettings};

/// The environment variable that chooses the transport: `rest` or `grpc`.
pub const TRANSPORT_ENV: &str = "COREWEAVE_API_TRANSPORT";

/// Which wire protocol the client speaks.
///
/// The default is [`Transport::Rest`], for every endpoint: JSON over the documented REST
/// paths uses field *names*, so it is the one format known to match the real service. Our
/// protobuf field numbers are our own (CoreWeave's are not public), so binary gRPC is only
/// safe against a server built from this crate's protos, such as `coreweave-mock`.
///
/// ```
/// use coreweave_api::Transport;
///
/// assert_eq!("grpc".parse::<Transport>()?, Transport::Grpc);
/// assert_eq!(Transport::default(), Transport::Rest);
/// # Ok::<(), coreweave_api::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// JSON over the documented REST API (spec sections 1 and 4). Safe against production.
    #[default]
    Rest,
    /// Binary gRPC with this crate's field numbers: for `coreweave-mock` and servers built
    /// from the same protos. Faster, but never safe against the real API.
    Grpc,
}

impl Transport {
    /// The transport's name, as `COREWEAVE_API_TRANSPORT` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Grpc => "grpc",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "rest" => Ok(Self::Rest),
            "grpc" => Ok(Self::Grpc),
            _ => Err(Error::config(format!(
                "unknown transport {text:?}: expected rest or grpc"
            ))),
        }
    }
}

/// A connection to the API over one transport.
#[derive(Debug, Clone)]
pub(crate) enum Wire {
    Grpc(GrpcWire),
    /// Boxed: the pooled HTTP client is several times the size of a gRPC channel.
    Rest(Box<RestWire>),
}

impl Wire {
    /// Sends one request and reads its response: one attempt, no retries. `timeout` is the
    /// attempt's deadline, which gRPC also tells the server.
    pub(crate) async fn unary<Req, Resp>(
        &self,
        method: Method,
        request: Req,
        token: &Token,
        timeout: Duration,
    ) -> Result<Resp, Error>
    where
        Req: Message + Name + Send + 'static,
        Resp: Message + Name + Default + Send + 'static,
    {
        match self {
            Self::Grpc(wire) => wire.unary(method, request, token, timeout).await,
            Self::Rest(wire) => wire.unary(method, &request, token).await,
        }
    }
}
