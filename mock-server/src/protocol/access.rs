//! Who may reach the control plane through a browser's protocols: the control API under
//! `/_mock/`, and the control gRPC service over gRPC-Web and Connect streaming. A web page
//! the developer visits must not be able to drive the mock:
//!
//! - such requests must be addressed (`Host`, or HTTP/2's `:authority`) to a loopback name or
//!   address, the address the mock is bound to, or a name given with `--allowed-host` (a
//!   mock reached by a service name in docker-compose needs it); others get a 403 naming the
//!   flag, which defeats DNS rebinding;
//! - they get CORS headers only for the origins given with `--cors-origin`.
//!
//! Native gRPC, which no browser can send, is not checked. The API paths keep their open CORS
//! and serve any `Host`.

use std::net::{IpAddr, SocketAddr};

use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use tonic::Status;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

use super::error::rest_error;

/// Where the control API's paths begin.
pub(crate) const CONTROL_PATH_PREFIX: &str = "/_mock/";
/// Where the control gRPC service's paths begin.
pub(crate) const CONTROL_SERVICE_PREFIX: &str = "/coreweave.mock.v1.ControlService/";

/// Whether a request is addressed to the control plane.
pub(crate) fn is_control<B>(request: &Request<B>) -> bool {
    let path = request.uri().path();
    path.starts_with(CONTROL_PATH_PREFIX) || path.starts_with(CONTROL_SERVICE_PREFIX)
}

/// The control plane's access policy.
#[derive(Debug, Clone, Default)]
pub(crate) struct ControlAccess {
    /// Names and addresses besides loopback ones that control requests may be addressed to.
    pub(crate) allowed_hosts: Vec<String>,
    /// Origins whose pages may call the control plane (CORS); none by default.
    pub(crate) cors_origins: Vec<HeaderValue>,
    /// The address the mock is bound to, filled in when it starts.
    pub(crate) bound: Option<SocketAddr>,
}

impl ControlAccess {
    /// The 403 for a control request addressed to a host this policy does not allow; none
    /// for one it allows.
    pub(crate) fn refusal<B>(&self, request: &Request<B>) -> Option<Response<axum::body::Body>> {
        let host = request
            .uri()
            .authority()
            .map(|authority| authority.as_str().to_owned())
            .or_else(|| {
                let value = request.headers().get(header::HOST)?;
                value.to_str().ok().map(str::to_owned)
            })
            .unwrap_or_default();
        if self.allows(&host) {
            return None;
        }
        let shown = crate::model::quoted(&host);
        let status = Status::permission_denied(format!(
            "the control plane answers requests addressed to a loopback name or address or to \
             the address the mock is bound to, not to {shown:?}; to reach it by that name, \
             start the mock with --allowed-host {shown}"
        ));
        let mut response = rest_error(&status);
        *response.status_mut() = StatusCode::FORBIDDEN;
        Some(response)
    }

    fn allows(&self, host: &str) -> bool {
        let name = host_name(host);
        if name.eq_ignore_ascii_case("localhost")
            || name.to_ascii_lowercase().ends_with(".localhost")
        {
            return true;
        }
        if let Ok(ip) = name.parse::<IpAddr>() {
            let bound = self.bound.map(|bound| bound.ip());
            if ip.is_loopback() || bound.is_some_and(|bound| !bound.is_unspecified() && bound == ip)
            {
                return true;
            }
        }
        self.allowed_hosts
            .iter()
            .any(|allowed| host_name(allowed).eq_ignore_ascii_case(name))
    }

    /// CORS for the control plane: only the configured origins.
    pub(crate) fn cors(&self) -> CorsLayer {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(self.cors_origins.clone()))
            .allow_methods(AllowMethods::mirror_request())
            .allow_headers(AllowHeaders::mirror_request())
    }
}

/// A `Host` value without its port (and an IPv6 address without its brackets).
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addressed_to(host: &str) -> Request<()> {
        Request::builder()
            .uri("/_mock/v1/reset")
            .header(header::HOST, host)
            .body(())
            .unwrap()
    }

    #[test]
    fn loopback_the_bound_address_and_allowed_names_pass() {
        let access = ControlAccess {
            allowed_hosts: vec!["mock".into()],
            bound: Some("192.0.2.7:50051".parse().unwrap()),
            ..ControlAccess::default()
        };
        for host in [
            "localhost:50051",
            "127.0.0.1:50051",
            "127.5.5.5",
            "[::1]:50051",
            "app.localhost",
            "192.0.2.7:50051",
            "MOCK:50051",
        ] {
            assert!(access.refusal(&addressed_to(host)).is_none(), "{host}");
        }
        for host in ["evil.example", "192.0.2.8:50051", "", "mock.evil.example"] {
            let refused = access.refusal(&addressed_to(host)).unwrap();
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{host}");
        }
    }

    #[test]
    fn an_unspecified_bound_address_allows_loopback_only() {
        let access = ControlAccess {
            bound: Some("0.0.0.0:50051".parse().unwrap()),
            ..ControlAccess::default()
        };
        assert!(access.refusal(&addressed_to("0.0.0.0:50051")).is_some());
        assert!(access.refusal(&addressed_to("127.0.0.1:50051")).is_none());
    }
}
