//! The client: a cheap-to-clone handle over one lazily connected transport, and the call
//! executor every RPC goes through (auth, deadlines, retries, tracing). The executor knows
//! nothing of HTTP or gRPC: the [`Wire`] does.

use std::{future::Future, sync::Arc, time::Duration};

use prost::{Message, Name};
use tonic::{transport::Channel, Request};
use tracing::{field, Instrument};

use crate::{
    auth::Token,
    config::ClientBuilder,
    error::{Error, ErrorKind},
    gateway::Gateways,
    inference::v1alpha1::gateway_service_client::GatewayServiceClient,
    networking::v1beta1::vpc_service_client::VpcServiceClient,
    retry::{self, Decision, RetryPolicy},
    rpc::{Idempotency, Method, MAX_RESPONSE_BYTES},
    transport::{Transport, Wire},
    vpc::Vpcs,
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
    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `COREWEAVE_API_TOKEN`, `COREWEAVE_API_ENDPOINT` (default
    /// `https://api.coreweave.com`) and `COREWEAVE_API_TRANSPORT` (default `rest`).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(|key| std::env::var(key).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` instead of the
    /// process environment.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        ClientBuilder::from_env_with(lookup)?.build()
    }

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

    /// VPC operations.
    pub fn vpcs(&self) -> Vpcs {
        Vpcs::new(self.clone())
    }

    /// Inference gateway operations.
    pub fn gateways(&self) -> Gateways {
        Gateways::new(self.clone())
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
        let result = self
            .attempts(method, request, recover)
            .instrument(span.clone())
            .await;
        let code = match &result {
            Ok(_) => "OK",
            Err(error) => error.kind().label(),
        };
        span.record("code", code);
        result
    }

    async fn attempts<Req, Resp>(
        &self,
        method: Method,
        request: Req,
        recover: impl AsyncRecover<Resp>,
    ) -> Result<Resp, Error>
    where
        Req: Message + Name + Clone + Send + 'static,
        Resp: Message + Name + Default + Send + 'static,
    {
        let attempt = |number: u32, remaining: Duration| {
            tracing::Span::current().record("attempt", number);
            self.attempt(method, request.clone(), self.options.timeout.min(remaining))
        };
        let recover = &recover;
        let decide = move |error: Error, number: u32| async move {
            let decision = match recover.recover(&error, number).await? {
                Recovery::Done(response) => Decision::Done(response),
                Recovery::Retry => Decision::Retry,
                Recovery::Default if should_retry(method.idempotency(), &error) => Decision::Retry,
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

fn should_retry(idempotency: Idempotency, error: &Error) -> bool {
    match idempotency {
        Idempotency::Idempotent => error.is_retryable(),
        // The request never left the client, so it cannot have acted.
        Idempotency::Unsafe => error.kind() == ErrorKind::Connect,
    }
}

/// What a call-specific recovery hook decided about a failed attempt.
pub(crate) enum Recovery<T> {
    /// Decide by the RPC's idempotency and the error.
    Default,
    /// Try again (subject to the attempt and time budget).
    Retry,
    /// The call succeeded after all, with this result.
    Done(T),
}

/// A per-call hook that may turn a failed attempt into a success or a retry.
pub(crate) trait AsyncRecover<T> {
    /// Decides what to do about `error` from attempt number `attempt`.
    fn recover(
        &self,
        error: &Error,
        attempt: u32,
    ) -> impl Future<Output = Result<Recovery<T>, Error>>;
}

/// No hook: decide by the RPC's idempotency.
pub(crate) struct NoRecovery;

impl<T> AsyncRecover<T> for NoRecovery {
    async fn recover(&self, _: &Error, _: u32) -> Result<Recovery<T>, Error> {
        Ok(Recovery::Default)
    }
}
