//! Inference gateway operations: `client.gateways()`.

use std::{
    future::{Future, IntoFuture},
    pin::Pin,
    time::SystemTime,
};

use tonic::{transport::Channel, Request, Response, Status};
use uuid::Uuid;

use crate::{
    client::{AsyncRecover, Client, NoRecovery},
    error::{found, Error, ErrorKind, LastSeen},
    inference::v1alpha1::{
        body_based_routing::ApiType, create_gateway_request,
        gateway_service_client::GatewayServiceClient, update_gateway_request, BodyBasedRouting,
        CoreWeaveAuth, CreateGatewayRequest, CreateGatewayResponse, DeleteGatewayRequest,
        EndpointConfiguration, Gateway, GatewaySpec, GetGatewayParametersRequest,
        GetGatewayParametersResponse, GetGatewayRequest, HeaderBasedRouting, ListGatewaysRequest,
        PathBasedRouting, Status as GatewayStatus, UpdateGatewayRequest, WeightsAndBiasesAuth,
    },
    retry::{Idempotency, Recovery, Rpc},
    wait::{poll_until, Poll, WaitOptions},
};

const SERVICE: &str = "coreweave.inference.v1alpha1.GatewayService";

const fn rpc(method: &'static str) -> Rpc {
    // Every gateway RPC is safe to repeat: creates carry a client-chosen id, updates send the
    // whole spec, and deletes of a deleting gateway change nothing.
    Rpc {
        service: SERVICE,
        method,
        idempotency: Idempotency::Idempotent,
    }
}

const CREATE: Rpc = rpc("CreateGateway");
const GET: Rpc = rpc("GetGateway");
const LIST: Rpc = rpc("ListGateways");
const UPDATE: Rpc = rpc("UpdateGateway");
const DELETE: Rpc = rpc("DeleteGateway");
const PARAMETERS: Rpc = rpc("GetGatewayParameters");

/// Inference gateway operations, from [`Client::gateways`].
#[derive(Debug, Clone)]
pub struct Gateways {
    client: Client,
}

impl Gateways {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

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

    /// The gateway with this id.
    pub async fn get(&self, id: &str) -> Result<Gateway, Error> {
        let request = GetGatewayRequest { id: id.to_owned() };
        let response = unary(&self.client, GET, request, |mut stub, req| async move {
            stub.get_gateway(req).await
        })
        .await?;
        response
            .gateway
            .ok_or_else(|| missing_gateway("GetGateway"))
    }

    /// The gateway with this id, or `None` when there is none.
    pub async fn get_opt(&self, id: &str) -> Result<Option<Gateway>, Error> {
        found(self.get(id).await)
    }

    /// Lists the organization's gateways; `.await` it, optionally after
    /// [`updated_after`](ListGateways::updated_after).
    pub fn list(&self) -> ListGateways {
        ListGateways {
            client: self.client.clone(),
            request: ListGatewaysRequest::default(),
        }
    }

    /// Starts a full replacement of the gateway `id`'s spec. Set the name, one auth and one
    /// routing (and zones and endpoint settings if wanted), then `send()`.
    pub fn update(&self, id: impl Into<String>) -> UpdateGateway {
        UpdateGateway {
            client: self.client.clone(),
            request: UpdateGatewayRequest {
                id: id.into(),
                ..UpdateGatewayRequest::default()
            },
        }
    }

    /// Starts an update prefilled from a gateway's current spec, so that only what you change
    /// differs. The W&B `api_key` is never returned by the API: set it again if you use W&B.
    pub fn edit(&self, spec: &GatewaySpec) -> UpdateGateway {
        let request = UpdateGatewayRequest {
            id: spec.id.clone(),
            name: spec.name.clone(),
            zones: spec.zones.clone(),
            endpoint_configuration: spec.endpoint_configuration.clone(),
            auth: spec.auth.clone().map(Into::into),
            routing: spec.routing.clone().map(Into::into),
        };
        UpdateGateway {
            client: self.client.clone(),
            request,
        }
    }

    /// Starts deleting the gateway and returns it, in STATUS_DELETING.
    pub async fn delete(&self, id: &str) -> Result<Gateway, Error> {
        let request = DeleteGatewayRequest { id: id.to_owned() };
        let response = unary(&self.client, DELETE, request, |mut stub, req| async move {
            stub.delete_gateway(req).await
        })
        .await?;
        response
            .gateway
            .ok_or_else(|| missing_gateway("DeleteGateway"))
    }

    /// The values a gateway may use, such as the available zones.
    pub async fn parameters(&self) -> Result<GetGatewayParametersResponse, Error> {
        unary(
            &self.client,
            PARAMETERS,
            GetGatewayParametersRequest {},
            |mut stub, req| async move { stub.get_gateway_parameters(req).await },
        )
        .await
    }

    /// Polls until the gateway is READY and returns it.
    ///
    /// Fails with [`ErrorKind::ResourceFailed`] for a FAILED or ERROR gateway,
    /// [`ErrorKind::UnexpectedState`] for a deleting one, and [`ErrorKind::WaitTimeout`]
    /// (carrying the last gateway seen) when the maximum wait passes.
    pub async fn wait_until_ready(
        &self,
        id: &str,
        options: impl Into<WaitOptions>,
    ) -> Result<Gateway, Error> {
        poll_until(options.into(), "READY", || async {
            Ok(classify_for_ready(self.get(id).await?))
        })
        .await
    }

    /// Polls until the gateway is gone (reads are NOT_FOUND).
    pub async fn wait_until_deleted(
        &self,
        id: &str,
        options: impl Into<WaitOptions>,
    ) -> Result<(), Error> {
        poll_until(options.into(), "deleted", || async {
            Ok(match self.get_opt(id).await? {
                None => Poll::Done(()),
                Some(gateway) if status_of(&gateway) == GatewayStatus::Deleting => {
                    Poll::Pending(LastSeen::Gateway(Box::new(gateway)))
                }
                Some(gateway) => Poll::Unexpected(
                    format!(
                        "gateway {id} is {} while waiting for it to be deleted",
                        status_of(&gateway).as_str_name()
                    ),
                    LastSeen::Gateway(Box::new(gateway)),
                ),
            })
        })
        .await
    }

    /// Deletes the gateway and waits until it is gone.
    pub async fn delete_and_wait(
        &self,
        id: &str,
        options: impl Into<WaitOptions>,
    ) -> Result<(), Error> {
        self.delete(id).await?;
        self.wait_until_deleted(id, options).await
    }
}

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

pub(crate) fn classify_for_ready(gateway: Gateway) -> Poll<Gateway> {
    let status = status_of(&gateway);
    match status {
        GatewayStatus::Ready => Poll::Done(gateway),
        GatewayStatus::Creating | GatewayStatus::Updating | GatewayStatus::Unspecified => {
            Poll::Pending(LastSeen::Gateway(Box::new(gateway)))
        }
        GatewayStatus::Failed | GatewayStatus::Error => {
            let reasons: Vec<String> = gateway
                .status
                .iter()
                .flat_map(|s| s.conditions.iter())
                .filter(|c| !c.message.is_empty())
                .map(|c| format!("{} ({}): {}", c.r#type, c.reason, c.message))
                .collect();
            let why = format!(
                "gateway {} is {}{}",
                id_of(&gateway),
                status.as_str_name(),
                if reasons.is_empty() {
                    String::new()
                } else {
                    format!(": {}", reasons.join("; "))
                }
            );
            Poll::Failed(why, LastSeen::Gateway(Box::new(gateway)))
        }
        GatewayStatus::Deleting => Poll::Unexpected(
            format!(
                "gateway {} is being deleted while waiting for it to be READY",
                id_of(&gateway)
            ),
            LastSeen::Gateway(Box::new(gateway)),
        ),
    }
}

fn missing_gateway(method: &str) -> Error {
    Error::new(ErrorKind::Other, format!("{method} returned no gateway"))
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
            gateways: Gateways::new(self.client.clone()),
            id: self.request.id.clone(),
        };
        let response = self
            .client
            .call(
                CREATE,
                self.client.gateway_stub(),
                self.request,
                |mut stub, req| async move { stub.create_gateway(req).await },
                recover,
            )
            .await?;
        response
            .gateway
            .ok_or_else(|| missing_gateway("CreateGateway"))
    }

    /// Creates the gateway and waits until it is READY.
    pub async fn send_and_wait(self, options: impl Into<WaitOptions>) -> Result<Gateway, Error> {
        let gateways = Gateways::new(self.client.clone());
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
        let response = unary(
            &self.client,
            UPDATE,
            self.request,
            |mut stub, req| async move { stub.update_gateway(req).await },
        )
        .await?;
        response
            .gateway
            .ok_or_else(|| missing_gateway("UpdateGateway"))
    }
}

/// A gateway list request; `.await` it. From [`Gateways::list`].
#[derive(Debug, Clone)]
#[must_use = "a list request does nothing until it is awaited"]
pub struct ListGateways {
    client: Client,
    request: ListGatewaysRequest,
}

impl ListGateways {
    /// Only gateways whose `status.updated_at` is later than `time`.
    pub fn updated_after(mut self, time: impl Into<SystemTime>) -> Self {
        self.request.updated_after = Some(time.into().into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Vec<Gateway>, Error> {
        let response = unary(
            &self.client,
            LIST,
            self.request,
            |mut stub, req| async move { stub.list_gateways(req).await },
        )
        .await?;
        Ok(response.items)
    }
}

impl IntoFuture for ListGateways {
    type Output = Result<Vec<Gateway>, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// Calls an RPC of this service that needs no per-call recovery hook.
async fn unary<Req, Resp, Fut>(
    client: &Client,
    rpc: Rpc,
    request: Req,
    send: impl Fn(GatewayServiceClient<Channel>, Request<Req>) -> Fut,
) -> Result<Resp, Error>
where
    Req: Clone,
    Fut: Future<Output = Result<Response<Resp>, Status>>,
{
    client
        .call(rpc, client.gateway_stub(), request, send, NoRecovery)
        .await
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
    fn failed_and_error_gateways_end_the_wait_with_their_reason() {
        for status in [GatewayStatus::Failed, GatewayStatus::Error] {
            match classify_for_ready(gateway(status)) {
                Poll::Failed(why, LastSeen::Gateway(_)) => {
                    assert!(why.contains(status.as_str_name()), "{why}");
                    assert!(why.contains("ImagePullBackOff"), "{why}");
                }
                _ => panic!("{status:?} should fail the wait"),
            }
        }
        assert!(matches!(
            classify_for_ready(gateway(GatewayStatus::Ready)),
            Poll::Done(_)
        ));
        assert!(matches!(
            classify_for_ready(gateway(GatewayStatus::Creating)),
            Poll::Pending(_)
        ));
        assert!(matches!(
            classify_for_ready(gateway(GatewayStatus::Deleting)),
            Poll::Unexpected(..)
        ));
    }
}
