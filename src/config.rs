//! Client configuration: endpoint, token, timeouts, retries, and the environment.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::{
    auth::Token,
    client::{CallOptions, Client, Parts},
    error::Error,
    retry::RetryPolicy,
    transport::{GrpcWire, ProxySetting, RestWire, TlsSettings, Transport, Wire, TRANSPORT_ENV},
};

/// The real CoreWeave API.
pub const DEFAULT_ENDPOINT: &str = "https://api.coreweave.com";
/// The environment variable holding the API token.
pub const TOKEN_ENV: &str = "COREWEAVE_API_TOKEN";
/// The environment variable holding the endpoint; [`DEFAULT_ENDPOINT`] when unset.
pub const ENDPOINT_ENV: &str = "COREWEAVE_API_ENDPOINT";

/// The largest header list (a gRPC error's status, message and details travel in it) the
/// gRPC transport reads: 16 MiB, grpc-go's default.
pub(crate) const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024 * 1024;

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
    transport: Transport,
    /// What TLS trusts.
    tls: TlsSettings,
    /// The REST transport's proxy.
    proxy: ProxySetting,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            token: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry: RetryPolicy::default(),
            transport: Transport::default(),
            tls: TlsSettings::default(),
            proxy: ProxySetting::default(),
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

    /// The wire protocol. Default [`Transport::Rest`], whatever the endpoint: it is the one
    /// format known to match the real service. Choose [`Transport::Grpc`] only for
    /// `coreweave-mock` or another server built from this crate's protos.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The deadline of each attempt (over gRPC also sent to the server as `grpc-timeout`).
    /// Default 30 s.
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
        if self.retry.total_timeout.is_zero() {
            return Err(Error::config(
                "retry_policy.total_timeout must be greater than zero",
            ));
        }
        let uri = self.endpoint_uri()?;
        let tls = self.tls.client_config()?;
        let channel = self.grpc_channel(&uri, tls.clone())?;
        let authority = uri.authority().map(ToString::to_string).unwrap_or_default();
        let wire = match self.transport {
            Transport::Grpc => Wire::Grpc(GrpcWire::new(channel.clone(), authority)),
            Transport::Rest => Wire::Rest(Box::new(RestWire::new(
                &uri,
                self.connect_timeout,
                tls,
                &self.proxy,
            )?)),
        };
        Ok(Client::from_parts(Parts {
            endpoint: self.endpoint,
            transport: self.transport,
            token,
            wire,
            channel,
            options: CallOptions {
                timeout: self.timeout,
                retry: self.retry,
            },
        }))
    }

    /// The endpoint as a URL, checked: http or https, with a host.
    fn endpoint_uri(&self) -> Result<http::Uri, Error> {
        let invalid =
            |why: &str| Error::config(format!("invalid endpoint {:?}: {why}", self.endpoint));
        let uri: http::Uri = self.endpoint.parse().map_err(|_| invalid("not a URL"))?;
        if uri.host().is_none() {
            return Err(invalid("it has no host"));
        }
        match uri.scheme_str() {
            Some("https" | "http") => Ok(uri),
            _ => Err(invalid("the scheme must be http or https")),
        }
    }

    /// The lazily connected gRPC channel, for the gRPC transport and the raw stubs; `tls` is
    /// used when a whole configuration was given, and tonic's own TLS otherwise.
    fn grpc_channel(&self, uri: &http::Uri, tls: rustls::ClientConfig) -> Result<Channel, Error> {
        let endpoint = self.grpc_endpoint(uri.clone());
        if uri.scheme_str() != Some("https") {
            return Ok(endpoint.connect_lazy());
        }
        let invalid = |e: &dyn std::fmt::Display| {
            Error::config(format!("invalid endpoint {:?}: {e}", self.endpoint))
        };
        if !self.tls.is_custom() {
            let endpoint = endpoint
                .tls_config(self.tls.tonic_config()?)
                .map_err(|e| invalid(&e))?;
            return Ok(endpoint.connect_lazy());
        }
        // tonic refuses an `https://` endpoint without TLS of its own, so it dials the plain
        // address, the connector does TLS, and requests name the endpoint as their origin.
        let host = uri.host().unwrap_or_default();
        let port = uri.port_u16().unwrap_or(443);
        let dial = http::Uri::try_from(format!("http://{host}:{port}")).map_err(|e| invalid(&e))?;
        let connector = crate::transport::grpc_tls_connector(tls, self.connect_timeout);
        let endpoint = self.grpc_endpoint(dial).origin(uri.clone());
        Ok(endpoint.connect_with_connector_lazy(connector))
    }

    /// The gRPC endpoint's settings, for a channel that dials `uri`.
    fn grpc_endpoint(&self, uri: http::Uri) -> Endpoint {
        Endpoint::from(uri)
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(false)
            // What grpc-go's clients accept: a server's error with a long message or many
            // details still arrives whole (and is then kept bounded) instead of vanishing.
            .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
    }

    /// Also trusts the CA certificates in `pem` (one or more PEM `CERTIFICATE` blocks), on
    /// both transports, besides the roots the crate's features enable: for an endpoint behind
    /// a corporate TLS proxy, say. A PEM with no certificate is a configuration error at
    /// [`build`](Self::build).
    pub fn add_root_certificate_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.tls.add_root_pem(pem.as_ref().to_vec());
        self
    }

    /// Uses `config` for TLS on both transports, instead of the roots the crate's features
    /// enable: for a client certificate, a custom verifier, or a root store of your own. Each
    /// transport sets the config's ALPN protocols (`h2` for gRPC; `h2` and `http/1.1` for
    /// REST). With [`add_root_certificate_pem`](Self::add_root_certificate_pem) too,
    /// [`build`](Self::build) fails: add those certificates to the config's roots instead.
    ///
    /// The config is of the [`rustls`](crate::rustls) this crate re-exports.
    ///
    /// ```
    /// use coreweave_api::{rustls, Client};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), coreweave_api::Error> {
    /// let mut roots = rustls::RootCertStore::empty();
    /// // roots.add(...) your CA's certificates
    /// let config = rustls::ClientConfig::builder()
    ///     .with_root_certificates(roots)
    ///     .with_no_client_auth();
    /// let client = Client::builder()
    ///     .token("CW-SECRET-example")
    ///     .tls_config(config)
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls.use_config(config);
        self
    }

    /// Sends the REST transport's requests through the HTTP proxy at `url` (such as
    /// `http://user:password@proxy.example:3128`), in a `CONNECT` tunnel, instead of the one
    /// `HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY` names; `NO_PROXY` still applies. The gRPC
    /// transport connects directly.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxySetting::Url(url.into());
        self
    }

    /// Connects directly, whatever `HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY` say.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxySetting::Off;
        self
    }

    /// A builder configured from the environment, read through `lookup` (see
    /// [`Client::from_env_with`]). An unknown `COREWEAVE_API_TRANSPORT` is an error that
    /// names the variable.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut builder = Self::default();
        if let Some(endpoint) = lookup(ENDPOINT_ENV).filter(|e| !e.trim().is_empty()) {
            builder.endpoint = endpoint.trim().to_owned();
        }
        if let Some(transport) = lookup(TRANSPORT_ENV).filter(|t| !t.trim().is_empty()) {
            builder.transport = transport
                .parse()
                .map_err(|e: Error| Error::config(format!("{TRANSPORT_ENV}: {}", e.message())))?;
        }
        builder.token = lookup(TOKEN_ENV);
        builder.proxy = ProxySetting::from_lookup(&lookup);
        Ok(builder)
    }
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
    async fn with_only_a_token_the_client_speaks_rest_to_the_real_endpoint() {
        let client = Client::from_env_with(env(&[(TOKEN_ENV, "CW-SECRET-x")])).unwrap();
        assert_eq!(client.endpoint(), DEFAULT_ENDPOINT);
        assert_eq!(client.transport(), Transport::Rest);
    }

    #[tokio::test]
    async fn rest_is_the_default_for_every_endpoint() {
        for endpoint in [
            DEFAULT_ENDPOINT,
            "http://127.0.0.1:50051",
            "https://proxy.example.com",
        ] {
            let vars = [(TOKEN_ENV, "t"), (ENDPOINT_ENV, endpoint)];
            let client = Client::from_env_with(env(&vars)).unwrap();
            assert_eq!(client.endpoint(), endpoint);
            assert_eq!(client.transport(), Transport::Rest, "{endpoint}");
        }
    }

    #[tokio::test]
    async fn the_transport_comes_from_the_environment_or_the_builder() {
        let vars = [(TOKEN_ENV, "t"), (TRANSPORT_ENV, " GRPC ")];
        let client = Client::from_env_with(env(&vars)).unwrap();
        assert_eq!(client.transport(), Transport::Grpc);
        let builder = ClientBuilder::from_env_with(env(&vars)).unwrap();
        let client = builder.transport(Transport::Rest).build().unwrap();
        assert_eq!(client.transport(), Transport::Rest);
    }

    #[test]
    fn an_unknown_transport_names_the_variable() {
        let vars = [(TOKEN_ENV, "t"), (TRANSPORT_ENV, "soap")];
        let error = ClientBuilder::from_env_with(env(&vars)).unwrap_err();
        assert!(error.is_config());
        assert_eq!(
            error.to_string(),
            "CONFIG: COREWEAVE_API_TRANSPORT: unknown transport \"soap\": expected rest or grpc"
        );
    }

    #[test]
    fn missing_token_is_a_config_error() {
        let error = ClientBuilder::from_env_with(env(&[]))
            .unwrap()
            .build()
            .unwrap_err();
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
