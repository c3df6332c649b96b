//! What the client trusts over TLS, the same on both transports: the roots the crate's
//! features enable (the Mozilla roots of `webpki-roots` and the system's of `native-roots`,
//! both when both are on, as tonic does), CA certificates given to the builder, or a whole
//! `rustls::ClientConfig` a user built.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{uri::Scheme, Uri};

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;
use tonic::transport::{Certificate, ClientTlsConfig};

use crate::error::Error;

/// The builder's TLS settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsSettings {
    /// CA certificates (PEM) trusted besides the features' roots.
    extra_roots: Vec<Vec<u8>>,
    /// A configuration that replaces the roots, for both transports.
    custom: Option<Arc<rustls::ClientConfig>>,
}

impl TlsSettings {
    /// Also trusts the certificates in `pem`.
    pub(crate) fn add_root_pem(&mut self, pem: Vec<u8>) {
        self.extra_roots.push(pem);
    }

    /// Uses `config` instead of the roots.
    pub(crate) fn use_config(&mut self, config: rustls::ClientConfig) {
        self.custom = Some(Arc::new(config));
    }

    /// Whether a whole configuration was given.
    pub(crate) fn is_custom(&self) -> bool {
        self.custom.is_some()
    }

    /// The configuration for a transport, without ALPN protocols (each transport sets its
    /// own): the one given, or one trusting the roots. Both at once is a configuration error,
    /// since the certificates would be silently ignored.
    pub(crate) fn client_config(&self) -> Result<rustls::ClientConfig, Error> {
        let mut config = match &self.custom {
            Some(_) if !self.extra_roots.is_empty() => {
                return Err(Error::config(
                    "tls_config replaces the roots, so certificates given to add_root_certificate_pem would be ignored: add them to the config's root store instead",
                ))
            }
            Some(custom) => rustls::ClientConfig::clone(custom),
            None => rustls::ClientConfig::builder()
                .with_root_certificates(self.roots()?)
                .with_no_client_auth(),
        };
        config.alpn_protocols.clear();
        Ok(config)
    }

    /// tonic's own TLS settings, for the gRPC transport without a custom configuration.
    pub(crate) fn tonic_config(&self) -> Result<ClientTlsConfig, Error> {
        let mut config = ClientTlsConfig::new().with_enabled_roots();
        for pem in &self.extra_roots {
            certificates(pem)?;
            config = config.ca_certificate(Certificate::from_pem(pem));
        }
        Ok(config)
    }

    /// The roots: the features' and the builder's.
    fn roots(&self) -> Result<rustls::RootCertStore, Error> {
        let mut roots = feature_roots();
        for pem in &self.extra_roots {
            for certificate in certificates(pem)? {
                roots.add(certificate).map_err(|e| {
                    Error::config(format!(
                        "a root certificate given to the client is unusable: {e}"
                    ))
                })?;
            }
        }
        Ok(roots)
    }
}

/// The roots the crate's features enable.
fn feature_roots() -> rustls::RootCertStore {
    #[allow(unused_mut)] // with neither roots feature on, nothing is added
    let mut roots = rustls::RootCertStore::empty();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    {
        let native = rustls_native_certs::load_native_certs();
        if native.certs.is_empty() {
            if let Some(error) = native.errors.first() {
                tracing::warn!(%error, "cannot load the system's root certificates");
            }
        }
        roots.add_parsable_certificates(native.certs);
    }
    roots
}

/// The certificates of a PEM text; none is a configuration error.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    use rustls::pki_types::pem::PemObject;
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::config(format!("a root certificate's PEM cannot be read: {e}")))?;
    if certificates.is_empty() {
        return Err(Error::config(
            "the PEM given to add_root_certificate_pem holds no CERTIFICATE block",
        ));
    }
    Ok(certificates)
}

/// A plain TCP connector for either transport.
pub(crate) fn tcp_connector(connect_timeout: Duration) -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.enforce_http(false);
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_nodelay(true);
    connector
}

/// The gRPC transport's connector for a custom configuration and an `https://` endpoint: TLS
/// with ALPN `h2`, whatever the scheme of the URI it is asked to dial (see
/// `ClientBuilder::grpc_channel`).
pub(crate) fn grpc_tls_connector(
    config: rustls::ClientConfig,
    connect_timeout: Duration,
) -> TlsAlways {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http2()
        .wrap_connector(tcp_connector(connect_timeout));
    TlsAlways(connector)
}

/// A TLS connector that dials every URI as `https`.
#[derive(Clone)]
pub(crate) struct TlsAlways(HttpsConnector<HttpConnector>);

impl tower_service::Service<Uri> for TlsAlways {
    type Response = <HttpsConnector<HttpConnector> as tower_service::Service<Uri>>::Response;
    type Error = <HttpsConnector<HttpConnector> as tower_service::Service<Uri>>::Error;
    type Future = <HttpsConnector<HttpConnector> as tower_service::Service<Uri>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let mut parts = uri.clone().into_parts();
        parts.scheme = Some(Scheme::HTTPS);
        // A URI with a host always has an https form; were it refused, the connector would
        // refuse the original's scheme with an error that names it.
        self.0.call(Uri::from_parts(parts).unwrap_or(uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With both roots features (as `.ci/run` tests them), both sets are trusted: the Mozilla
    /// roots and the system's, which include a CA named by `SSL_CERT_FILE`.
    #[cfg(all(feature = "webpki-roots", feature = "native-roots"))]
    #[test]
    fn with_both_roots_features_both_sets_are_trusted() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let file =
            std::env::temp_dir().join(format!("coreweave-test-ca-{}.pem", std::process::id()));
        std::fs::write(&file, ca.pem()).unwrap();
        std::env::remove_var("SSL_CERT_FILE");
        let without = feature_roots().len();
        std::env::set_var("SSL_CERT_FILE", &file);
        let with = feature_roots().len();
        std::env::remove_var("SSL_CERT_FILE");
        let webpki = webpki_roots::TLS_SERVER_ROOTS.len();
        assert!(
            without >= webpki,
            "Mozilla's {webpki} roots are all there: {without}"
        );
        assert_eq!(with, without + 1, "the CA of SSL_CERT_FILE joins them");
    }

    #[test]
    fn a_custom_config_and_added_certificates_together_are_refused() {
        let mut settings = TlsSettings::default();
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        settings.use_config(config);
        assert!(settings.client_config().is_ok());
        settings.add_root_pem(b"any".to_vec());
        let error = settings.client_config().unwrap_err();
        assert!(
            error.to_string().contains("add_root_certificate_pem"),
            "{error}"
        );
    }
}
