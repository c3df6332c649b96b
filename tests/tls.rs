//! The roots the client trusts, against a TLS server on loopback whose certificate a test CA
//! signed: refused with the default roots, accepted once the CA is added through the
//! builder, on both transports.

use std::sync::Arc;

use axum::{http::header, response::IntoResponse, Router};
use coreweave_api::{Client, ErrorKind, RetryPolicy, Transport};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio_rustls::{
    rustls::{
        self,
        pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    },
    TlsAcceptor,
};

/// A test CA (its certificate as PEM) and a server certificate it signed for `localhost`.
fn certificates() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    let key = PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes()).unwrap();
    (ca_cert.pem(), server_cert.der().clone(), key)
}

/// Serves an empty VPC list over REST, and an UNIMPLEMENTED for any gRPC call, on TLS with
/// ALPN for both HTTP versions; returns the `https://localhost:PORT` endpoint.
async fn tls_server(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> String {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let app = Router::new().fallback(|request: axum::extract::Request| async move {
        let grpc = request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"));
        if grpc {
            let headers = [("content-type", "application/grpc"), ("grpc-status", "12")];
            headers.into_response()
        } else {
            let json = [(header::CONTENT_TYPE, "application/json")];
            (json, r#"{"items": []}"#).into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = TowerToHyperService::new(app);
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    format!("https://localhost:{port}")
}

fn client(endpoint: &str, transport: Transport, ca: Option<&str>) -> Client {
    let mut builder = Client::builder()
        .endpoint(endpoint)
        .transport(transport)
        .token("CW-SECRET-tls")
        .retry_policy(RetryPolicy::no_retries());
    if let Some(ca) = ca {
        builder = builder.add_root_certificate_pem(ca);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn a_ca_added_through_the_builder_is_trusted_on_both_transports() {
    let (ca, cert, key) = certificates();
    let endpoint = tls_server(cert, key).await;
    for transport in [Transport::Rest, Transport::Grpc] {
        let refused = client(&endpoint, transport, None).vpcs().list().await;
        let error = refused.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Connect, "{transport:?}: {error}");

        let trusted = client(&endpoint, transport, Some(&ca)).vpcs().list().await;
        match transport {
            Transport::Rest => assert!(trusted.unwrap().is_empty()),
            // The server answers UNIMPLEMENTED: the TLS handshake went through.
            _ => assert_eq!(trusted.unwrap_err().kind(), ErrorKind::Unimplemented),
        }
    }
}

#[test]
fn a_pem_without_a_certificate_is_a_configuration_error() {
    let error = Client::builder()
        .endpoint("https://localhost:1")
        .token("t")
        .add_root_certificate_pem("not a certificate")
        .build()
        .unwrap_err();
    assert!(error.is_config(), "{error}");
    assert!(error.to_string().contains("CERTIFICATE"), "{error}");
}

#[tokio::test]
async fn a_whole_rustls_config_is_used_on_both_transports() {
    use coreweave_api::rustls as client_rustls;
    let (ca, cert, key) = certificates();
    let endpoint = tls_server(cert, key).await;
    let config = |trusted: bool| {
        let mut roots = client_rustls::RootCertStore::empty();
        if trusted {
            let ca = CertificateDer::from_pem_slice(ca.as_bytes()).unwrap();
            roots.add(ca).unwrap();
        }
        let mut config = client_rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        // Each transport sets its own ALPN protocols.
        config.alpn_protocols = vec![b"spdy/3".to_vec()];
        config
    };
    for transport in [Transport::Rest, Transport::Grpc] {
        let client = |trusted| {
            Client::builder()
                .endpoint(&endpoint)
                .transport(transport)
                .token("CW-SECRET-tls")
                .retry_policy(RetryPolicy::no_retries())
                .tls_config(config(trusted))
                .build()
                .unwrap()
        };
        let refused = client(false).vpcs().list().await.unwrap_err();
        assert_eq!(
            refused.kind(),
            ErrorKind::Connect,
            "{transport:?}: {refused}"
        );
        let trusted = client(true).vpcs().list().await;
        match transport {
            Transport::Rest => assert!(trusted.unwrap().is_empty()),
            // The server answers UNIMPLEMENTED: the TLS handshake (with ALPN h2) went through.
            _ => {
                let e = trusted.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Unimplemented, "{e} {e:?}")
            }
        }
    }
}
