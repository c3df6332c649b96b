//! What the journal keeps of each request of the API: the resource it is about, its secrets
//! replaced, and the warnings it earns though it is answered.

use coreweave_api::{
    inference::v1alpha1::{
        create_gateway_request, update_gateway_request, CreateGatewayRequest, DeleteGatewayRequest,
        GetGatewayParametersRequest, GetGatewayRequest, ListGatewaysRequest, UpdateGatewayRequest,
        WeightsAndBiasesAuth,
    },
    networking::v1beta1::{
        CreateVpcRequest, DeleteVpcRequest, GetVpcRequest, ListVpCsRequest, UpdateVpcRequest,
    },
};

use crate::pipeline::{
    journal::Resource,
    recorded::{Journaled, REDACTED},
};

macro_rules! about {
    ($field:ident: $($request:ty),+) => {
        $(impl Journaled for $request {
            fn subject(&self) -> Resource {
                Resource::of(&self.$field)
            }
        })+
    };
}

about!(id: GetVpcRequest, DeleteVpcRequest, GetGatewayRequest, DeleteGatewayRequest);
about!(name: CreateVpcRequest);

macro_rules! about_nothing {
    ($($request:ty),+) => {
        $(impl Journaled for $request {
            fn subject(&self) -> Resource {
                Resource::None
            }
        })+
    };
}

about_nothing!(
    ListVpCsRequest,
    ListGatewaysRequest,
    GetGatewayParametersRequest
);

impl Journaled for UpdateVpcRequest {
    fn subject(&self) -> Resource {
        Resource::of(&self.id)
    }

    fn warnings(&self) -> Vec<String> {
        super::vpc::update_mask_warning(self).into_iter().collect()
    }
}

/// The `redacted` of a gateway request whose `auth` oneof (in module `$oneof`) may hold W&B
/// settings with an API key.
macro_rules! redacts_wandb_key {
    ($oneof:ident) => {
        fn redacted(&self) -> Option<Self> {
            use $oneof::Auth;
            let Some(Auth::WeightsAndBiasesAuth(auth)) = &self.auth else {
                return None;
            };
            Some(Self {
                auth: Some(Auth::WeightsAndBiasesAuth(redact(auth)?)),
                ..self.clone()
            })
        }
    };
}

impl Journaled for CreateGatewayRequest {
    fn subject(&self) -> Resource {
        if self.id.is_empty() {
            Resource::of(&self.name)
        } else {
            Resource::of(&self.id)
        }
    }

    redacts_wandb_key!(create_gateway_request);
}

impl Journaled for UpdateGatewayRequest {
    fn subject(&self) -> Resource {
        Resource::of(&self.id)
    }

    redacts_wandb_key!(update_gateway_request);
}

/// The W&B settings with the API key replaced, when there is one.
fn redact(auth: &WeightsAndBiasesAuth) -> Option<WeightsAndBiasesAuth> {
    (!auth.api_key.is_empty()).then(|| WeightsAndBiasesAuth {
        api_key: REDACTED.to_owned(),
        ..auth.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::recorded::RecordedRequest;

    #[test]
    fn api_keys_never_reach_the_journal() {
        use create_gateway_request::Auth;
        let request = CreateGatewayRequest {
            name: "gw".into(),
            auth: Some(Auth::WeightsAndBiasesAuth(WeightsAndBiasesAuth {
                api_key: "secret-key-123".into(),
                server_url: "https://wandb.example".into(),
                ..WeightsAndBiasesAuth::default()
            })),
            ..CreateGatewayRequest::default()
        };
        let recorded = RecordedRequest::of(&request);
        let (json, _) = recorded.to_json();
        assert_eq!(json["weightsAndBiasesAuth"]["apiKey"], REDACTED);
        assert_eq!(
            json["weightsAndBiasesAuth"]["serverUrl"],
            "https://wandb.example"
        );
        assert!(!format!("{recorded:?}{json}").contains("secret-key-123"));
    }
}
