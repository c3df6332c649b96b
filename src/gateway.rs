//! Inference gateway operations: `client.gateways()`.

use std::time::SystemTime;

use uuid::Uuid;

use crate::{
    client::Client,
    error::{Error, LastSeen},
    inference::v1alpha1::{
        body_based_routing::ApiType, create_gateway_request, update_gateway_request,
        BodyBasedRouting, CoreWeaveAuth, CreateGatewayRequest, CreateGatewayResponse,
        DeleteGatewayRequest, DeleteGatewayResponse, EndpointConfiguration, Gateway, GatewaySpec,
        GetGatewayParametersRequest, GetGatewayParametersResponse, GetGatewayRequest,
        GetGatewayResponse, HeaderBasedRouting, ListGatewaysRequest, ListGatewaysResponse,
        PathBasedRouting, Status as GatewayStatus, UpdateGatewayRequest, UpdateGatewayResponse,
        WeightsAndBiasesAuth,
    },
    resource::{missing, resource_rpcs, List, Resources},
    retry::{AsyncRecover, NoRecovery, Recovery},
    rpc::Method,
    wait::{Phase, WaitOptions, Watched},
};

/// Inference gateway operations, from [`Client::gateways`]: the shared reads, list, delete
/// and waiters of [`Resources`], and the gateway's create and update builders.
pub type Gateways = Resources<Gateway>;

/// A gateway list request; `.await` it. From [`Gateways::list`].
pub type ListGateways = List<Gateway>;

impl Client {
    /// Inference gateway operations.
    pub fn gateways(&self) -> Gateways {
        Resources::new(self.clone())
    }
}

impl Resources<Gateway> {
    /// Starts a create request for a gateway named `name`. Choose one auth and one routing,
    /// then `send()`.
    pub fn create(&self, name: impl Into<String>) -> CreateGateway {
        self.create_from(CreateGatewayRequest {
            name: name.into(),
            ..CreateGatewayRequest::default()
        })
    }

    /// Starts a create request from a raw request message.
    pub fn create_from(&self, request: CreateGatewayRequest) -> CreateGateway {
        CreateGateway {
            client: self.client.clone(),
            request,
        }
    }

    /// Starts a full replacement of the gateway `id`'s spec. Set the name, one auth and one
    /// routing (and zones and endpoint settings if wanted), then `send()`.
    pub fn update(&self, id: impl Into<String>) -> UpdateGateway {
        self.update_from(UpdateGatewayRequest {
            id: id.into(),
            ..UpdateGatewayRequest::default()
        })
    }

    /// Starts an update from a raw request message; setters change it.
    pub fn update_from(&self, request: UpdateGatewayRequest) -> UpdateGateway {
        UpdateGateway {
            client: self.client.clone(),
            request,
        }
    }

    /// Starts an update prefilled from a gateway's current spec, so that only what you change
    /// differs. The W&B `api_key` is never returned by the API: set it again if you use W&B.
    pub fn edit(&self, spec: &GatewaySpec) -> UpdateGateway {
        self.update_from(UpdateGatewayRequest {
            id: spec.id.clone(),
            name: spec.name.clone(),
            zones: spec.zones.clone(),
            endpoint_configuration: spec.endpoint_configuration.clone(),
            auth: spec.auth.clone().map(Into::into),
            routing: spec.routing.clone().map(Into::into),
        })
    }

    /// The values a gateway may use, such as the available zones.
    pub async fn parameters(&self) -> Result<GetGatewayParametersResponse, Error> {
        let request = GetGatewayParametersRequest {};
        self.client
            .call(Method::GetGatewayParameters, request, NoRecovery)
            .await
    }
}

impl List<Gateway> {
    /// Only gateways whose `status.updated_at` is later than `time`.
    pub fn updated_after(mut self, time: impl Into<SystemTime>) -> Self {
        self.request.updated_after = Some(time.into().into());
        self
    }
}

resource_rpcs!(Gateway, field gateway,
    get: GetGateway(GetGatewayRequest) -> GetGatewayResponse,
    delete: DeleteGateway(DeleteGatewayRequest) -> DeleteGatewayResponse,
    list: ListGateways(ListGatewaysRequest) -> ListGatewaysResponse,
);

fn status_of(gateway: &Gateway) -> GatewayStatus {
    gateway
        .status
        .as_ref()
        .map(|s| s.status())
        .unwrap_or(GatewayStatus::Unspecified)
}

fn id_of(gateway: &Gateway) -> &str {
    gateway
        .spec
        .as_ref()
        .map(|s| s.id.as_str())
        .unwrap_or_default()
}

impl Watched for Gateway {
    const KIND: &'static str = "gateway";

    fn phase(&self) -> Phase {
        match status_of(self) {
            GatewayStatus::Ready => Phase::Ready,
            GatewayStatus::Deleting => Phase::Deleting,
            GatewayStatus::Failed | GatewayStatus::Error => Phase::Failed(failure_reasons(self)),
            GatewayStatus::Creating | GatewayStatus::Updating => Phase::Pending,
            GatewayStatus::Unspecified => Phase::Unknown,
        }
    }

    fn status_name(&self) -> &'static str {
        status_of(self).as_str_name()
    }

    fn into_last_seen(self) -> LastSeen {
        LastSeen::Gateway(Box::new(self))
    }
}

/// The conditions that explain a failure, as `: Ready (Reason): message; ...`, or nothing.
fn failure_reasons(gateway: &Gateway) -> String {
    let reasons: Vec<String> = gateway
        .status
        .iter()
        .flat_map(|s| s.conditions.iter())
        .filter(|c| !c.message.is_empty())
        .map(|c| format!("{} ({}): {}", c.r#type, c.reason, c.message))
        .collect();
    if reasons.is_empty() {
        String::new()
    } else {
        format!(": {}", reasons.join("; "))
    }
}

/// Setters shared by the create and update builders, whose requests have the same fields.
macro_rules! gateway_setters {
    ($module:ident) => {
        /// The zones deployments may use (case-insensitive); none means every zone.
        pub fn zones<I, S>(mut self, zones: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.request.zones = zones.into_iter().map(Into::into).collect();
            self
        }

        /// Authenticate inference requests with CoreWeave API tokens.
        pub fn core_weave_auth(mut self) -> Self {
            self.request.auth = Some($module::Auth::CoreWeaveAuth(CoreWeaveAuth {}));
            self
        }

        /// Authenticate inference requests with Weights & Biases credentials.
        pub fn weights_and_biases_auth(mut self, auth: WeightsAndBiasesAuth) -> Self {
            self.request.auth = Some($module::Auth::WeightsAndBiasesAuth(auth));
            self
        }

        /// Route by the `model` field of OpenAI-compatible JSON bodies.
        pub fn body_based_routing(mut self) -> Self {
            self.request.routing = Some($module::Routing::BodyBasedRouting(BodyBasedRouting {
                api_type: ApiType::Openai as i32,
            }));
            self
        }

        /// Route by the value of the HTTP header `header_name`.
        pub fn header_based_routing(mut self, header_name: impl Into<String>) -> Self {
            self.request.routing = Some($module::Routing::HeaderBasedRouting(HeaderBasedRouting {
                header_name: header_name.into(),
            }));
            self
        }

        /// Route by the first URL path segment.
        pub fn path_based_routing(mut self) -> Self {
            self.request.routing = Some($module::Routing::PathBasedRouting(PathBasedRouting {}));
            self
        }

        /// Extra DNS names the gateway answers on.
        pub fn additional_dns<I, S>(mut self, names: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.request.endpoint_configuration = Some(EndpointConfiguration {
                additional_dns: names.into_iter().map(Into::into).collect(),
            });
            self
        }
    };
}

/// A gateway create request being built; from [`Gateways::create`].
#[derive(Debug, Clone)]
#[must_use = "a create request does nothing until it is sent"]
pub struct CreateGateway {
    client: Client,
    request: CreateGatewayRequest,
}

impl CreateGateway {
    gateway_setters!(create_gateway_request);

    /// Chooses the gateway's id. Without one, the client generates a UUID before the first
    /// attempt, which is what makes a retried create safe.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.request.id = id.into();
        self
    }

    /// The request as it would be sent (without the id the client generates at send time).
    pub fn request(&self) -> &CreateGatewayRequest {
        &self.request
    }

    /// Creates the gateway and returns it, in STATUS_CREATING.
    ///
    /// Retries are safe: the id is fixed before the first attempt, and an ALREADY_EXISTS for
    /// that id on a retry means an earlier attempt landed, so that gateway is fetched and
    /// returned.
    pub async fn send(mut self) -> Result<Gateway, Error> {
        if self.request.id.is_empty() {
            self.request.id = Uuid::new_v4().to_string();
        }
        let recover = EarlierAttemptLanded {
            gateways: self.client.gateways(),
            id: self.request.id.clone(),
        };
        let response: CreateGatewayResponse = self
            .client
            .call(Method::CreateGateway, self.request, recover)
            .await?;
        response
            .gateway
            .ok_or_else(|| missing::<Gateway>(Method::CreateGateway))
    }

    /// Creates the gateway and waits until it is READY.
    pub async fn send_and_wait(self, options: impl Into<WaitOptions>) -> Result<Gateway, Error> {
        let gateways = self.client.gateways();
        let gateway = self.send().await?;
        gateways.wait_until_ready(id_of(&gateway), options).await
    }
}

/// Treats ALREADY_EXISTS on a retried create of our own id as success.
struct EarlierAttemptLanded {
    gateways: Gateways,
    id: String,
}

impl AsyncRecover<CreateGatewayResponse> for EarlierAttemptLanded {
    async fn recover(
        &self,
        error: &Error,
        attempt: u32,
    ) -> Result<Recovery<CreateGatewayResponse>, Error> {
        if attempt == 1 || !error.is_already_exists() {
            return Ok(Recovery::Default);
        }
        tracing::info!(id = %self.id, "an earlier create attempt had created the gateway");
        let gateway = self.gateways.get(&self.id).await?;
        Ok(Recovery::Done(CreateGatewayResponse {
            gateway: Some(gateway),
        }))
    }
}

/// A gateway update being built; from [`Gateways::update`] or [`Gateways::edit`].
#[derive(Debug, Clone)]
#[must_use = "an update does nothing until it is sent"]
pub struct UpdateGateway {
    client: Client,
    request: UpdateGatewayRequest,
}

impl UpdateGateway {
    gateway_setters!(update_gateway_request);

    /// The new name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.request.name = name.into();
        self
    }

    /// The request as it would be sent.
    pub fn request(&self) -> &UpdateGatewayRequest {
        &self.request
    }

    /// Replaces the gateway's spec and returns it, in STATUS_UPDATING.
    pub async fn send(self) -> Result<Gateway, Error> {
        let response: UpdateGatewayResponse = self
            .client
            .call(Method::UpdateGateway, self.request, NoRecovery)
            .await?;
        response
            .gateway
            .ok_or_else(|| missing::<Gateway>(Method::UpdateGateway))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::v1alpha1::{condition, Condition, GatewayStatus as Observed};

    fn gateway(status: GatewayStatus) -> Gateway {
        Gateway {
            spec: Some(GatewaySpec {
                id: "g1".into(),
                ..GatewaySpec::default()
            }),
            status: Some(Observed {
                status: status as i32,
                conditions: vec![Condition {
                    r#type: "Ready".into(),
                    status: condition::Status::False as i32,
                    reason: "ImagePullBackOff".into(),
                    message: "cannot pull".into(),
                    ..Condition::default()
                }],
                ..Observed::default()
            }),
        }
    }

    #[test]
    fn failed_and_error_gateways_carry_their_reason() {
        for status in [GatewayStatus::Failed, GatewayStatus::Error] {
            match gateway(status).phase() {
                Phase::Failed(why) => {
                    assert_eq!(why, ": Ready (ImagePullBackOff): cannot pull");
                }
                _ => panic!("{status:?} should fail the wait"),
            }
        }
        assert!(matches!(
            gateway(GatewayStatus::Ready).phase(),
            Phase::Ready
        ));
        assert!(matches!(
            gateway(GatewayStatus::Creating).phase(),
            Phase::Pending
        ));
        assert!(matches!(
            gateway(GatewayStatus::Deleting).phase(),
            Phase::Deleting
        ));
    }
}
