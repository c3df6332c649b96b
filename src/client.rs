//! The client: a cheap-to-clone handle over one lazily connected channel, and the call
//! executor every RPC goes through (auth, deadlines, retries, tracing).

use std::{future::Future, sync::Arc, time::Duration};

use tokio::time::Instant;
use tonic::{transport::Channel, Request, Response, Status};
use tracing::{field, Instrument};

use crate::{
    auth::Token,
    config::{ClientBuilder, Config, MAX_RESPONSE_BYTES},
    error::{Error, ErrorKind},
    gateway::Gateways,
    inference::v1alpha1::gateway_service_client::GatewayServiceClient,
    networking::v1beta1::vpc_service_client::VpcServiceClient,
    retry::{Idempotency, Recovery, Rpc},
    vpc::Vpcs,
};

/// A client for CoreWeave's VPC and inference gateway APIs.
///
/// Cloning is cheap and clones share one connection; every method takes `&self`.
/// Build one with [`Client::builder`] or [`Client::from_env`], inside a Tokio runtime.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    token: Token,
    vpc: VpcServiceClient<Channel>,
    gateway: GatewayServiceClient<Channel>,
}

impl Client {
    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `COREWEAVE_API_TOKEN` and `COREWEAVE_API_ENDPOINT` (which
    /// defaults to `https://api.coreweave.com`).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_env_with(|key| std::env::var(key).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` instead of the
    /// process environment.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        ClientBuilder::from_env_with(lookup).build()
    }

    pub(crate) fn from_parts(config: Config, token: Token, channel: Channel) -> Self {
        let vpc =
            VpcServiceClient::new(channel.clone()).max_decoding_message_size(MAX_RESPONSE_BYTES);
        let gateway =
            GatewayServiceClient::new(channel).max_decoding_message_size(MAX_RESPONSE_BYTES);
        Self {
            inner: Arc::new(Inner {
                config,
                token,
                vpc,
                gateway,
            }),
        }
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &str {
        &self.inner.config.endpoint
    }

    /// VPC operations.
    pub fn vpcs(&self) -> Vpcs {
        Vpcs::new(self.clone())
    }

    /// Inference gateway operations.
    pub fn gateways(&self) -> Gateways {
        Gateways::new(self.clone())
    }

    /// The generated VPC stub, for calls this crate does not wrap. Requests sent through it
    /// carry no token: use [`authorize`](Self::authorize).
    pub fn vpc_stub(&self) -> VpcServiceClient<Channel> {
        self.inner.vpc.clone()
    }

    /// The generated gateway stub (see [`vpc_stub`](Self::vpc_stub)).
    pub fn gateway_stub(&self) -> GatewayServiceClient<Channel> {
        self.inner.gateway.clone()
    }

    /// Wraps a message in a request that carries this client's token and timeout.
    pub fn authorize<T>(&self, message: T) -> Request<T> {
        self.request(message, self.inner.config.timeout)
    }

    fn request<T>(&self, message: T, timeout: Duration) -> Request<T> {
        let mut request = Request::new(message);
        request.set_timeout(timeout);
        request
            .metadata_mut()
            .insert("authorization", self.inner.token.header());
        request
    }

    /// Calls an RPC on `stub` through the executor: auth, deadlines, retries and tracing.
    pub(crate) async fn call<Stub, Req, Resp, Fut>(
        &self,
        rpc: Rpc,
        stub: Stub,
        request: Req,
        send: impl Fn(Stub, Request<Req>) -> Fut,
        recover: impl AsyncRecover<Resp>,
    ) -> Result<Resp, Error>
    where
        Stub: Clone,
        Req: Clone,
        Fut: Future<Output = Result<Response<Resp>, Status>>,
    {
        self.execute(rpc, request, |req| send(stub.clone(), req), recover)
            .await
    }

    /// Sends `request` until it succeeds, fails for good, or the retry budget runs out.
    async fn execute<Req, Resp, Fut>(
        &self,
        rpc: Rpc,
        request: Req,
        send: impl Fn(Request<Req>) -> Fut,
        recover: impl AsyncRecover<Resp>,
    ) -> Result<Resp, Error>
    where
        Req: Clone,
        Fut: Future<Output = Result<Response<Resp>, Status>>,
    {
        let span = tracing::info_span!(
            "coreweave_api.rpc",
            service = rpc.service,
            method = rpc.method,
            attempt = field::Empty,
            code = field::Empty,
        );
        let result = self
            .attempts(rpc, request, send, recover)
            .instrument(span.clone())
            .await;
        let code = match &result {
            Ok(_) => "OK",
            Err(error) => error.kind().label(),
        };
        span.record("code", code);
        result
    }

    async fn attempts<Req, Resp, Fut>(
        &self,
        rpc: Rpc,
        request: Req,
        send: impl Fn(Request<Req>) -> Fut,
        recover: impl AsyncRecover<Resp>,
    ) -> Result<Resp, Error>
    where
        Req: Clone,
        Fut: Future<Output = Result<Response<Resp>, Status>>,
    {
        let policy = self.inner.config.retry;
        let deadline = Instant::now() + policy.total_timeout;
        let mut attempt = 1;
        loop {
            tracing::Span::current().record("attempt", attempt);
            let remaining = deadline.saturating_duration_since(Instant::now());
            let timeout = self.inner.config.timeout.min(remaining);
            let error = match self.attempt(rpc, &request, &send, timeout).await {
                Ok(response) => return Ok(response),
                Err(error) => error,
            };
            let retry = match recover.recover(&error, attempt).await? {
                Recovery::Done(response) => return Ok(response),
                Recovery::Retry => true,
                Recovery::Default => should_retry(rpc.idempotency, &error),
            };
            let backoff = policy.backoff(attempt, fastrand::f64());
            let out_of_budget = Instant::now() + backoff >= deadline;
            if !retry || attempt >= policy.max_attempts || out_of_budget {
                return Err(error);
            }
            tracing::debug!(attempt, ?backoff, error = %error, "retrying");
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
    }

    async fn attempt<Req, Resp, Fut>(
        &self,
        rpc: Rpc,
        request: &Req,
        send: &impl Fn(Request<Req>) -> Fut,
        timeout: Duration,
    ) -> Result<Resp, Error>
    where
        Req: Clone,
        Fut: Future<Output = Result<Response<Resp>, Status>>,
    {
        if timeout.is_zero() {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!("{} ran out of its retry budget", rpc.method),
            ));
        }
        let call = send(self.request(request.clone(), timeout));
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(Error::from_status(status)),
            Err(elapsed) => Err(Error::new(
                ErrorKind::Timeout,
                format!("{} timed out after {timeout:?}", rpc.method),
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
