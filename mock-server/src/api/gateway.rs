//! `coreweave.inference.v1alpha1.GatewayService`: the gRPC service over the store.

use std::{sync::Arc, time::SystemTime};

use coreweave_api::inference::v1alpha1::{
    condition::Status as ConditionStatus, gateway_service_server::GatewayService, gateway_spec,
    Condition, CreateGatewayRequest, CreateGatewayResponse, DeleteGatewayRequest,
    DeleteGatewayResponse, Gateway, GatewaySpec, GatewayStatus, GetGatewayParametersRequest,
    GetGatewayParametersResponse, GetGatewayRequest, GetGatewayResponse, ListGatewaysRequest,
    ListGatewaysResponse, Status as GatewayPhase, UpdateGatewayRequest, UpdateGatewayResponse,
};
use uuid::Uuid;

use crate::{
    api::validation::{requested_id, validate_gateway},
    model::clock::{from_timestamp, to_timestamp},
    model::error::{ApiError, Violations},
    model::lifecycle::Observed,
    model::store::{Kind, Tracked},
    model::uuid_text,
    model::OrgId,
    pipeline::MockState,
};

/// The domain under which gateway endpoints are published.
pub(crate) const ENDPOINT_DOMAIN: &str = "inference.coreweave.com";

/// The gateway service implementation.
#[derive(Debug, Clone)]
pub(crate) struct GatewayApi {
    state: Arc<MockState>,
}

impl GatewayApi {
    /// A gateway service over `state`.
    pub(crate) fn new(state: Arc<MockState>) -> Self {
        Self { state }
    }
}

rpcs! {
    GatewayApi: GatewayService {
        create_gateway(CreateGatewayRequest) -> CreateGatewayResponse = CreateGateway, create;
        get_gateway(GetGatewayRequest) -> GetGatewayResponse = GetGateway, get;
        list_gateways(ListGatewaysRequest) -> ListGatewaysResponse = ListGateways, list;
        update_gateway(UpdateGatewayRequest) -> UpdateGatewayResponse = UpdateGateway, update;
        delete_gateway(DeleteGatewayRequest) -> DeleteGatewayResponse = DeleteGateway, delete;
        get_gateway_parameters(GetGatewayParametersRequest) -> GetGatewayParametersResponse =
            GetGatewayParameters, parameters;
    }
}

/// The zones on offer.
fn parameters(
    state: &MockState,
    _: &OrgId,
    _: GetGatewayParametersRequest,
) -> Result<GetGatewayParametersResponse, ApiError> {
    Ok(GetGatewayParametersResponse {
        zones: state.zones.names(),
    })
}

/// The spec a create request asks for, before validation and server-side fields.
fn requested_spec(request: &CreateGatewayRequest) -> GatewaySpec {
    GatewaySpec {
        name: request.name.clone(),
        zones: request.zones.clone(),
        endpoint_configuration: request.endpoint_configuration.clone(),
        auth: request.auth.clone().map(Into::into),
        routing: request.routing.clone().map(Into::into),
        ..GatewaySpec::default()
    }
}

/// The spec an update request asks for: the whole spec is replaced.
fn replacement_spec(request: UpdateGatewayRequest) -> GatewaySpec {
    GatewaySpec {
        name: request.name,
        zones: request.zones,
        endpoint_configuration: request.endpoint_configuration,
        auth: request.auth.map(Into::into),
        routing: request.routing.map(Into::into),
        ..GatewaySpec::default()
    }
}

fn create(
    state: &MockState,
    org: &OrgId,
    request: CreateGatewayRequest,
) -> Result<CreateGatewayResponse, ApiError> {
    let mut violations = Violations::new();
    let mut spec = requested_spec(&request);
    spec.zones = validate_gateway(&spec, &state.zones, &mut violations);
    // The id the client chose, if it chose one.
    let chosen = if request.id.is_empty() {
        None
    } else {
        Uuid::try_parse(&request.id)
            .inspect_err(|_| violations.add("id", format!("{:?} is not a UUID", request.id)))
            .ok()
    };
    violations.into_result(())?;

    let now = state.now(org);
    let delay = state.transition_delay;
    state.change_org(org, |data| {
        let id = chosen.unwrap_or_else(|| data.gateways.unused_id());
        if data.gateways.get_live(id, now, delay).is_some() {
            return Err(ApiError::AlreadyExists {
                resource_type: <GatewaySpec as Kind>::RESOURCE_TYPE,
                resource_name: uuid_text(id),
                description: format!("gateway {id} already exists"),
            });
        }
        // Settled deletes are purged only when the count is at the quota: a create stays O(1).
        if let Some(max) = state.limits.max_gateways_per_org {
            if data.gateways.len() >= max {
                data.gateways.purge_gone(now, delay);
            }
            if data.gateways.len() >= max {
                return Err(ApiError::ResourceExhausted {
                    subject: format!("organizations/{org}/gateways"),
                    description: format!(
                        "the organization already has the maximum of {max} gateways"
                    ),
                });
            }
        }
        spec.id = uuid_text(id);
        spec.organization_id = org.to_string();
        let stored = data.gateways.insert(id, spec, now);
        Ok(CreateGatewayResponse {
            gateway: Some(render_changed(stored, now, state)),
        })
    })
}

fn get(
    state: &MockState,
    org: &OrgId,
    request: GetGatewayRequest,
) -> Result<GetGatewayResponse, ApiError> {
    let id = requested_id(&request.id)?;
    let now = state.now(org);
    state.store.with_org(org, |data| {
        let gateway = data
            .gateways
            .get_or_not_found(id, now, state.transition_delay)?;
        Ok(GetGatewayResponse {
            gateway: Some(render(gateway, now, state)),
        })
    })
}

fn list(
    state: &MockState,
    org: &OrgId,
    request: ListGatewaysRequest,
) -> Result<ListGatewaysResponse, ApiError> {
    let updated_after = match &request.updated_after {
        None => None,
        Some(timestamp) => Some(
            from_timestamp(timestamp)
                .ok_or_else(|| ApiError::invalid("updated_after", "is not a valid timestamp"))?,
        ),
    };
    let now = state.now(org);
    state.store.with_org(org, |data| {
        let items = data
            .gateways
            .live_oldest_first(now, state.transition_delay)
            .into_iter()
            .filter(|g| updated_after.is_none_or(|after| g.lifecycle.changed_at > after))
            .map(|g| render(g, now, state))
            .collect();
        Ok(ListGatewaysResponse { items })
    })
}

fn update(
    state: &MockState,
    org: &OrgId,
    mut request: UpdateGatewayRequest,
) -> Result<UpdateGatewayResponse, ApiError> {
    let id_text = std::mem::take(&mut request.id);
    let id = requested_id(&id_text)?;
    let mut violations = Violations::new();
    let mut replacement = replacement_spec(request);
    replacement.zones = validate_gateway(&replacement, &state.zones, &mut violations);
    violations.into_result(())?;

    let now = state.now(org);
    state.change_org(org, |data| {
        let gateway = data
            .gateways
            .get_for_update(id, now, state.transition_delay)?;
        let current = &mut gateway.value;
        replacement.id = std::mem::take(&mut current.id);
        replacement.organization_id = std::mem::take(&mut current.organization_id);
        *current = replacement;
        gateway.lifecycle.update(now, state.transition_delay);
        Ok(UpdateGatewayResponse {
            gateway: Some(render_changed(gateway, now, state)),
        })
    })
}

fn delete(
    state: &MockState,
    org: &OrgId,
    request: DeleteGatewayRequest,
) -> Result<DeleteGatewayResponse, ApiError> {
    let id = requested_id(&request.id)?;
    let now = state.now(org);
    state.change_org(org, |data| {
        let gateway = data
            .gateways
            .start_delete(id, now, state.transition_delay)?;
        Ok(DeleteGatewayResponse {
            gateway: Some(render_changed(gateway, now, state)),
        })
    })
}

/// The gateway as a read at `now` sees it: the W&B key blanked, status computed.
pub(crate) fn render(
    tracked: &Tracked<GatewaySpec>,
    now: SystemTime,
    state: &MockState,
) -> Gateway {
    render_as(
        tracked,
        tracked.lifecycle.observe(now, state.transition_delay),
        now,
        state,
    )
}

/// The gateway as the response to a change shows it: in the state the change started.
fn render_changed(tracked: &Tracked<GatewaySpec>, now: SystemTime, state: &MockState) -> Gateway {
    render_as(tracked, tracked.lifecycle.started(), now, state)
}

fn render_as(
    tracked: &Tracked<GatewaySpec>,
    observed: Observed,
    now: SystemTime,
    state: &MockState,
) -> Gateway {
    let mut spec = tracked.value.clone();
    if let Some(gateway_spec::Auth::WeightsAndBiasesAuth(wandb)) = &mut spec.auth {
        wandb.api_key.clear();
    }
    let mut status = status(tracked, observed, now, state);
    if let Some(forced) = &tracked.lifecycle.forced {
        status.status = forced.status as i32;
        status.conditions = vec![Condition {
            r#type: "Ready".to_owned(),
            status: ConditionStatus::False as i32,
            last_update_time: Some(to_timestamp(now)),
            reason: forced.status.as_str_name().to_owned(),
            message: forced.message.clone(),
            zone: String::new(),
        }];
    }
    Gateway {
        spec: Some(spec),
        status: Some(status),
    }
}

fn status(
    tracked: &Tracked<GatewaySpec>,
    observed: Observed,
    now: SystemTime,
    state: &MockState,
) -> GatewayStatus {
    let delay = state.transition_delay;
    let lifecycle = &tracked.lifecycle;
    let phase = match observed {
        Observed::Creating => GatewayPhase::Creating,
        Observed::Ready => GatewayPhase::Ready,
        Observed::Updating => GatewayPhase::Updating,
        Observed::Deleting | Observed::Gone => GatewayPhase::Deleting,
    };
    let changed = lifecycle.changed_at;
    let settled = lifecycle.settles_at(delay);
    let condition =
        |kind: &str, status: ConditionStatus, at: SystemTime, reason: &str, message: &str| {
            Condition {
                r#type: kind.to_owned(),
                status: status as i32,
                last_update_time: Some(to_timestamp(at)),
                reason: reason.to_owned(),
                message: message.to_owned(),
                zone: String::new(),
            }
        };
    let serving = |at| {
        condition(
            "Ready",
            ConditionStatus::True,
            at,
            "AsExpected",
            "the gateway is serving",
        )
    };
    let provisioning = || {
        condition(
            "Ready",
            ConditionStatus::False,
            changed,
            "Reconciling",
            "the gateway is being provisioned",
        )
    };
    let progressing = |message| {
        condition(
            "Progressing",
            ConditionStatus::True,
            changed,
            "Reconciling",
            message,
        )
    };
    let conditions = match observed {
        Observed::Creating => vec![
            provisioning(),
            progressing("the gateway is being provisioned"),
        ],
        Observed::Ready => vec![serving(settled)],
        // While a change rolls out, a gateway that was READY serves the previous spec.
        Observed::Updating => {
            let ready = if lifecycle.has_been_ready(now, delay) {
                serving(changed)
            } else {
                provisioning()
            };
            vec![ready, progressing("a change is being applied")]
        }
        Observed::Deleting | Observed::Gone => vec![condition(
            "Ready",
            ConditionStatus::False,
            changed,
            "Deleting",
            "the gateway is being deleted",
        )],
    };
    let endpoints = if observed != Observed::Creating && lifecycle.has_been_ready(now, delay) {
        endpoints(&tracked.value)
    } else {
        Vec::new()
    };
    GatewayStatus {
        created_at: Some(to_timestamp(lifecycle.created_at)),
        updated_at: Some(to_timestamp(changed)),
        status: phase as i32,
        conditions,
        endpoints,
    }
}

/// The URIs a ready gateway serves on: one derived from its id, then its additional DNS names.
pub(crate) fn endpoints(spec: &GatewaySpec) -> Vec<String> {
    let primary = format!("https://{}.{ENDPOINT_DOMAIN}", spec.id);
    let additional = spec
        .endpoint_configuration
        .iter()
        .flat_map(|c| c.additional_dns.iter())
        .map(|dns| format!("https://{dns}"));
    std::iter::once(primary).chain(additional).collect()
}
