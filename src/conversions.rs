//! Conversions between the `auth` and `routing` oneofs of `GatewaySpec`,
//! `CreateGatewayRequest` and `UpdateGatewayRequest`. The three messages declare the same
//! members, but prost generates a separate enum for each.

use crate::inference::v1alpha1::{create_gateway_request, gateway_spec, update_gateway_request};

/// Implements `From` between two generated oneof enums with the same variants.
macro_rules! same_oneof {
    ($from:ident => $to:ident, $oneof:ident { $($variant:ident),+ $(,)? }) => {
        impl From<$from::$oneof> for $to::$oneof {
            fn from(value: $from::$oneof) -> Self {
                match value {
                    $($from::$oneof::$variant(inner) => Self::$variant(inner),)+
                }
            }
        }
    };
}

macro_rules! auth_and_routing {
    ($from:ident => $to:ident) => {
        same_oneof!($from => $to, Auth { CoreWeaveAuth, WeightsAndBiasesAuth });
        same_oneof!($from => $to, Routing {
            BodyBasedRouting,
            HeaderBasedRouting,
            PathBasedRouting,
        });
    };
}

auth_and_routing!(create_gateway_request => gateway_spec);
auth_and_routing!(update_gateway_request => gateway_spec);
auth_and_routing!(gateway_spec => update_gateway_request);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::v1alpha1::{HeaderBasedRouting, WeightsAndBiasesAuth};

    #[test]
    fn members_convert_one_to_one() {
        let auth = create_gateway_request::Auth::WeightsAndBiasesAuth(WeightsAndBiasesAuth {
            server_url: "https://w".into(),
            ..Default::default()
        });
        let spec: gateway_spec::Auth = auth.into();
        let update: update_gateway_request::Auth = spec.into();
        assert!(
            matches!(update, update_gateway_request::Auth::WeightsAndBiasesAuth(a) if a.server_url == "https://w")
        );
        let routing = update_gateway_request::Routing::HeaderBasedRouting(HeaderBasedRouting {
            header_name: "x".into(),
        });
        assert!(matches!(
            gateway_spec::Routing::from(routing),
            gateway_spec::Routing::HeaderBasedRouting(_)
        ));
    }
}
