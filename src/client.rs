//! The client: a cheap-to-clone handle over one lazily connected transport, and the call
//! executor every RPC goes through (auth, deadlines, retries, tracing). The executor knows
//! nothing of HTTP or gRPC: the [`Wire`] does.

use std::{sync::Arc, time::Duration};

use prost::{Message, Name};
use tonic::{transport::Channel, Request};
use tracing::{field, Instrument};

use crate::{
    auth::Token,
    error::{Error, ErrorKind},
    inference::v1alpha1::gateway_service_client::GatewayServiceClient,
    networking::v1beta1::vpc_service_client::VpcServiceClient,
    retry::{self, should_retry, AsyncRecover, Decision, Recovery, RetryPolicy},
    rpc::{Method, MAX_RESPONSE_BYTES},
    transport::{Transport, Wire},
};

/// A client for CoreWeave's VPC and inference gateway APIs.
///
/// Cloning is cheap and clones share one connection pool; every method takes `&self`.
/// Build one with [`Client::builder`] or [`Client::from_env`], inside a Tokio runtime.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
    options: CallOptions,
}

#[derive(Debug)]
struct Inner {
    endpoint: String,
    transport: Transport,
    token: Token,
    wire: Wire,
    /// A lazily connected gRPC channel, for the raw stubs.
    channel: Channel,
}

/// The per-call settings, which [`Client::with_timeout`] and [`Client::with_retry_policy`]
/// override on a clone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallOptions {
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
}

/// What a built client is made of; from the [`ClientBuilder`].
pub(crate) struct Parts {
    pub(crate) endpoint: String,
    pub(crate) transport: Transport,
    pub(crate) token: Token,
    pub(crate) wire: Wire,
    pub(crate) channel: Channel,
    pub(crate) options: CallOptions,
}

impl Client {
    pub(crate) fn from_parts(parts: Parts) -> Self {
        Self {
            inner: Arc::new(Inner {
                endpoint: parts.endpoint,
                transport: parts.transport,
                token: parts.token,
                wire: parts.wire,
                channel: parts.channel,
            }),
            options: parts.options,
        }
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The transport this client speaks.
    pub fn transport(&self) -> Transport {
        self.inner.transport
    }

    /// A clone whose calls use this per-attempt timeout. It shares the connection.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), coreweave_api::Error> {
    /// use std::time::Duration;
    /// # let client = coreweave_api::Client::builder().endpoint("http://127.0.0.1:9").token("t").build()?;
    /// let patient = client.with_timeout(Duration::from_secs(120));
    /// // patient.vpcs().list().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        let mut client = self.clone();
        if !timeout.is_zero() {
            client.options.timeout = timeout;
        }
        client
    }

    /// A clone whose calls are retried by `policy`. It shares the connection.
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Self {
        let mut client = self.clone();
        client.options.retry = RetryPolicy {
            max_attempts: policy.max_attempts.max(1),
            ..policy
        };
        client
    }

    /// The generated VPC stub, for calls this crate does not wrap. It always speaks binary
    /// gRPC with this crate's field numbers, whatever the client's transport: use it against
    /// the mock, never against the real API. Requests sent through it carry no token: use
    /// [`authorize`](Self::authorize).
    pub fn vpc_stub(&self) -> VpcServiceClient<Channel> {
        VpcServiceClient::new(self.inner.channel.clone())
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    /// The generated gateway stub (see [`vpc_stub`](Self::vpc_stub)).
    pub fn gateway_stub(&self) -> GatewayServiceClient<Channel> {
        GatewayServiceClient::new(self.inner.channel.clone())
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    /// Wraps a message in a request that carries this client's token and timeout.
    pub fn authorize<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.set_timeout(self.options.timeout);
        request
            .metadata_mut()
            .insert("authorization", self.inner.token.metadata());
        request
    }

    /// Calls `method` through the executor: auth, deadlines, retries and tracing. `recover`
    /// may turn a failed attempt into a success or a retry.
    pub(crate) async fn call<Req, Resp>(
        &self,
        method: Method,
        request: Req,
        recover: impl AsyncRecover<Resp>,
    ) -> Result<Resp, Error>
    where
        Req: Message + Name + Clone + Send + 'static,
        Resp: Message + Name + Default + Send + 'static,
    {
        let span = tracing::info_span!(
            "coreweave_api.rpc",
            service = method.service(),
            method = method.name(),
            transport = self.inner.transport.as_str(),
            attempt = field::Empty,
            code = field::Empty,
        );
        let attempts = async {
            let attempt = |number: u32, remaining: Duration| {
                tracing::Span::current().record("attempt", number);
                self.attempt(method, request.clone(), self.options.timeout.min(remaining))
            };
            let recover = &recover;
            let decide = move |error: Error, number: u32| async move {
                let decision = match recover.recover(&error, number).await? {
                    Recovery::Done(response) => Decision::Done(response),
                    Recovery::Retry => Decision::Retry,
                    Recovery::Default if should_retry(method.idempotency(), &error) => {
                        Decision::Retry
                    }
                    Recovery::Default => Decision::Stop,
                };
                Ok((decision, error))
            };
            retry::run(
                &self.options.retry,
                method.name(),
                fastrand::f64,
                attempt,
                decide,
            )
            .await
        };
        let result = attempts.instrument(span.clone()).await;
        let code = match &result {
            Ok(_) => "OK",
            Err(error) => error.kind().label(),
        };
        span.record("code", code);
        result
    }

    async fn attempt<Req, Resp>(
        &self,
        method: Method,
        request: Req,
        timeout: Duration,
    ) -> Result<Resp, Error>
    where
        Req: Message + Name + Send + 'static,
        Resp: Message + Name + Default + Send + 'static,
    {
        let call = self
            .inner
            .wire
            .unary(method, request, &self.inner.token, timeout);
        match tokio::time::timeout(timeout, call).await {
            Ok(result) => result,
            Err(elapsed) => Err(Error::new(
                ErrorKind::Timeout,
                format!("{method} timed out after {timeout:?}"),
            )
            .with_source(elapsed)),
        }
    }
}
