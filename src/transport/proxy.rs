//! HTTP proxies for the REST transport: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
//! `NO_PROXY` (upper or lower case, as curl reads them), or the builder's own; through a proxy,
//! every connection is an HTTP `CONNECT` tunnel (with the proxy URL's user and password as
//! basic auth), so TLS runs end to end. When `NO_PROXY` is not set at all, loopback
//! destinations (`localhost`, `127.0.0.0/8`, `::1`) go direct, as Go's clients do, so a local
//! mock is reached directly; set `NO_PROXY` (even empty) to decide otherwise. A proxy given
//! to the builder applies to every destination `NO_PROXY` does not name, loopback included.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::Uri;
use hyper_util::client::{
    legacy::connect::{proxy::Tunnel, HttpConnector},
    proxy::matcher::Matcher,
};
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which proxy the client uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum ProxySetting {
    /// The proxy the environment names, read when the client is built.
    #[default]
    FromEnvironment,
    /// The environment's variables as a lookup read them (see `Client::from_env_with`).
    Variables(Vec<(String, String)>),
    /// This proxy for every destination but `NO_PROXY`'s.
    Url(String),
    /// None.
    Off,
}

/// What goes direct when `NO_PROXY` is not set: this machine.
const DEFAULT_NO_PROXY: &str = "localhost,127.0.0.0/8,::1";

/// The variables a proxy is read from, in the order curl reads them.
const VARIABLES: [&str; 8] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

impl ProxySetting {
    /// The setting the process environment gives.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let found = VARIABLES
            .iter()
            .filter_map(|name| lookup(name).map(|value| ((*name).to_owned(), value)))
            .collect();
        Self::Variables(found)
    }

    /// The matcher that picks each destination's proxy; none when no proxy applies.
    pub(crate) fn matcher(&self) -> Option<Matcher> {
        let variables = match self {
            Self::Off => return None,
            Self::FromEnvironment => {
                return Self::from_lookup(|name| std::env::var(name).ok()).matcher()
            }
            Self::Variables(variables) => variables,
            Self::Url(url) => {
                // Asked for by name, it applies to this machine too, unless NO_PROXY says no.
                let no = std::env::var("NO_PROXY")
                    .or_else(|_| std::env::var("no_proxy"))
                    .unwrap_or_default();
                return Some(Matcher::builder().all(url.clone()).no(no).build());
            }
        };
        let first = |names: [&str; 2]| {
            names.iter().find_map(|name| {
                variables
                    .iter()
                    .find(|(found, value)| found == name && !value.is_empty())
                    .map(|(_, value)| value.clone())
            })
        };
        let all = first(["ALL_PROXY", "all_proxy"]);
        let https = first(["HTTPS_PROXY", "https_proxy"]).or_else(|| all.clone());
        let http = first(["HTTP_PROXY", "http_proxy"]).or(all);
        if https.is_none() && http.is_none() {
            return None;
        }
        let no = ["NO_PROXY", "no_proxy"]
            .iter()
            .find_map(|name| variables.iter().find(|(found, _)| found == name))
            .map_or_else(|| DEFAULT_NO_PROXY.to_owned(), |(_, value)| value.clone());
        let builder = Matcher::builder().no(no);
        let builder = match https {
            Some(https) => builder.https(https),
            None => builder,
        };
        let builder = match http {
            Some(http) => builder.http(http),
            None => builder,
        };
        Some(builder.build())
    }
}

/// Connects directly, or through a `CONNECT` tunnel when the matcher names a proxy for the
/// destination.
#[derive(Clone, Debug)]
pub(crate) struct ProxyConnector {
    direct: HttpConnector,
    matcher: Option<std::sync::Arc<Matcher>>,
}

impl ProxyConnector {
    pub(crate) fn new(direct: HttpConnector, matcher: Option<Matcher>) -> Self {
        Self {
            direct,
            matcher: matcher.map(std::sync::Arc::new),
        }
    }

    /// The tunnel to `destination`, when a proxy applies to it.
    fn tunnel(&self, destination: &Uri) -> Option<Tunnel<HttpConnector>> {
        let intercept = self.matcher.as_ref()?.intercept(destination)?;
        let tunnel = Tunnel::new(intercept.uri().clone(), self.direct.clone());
        Some(match intercept.basic_auth() {
            Some(auth) => tunnel.with_auth(auth.clone()),
            None => tunnel,
        })
    }
}

/// A destination with its port spelled out (the tunnel would assume 443).
fn with_port(destination: Uri) -> Uri {
    if destination.port().is_some() {
        return destination;
    }
    let port = match destination.scheme_str() {
        Some("http") => 80,
        _ => 443,
    };
    let host = destination.host().unwrap_or_default();
    let authority = format!("{host}:{port}");
    let mut parts = destination.clone().into_parts();
    match authority.parse() {
        Ok(authority) => {
            parts.authority = Some(authority);
            Uri::from_parts(parts).unwrap_or(destination)
        }
        Err(_) => destination,
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = <HttpConnector as Service<Uri>>::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        match self.tunnel(&destination) {
            Some(mut tunnel) => {
                let destination = with_port(destination);
                Box::pin(async move { tunnel.call(destination).await.map_err(Into::into) })
            }
            None => {
                let connecting = self.direct.call(destination);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables(pairs: &[(&str, &str)]) -> ProxySetting {
        ProxySetting::Variables(
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        )
    }

    #[test]
    fn the_environment_names_the_proxy_and_its_exceptions() {
        let api: Uri = "https://api.coreweave.com/v1beta1/networking/vpcs"
            .parse()
            .unwrap();
        let internal: Uri = "https://api.internal.example/".parse().unwrap();
        let setting = variables(&[
            ("https_proxy", "http://user:pass@proxy.example:3128"),
            ("NO_PROXY", ".internal.example"),
        ]);
        let matcher = setting.matcher().unwrap();
        let intercept = matcher.intercept(&api).unwrap();
        assert_eq!(intercept.uri().host(), Some("proxy.example"));
        assert!(
            intercept.basic_auth().is_some(),
            "the URL's user and password"
        );
        assert!(matcher.intercept(&internal).is_none());
        assert!(variables(&[]).matcher().is_none());
        let all = variables(&[("ALL_PROXY", "http://proxy.example:3128")])
            .matcher()
            .unwrap();
        assert!(
            all.intercept(&api).is_some(),
            "ALL_PROXY covers both schemes"
        );
        assert!(ProxySetting::Off.matcher().is_none());
    }

    #[test]
    fn without_no_proxy_loopback_goes_direct_and_ports_are_spelled_out() {
        let matcher = variables(&[("HTTP_PROXY", "http://proxy.example:3128")])
            .matcher()
            .unwrap();
        for uri in [
            "http://127.0.0.1:50051/",
            "http://localhost/",
            "http://[::1]:1/",
        ] {
            assert!(matcher.intercept(&uri.parse().unwrap()).is_none(), "{uri}");
        }
        let decided = variables(&[
            ("HTTP_PROXY", "http://proxy.example:3128"),
            ("NO_PROXY", ""),
        ]);
        let loopback: Uri = "http://127.0.0.1:50051/".parse().unwrap();
        assert!(decided.matcher().unwrap().intercept(&loopback).is_some());
        let spelled = with_port("http://mock.example/x".parse().unwrap());
        assert_eq!(spelled.port_u16(), Some(80));
        let spelled = with_port("https://api.coreweave.com".parse().unwrap());
        assert_eq!(spelled.port_u16(), Some(443));
    }
}
