//! Client configuration: endpoint, token, timeouts, retries, and the environment.

use std::time::Duration;

use tonic::transport::{ClientTlsConfig, Endpoint};

use crate::{auth::Token, client::Client, error::Error, retry::RetryPolicy};

/// The real CoreWeave API.
pub const DEFAULT_ENDPOINT: &str = "https://api.coreweave.com";
/// The environment variable holding the API token.
pub const TOKEN_ENV: &str = "COREWEAVE_API_TOKEN";
/// The environment variable holding the endpoint; [`DEFAULT_ENDPOINT`] when unset.
pub const ENDPOINT_ENV: &str = "COREWEAVE_API_ENDPOINT";
/// The largest response the client accepts: far above a full, unpaginated list.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a [`Client`]. Building does no I/O: the connection is made on first use.
///
/// The client's channel runs on Tokio, so build it inside a Tokio runtime.
///
/// ```
/// use std::time::Duration;
/// use coreweave_api::Client;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), coreweave_api::Error> {
/// let client = Client::builder()
///     .endpoint("http://127.0.0.1:50051")
///     .token("CW-SECRET-example")
///     .timeout(Duration::from_secs(10))
///     .build()?;
/// assert_eq!(client.endpoint(), "http://127.0.0.1:50051");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    endpoint: String,
    token: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            token: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientBuilder {
    /// The API's URL: `https://...` uses TLS, `http://...` is plaintext (for the mock).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// The API access token, sent as `authorization: Bearer <token>`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The deadline of each attempt, sent to the server as `grpc-timeout`. Default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long to wait for a connection. Default 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How failed calls are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Checks the configuration and builds the client, without connecting.
    pub fn build(self) -> Result<Client, Error> {
        let token = self
            .token
            .as_deref()
            .ok_or_else(|| {
                Error::config(format!(
                    "no API token: set one with .token() or {TOKEN_ENV}"
                ))
            })
            .and_then(Token::new)?;
        if self.timeout.is_zero() {
            return Err(Error::config("the timeout must be greater than zero"));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::config(
                "retry_policy.max_attempts must be at least 1",
            ));
        }
        let endpoint = self.transport_endpoint()?;
        let config = Config {
            endpoint: self.endpoint,
            timeout: self.timeout,
            retry: self.retry,
        };
        Ok(Client::from_parts(config, token, endpoint.connect_lazy()))
    }

    fn transport_endpoint(&self) -> Result<Endpoint, Error> {
        let invalid =
            |why: &str| Error::config(format!("invalid endpoint {:?}: {why}", self.endpoint));
        let uri: http::Uri = self.endpoint.parse().map_err(|_| invalid("not a URL"))?;
        if uri.host().is_none() {
            return Err(invalid("it has no host"));
        }
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(invalid("the scheme must be http or https")),
        };
        let mut endpoint = Endpoint::from(uri)
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(false);
        if tls {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_enabled_roots())
                .map_err(|e| invalid(&e.to_string()))?;
        }
        Ok(endpoint)
    }

    /// A builder configured from the environment, read through `lookup` (see
    /// [`Client::from_env_with`]).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut builder = Self::default();
        if let Some(endpoint) = lookup(ENDPOINT_ENV).filter(|e| !e.trim().is_empty()) {
            builder.endpoint = endpoint.trim().to_owned();
        }
        builder.token = lookup(TOKEN_ENV);
        builder
    }
}

/// The settings a built client keeps.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) endpoint: String,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[tokio::test]
    async fn from_env_defaults_to_the_real_endpoint() {
        let builder = ClientBuilder::from_env_with(env(&[(TOKEN_ENV, "CW-SECRET-x")]));
        assert_eq!(builder.endpoint, DEFAULT_ENDPOINT);
        assert!(builder.build().is_ok());
    }

    #[tokio::test]
    async fn from_env_reads_the_endpoint() {
        let vars = [(TOKEN_ENV, "t"), (ENDPOINT_ENV, "http://127.0.0.1:1")];
        assert_eq!(
            ClientBuilder::from_env_with(env(&vars)).endpoint,
            "http://127.0.0.1:1"
        );
    }

    #[test]
    fn missing_token_is_a_config_error() {
        let error = ClientBuilder::from_env_with(env(&[])).build().unwrap_err();
        assert!(error.is_config());
        assert!(error.to_string().contains(TOKEN_ENV), "{error}");
    }

    #[test]
    fn bad_endpoints_are_config_errors() {
        for endpoint in ["", "not a url", "ftp://example.com", "http://", "/relative"] {
            let error = ClientBuilder::default()
                .endpoint(endpoint)
                .token("t")
                .build()
                .unwrap_err();
            assert!(error.is_config(), "{endpoint}: {error}");
        }
    }
}
