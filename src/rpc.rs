//! Every RPC of the two APIs, once: its service, its name, its REST mapping (spec sections
//! 1 and 4) and whether repeating it is safe. The client's transports, and the mock's
//! protocols, faults and journal, all read this table.

use std::fmt;

use http::Method as HttpMethod;

/// The package-qualified name of the VPC service.
pub const VPC_SERVICE: &str = "coreweave.networking.v1beta1.VPCService";
/// The package-qualified name of the inference gateway service.
pub const GATEWAY_SERVICE: &str = "coreweave.inference.v1alpha1.GatewayService";

/// The largest response message, in bytes, that the client reads and the mock writes: far
/// above a full, unpaginated list at the mock's default quota.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The fields an `UpdateVPC` mask may name, in snake_case (spec section 2). The client's
/// update builder marks them and the mock applies exactly these.
pub mod vpc_update_paths {
    /// The VPC prefixes, replaced whole.
    pub const VPC_PREFIXES: &str = "vpc_prefixes";
    /// Whether ingress from the Internet is disabled.
    pub const INGRESS_DISABLE_PUBLIC_SERVICES: &str = "ingress.disable_public_services";
    /// Whether egress to the Internet is disabled.
    pub const EGRESS_DISABLE_PUBLIC_ACCESS: &str = "egress.disable_public_access";
    /// The DNS servers DHCP hands out.
    pub const DHCP_DNS_SERVERS: &str = "dhcp.dns.servers";
    /// Every updatable path.
    pub const ALL: [&str; 4] = [
        VPC_PREFIXES,
        INGRESS_DISABLE_PUBLIC_SERVICES,
        EGRESS_DISABLE_PUBLIC_ACCESS,
        DHCP_DNS_SERVERS,
    ];
}

/// One RPC of the VPC or gateway API.
///
/// ```
/// use coreweave_api::rpc::Method;
///
/// let method: Method = "GetVPC".parse()?;
/// assert_eq!(method.grpc_path(), "/coreweave.networking.v1beta1.VPCService/GetVPC");
/// assert_eq!(method.http().path, "/v1beta1/networking/vpcs/{id}");
/// assert_eq!(method.http().method, http::Method::GET);
/// # Ok::<(), coreweave_api::rpc::UnknownMethod>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `VPCService/CreateVPC`.
    CreateVpc,
    /// `VPCService/GetVPC`.
    GetVpc,
    /// `VPCService/ListVPCs`.
    ListVpcs,
    /// `VPCService/UpdateVPC`.
    UpdateVpc,
    /// `VPCService/DeleteVPC`.
    DeleteVpc,
    /// `GatewayService/CreateGateway`.
    CreateGateway,
    /// `GatewayService/GetGateway`.
    GetGateway,
    /// `GatewayService/ListGateways`.
    ListGateways,
    /// `GatewayService/UpdateGateway`.
    UpdateGateway,
    /// `GatewayService/DeleteGateway`.
    DeleteGateway,
    /// `GatewayService/GetGatewayParameters`.
    GetGatewayParameters,
}

/// How an RPC maps onto the documented REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRule {
    /// The HTTP method.
    pub method: HttpMethod,
    /// The path; `{id}` stands for the request's `id` field.
    pub path: &'static str,
    /// Whether the request (less the fields bound to the path and query) is the JSON body.
    pub body: bool,
    /// The request fields sent as query parameters, by their JSON names.
    pub query: &'static [&'static str],
}

impl HttpRule {
    const fn new(method: HttpMethod, path: &'static str, body: bool) -> Self {
        Self {
            method,
            path,
            body,
            query: &[],
        }
    }
}

/// Whether an RPC may be sent again after a failure whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it has the same effect as sending it once.
    Idempotent,
    /// Repeating it could act twice; it is retried only when it never left the client, or
    /// when its recovery hook shows the first attempt did not land.
    Unsafe,
}

const VPCS: &str = "/v1beta1/networking/vpcs";
const VPC: &str = "/v1beta1/networking/vpcs/{id}";
const GATEWAYS: &str = "/v1alpha1/inference/gateways";
const GATEWAY: &str = "/v1alpha1/inference/gateways/{id}";

impl Method {
    /// Every method, VPCs first.
    pub const ALL: [Method; 11] = [
        Self::CreateVpc,
        Self::GetVpc,
        Self::ListVpcs,
        Self::UpdateVpc,
        Self::DeleteVpc,
        Self::CreateGateway,
        Self::GetGateway,
        Self::ListGateways,
        Self::UpdateGateway,
        Self::DeleteGateway,
        Self::GetGatewayParameters,
    ];

    /// The RPC's name, such as `CreateVPC`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::CreateVpc => "CreateVPC",
            Self::GetVpc => "GetVPC",
            Self::ListVpcs => "ListVPCs",
            Self::UpdateVpc => "UpdateVPC",
            Self::DeleteVpc => "DeleteVPC",
            Self::CreateGateway => "CreateGateway",
            Self::GetGateway => "GetGateway",
            Self::ListGateways => "ListGateways",
            Self::UpdateGateway => "UpdateGateway",
            Self::DeleteGateway => "DeleteGateway",
            Self::GetGatewayParameters => "GetGatewayParameters",
        }
    }

    /// The package-qualified service, such as `coreweave.networking.v1beta1.VPCService`.
    pub const fn service(self) -> &'static str {
        match self {
            Self::CreateVpc | Self::GetVpc | Self::ListVpcs | Self::UpdateVpc | Self::DeleteVpc => {
                VPC_SERVICE
            }
            _ => GATEWAY_SERVICE,
        }
    }

    /// The gRPC path, such as `/coreweave.networking.v1beta1.VPCService/CreateVPC`.
    pub const fn grpc_path(self) -> &'static str {
        match self {
            Self::CreateVpc => "/coreweave.networking.v1beta1.VPCService/CreateVPC",
            Self::GetVpc => "/coreweave.networking.v1beta1.VPCService/GetVPC",
            Self::ListVpcs => "/coreweave.networking.v1beta1.VPCService/ListVPCs",
            Self::UpdateVpc => "/coreweave.networking.v1beta1.VPCService/UpdateVPC",
            Self::DeleteVpc => "/coreweave.networking.v1beta1.VPCService/DeleteVPC",
            Self::CreateGateway => "/coreweave.inference.v1alpha1.GatewayService/CreateGateway",
            Self::GetGateway => "/coreweave.inference.v1alpha1.GatewayService/GetGateway",
            Self::ListGateways => "/coreweave.inference.v1alpha1.GatewayService/ListGateways",
            Self::UpdateGateway => "/coreweave.inference.v1alpha1.GatewayService/UpdateGateway",
            Self::DeleteGateway => "/coreweave.inference.v1alpha1.GatewayService/DeleteGateway",
            Self::GetGatewayParameters => {
                "/coreweave.inference.v1alpha1.GatewayService/GetGatewayParameters"
            }
        }
    }

    /// The REST mapping of spec section 1.
    pub fn http(self) -> HttpRule {
        match self {
            Self::CreateVpc => HttpRule::new(HttpMethod::POST, VPCS, true),
            Self::GetVpc => HttpRule::new(HttpMethod::GET, VPC, false),
            Self::ListVpcs => HttpRule::new(HttpMethod::GET, VPCS, false),
            Self::UpdateVpc => HttpRule::new(HttpMethod::PATCH, VPC, true),
            Self::DeleteVpc => HttpRule::new(HttpMethod::DELETE, VPC, false),
            Self::CreateGateway => HttpRule::new(HttpMethod::POST, GATEWAYS, true),
            Self::GetGateway => HttpRule::new(HttpMethod::GET, GATEWAY, false),
            Self::ListGateways => HttpRule {
                query: &["updatedAfter"],
                ..HttpRule::new(HttpMethod::GET, GATEWAYS, false)
            },
            Self::UpdateGateway => HttpRule::new(HttpMethod::PATCH, GATEWAY, true),
            Self::DeleteGateway => HttpRule::new(HttpMethod::DELETE, GATEWAY, false),
            Self::GetGatewayParameters => HttpRule::new(
                HttpMethod::GET,
                "/v1alpha1/inference/gateways/parameters",
                false,
            ),
        }
    }

    /// Whether the RPC changes state (a create, update or delete).
    pub const fn changes_state(self) -> bool {
        !matches!(
            self,
            Self::GetVpc
                | Self::ListVpcs
                | Self::GetGateway
                | Self::ListGateways
                | Self::GetGatewayParameters
        )
    }

    /// Whether repeating the RPC is safe. Every gateway RPC is: creates carry a client-chosen
    /// id, updates send the whole spec. A VPC update sends the full new value of every field
    /// it names. A VPC create is not: the server chooses its id.
    pub const fn idempotency(self) -> Idempotency {
        match self {
            Self::CreateVpc => Idempotency::Unsafe,
            _ => Idempotency::Idempotent,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A method name that is not one of the APIs' RPCs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown method {name:?}: expected one of {}", Method::ALL.map(Method::name).join(", "))]
pub struct UnknownMethod {
    /// The name that was given.
    pub name: String,
}

impl std::str::FromStr for Method {
    type Err = UnknownMethod;

    /// Parses a method by its RPC name (`CreateVPC`), with or without its service
    /// (`coreweave.networking.v1beta1.VPCService/CreateVPC`, with or without a leading `/`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let path = text.strip_prefix('/').unwrap_or(text);
        let (service, name) = match path.rsplit_once('/') {
            Some((service, name)) => (Some(service), name),
            None => (None, path),
        };
        Self::ALL
            .into_iter()
            .find(|m| m.name() == name && service.is_none_or(|s| s == m.service()))
            .ok_or_else(|| UnknownMethod {
                name: text.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_and_parsing_agree() {
        for method in Method::ALL {
            assert_eq!(
                method.grpc_path(),
                format!("/{}/{}", method.service(), method.name())
            );
            assert_eq!(method.name().parse::<Method>(), Ok(method));
            assert_eq!(method.grpc_path().parse::<Method>(), Ok(method));
        }
        let error = "CreateVpc".parse::<Method>().unwrap_err();
        assert!(error.to_string().contains("CreateVPC, GetVPC"), "{error}");
        assert!("coreweave.inference.v1alpha1.GatewayService/GetVPC"
            .parse::<Method>()
            .is_err());
    }
}
