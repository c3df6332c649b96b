//! `coreweave.networking.v1beta1.VPCService`: the gRPC service over the store.

use std::{sync::Arc, time::SystemTime};

use coreweave_api::networking::v1beta1::{
    prefix::Status as PrefixStatus, vpc::Status as VpcStatus, vpc_service_server::VpcService,
    CreateVpcRequest, CreateVpcResponse, DeleteVpcRequest, DeleteVpcResponse, Dhcp, GetVpcRequest,
    GetVpcResponse, ListVpCsRequest, ListVpCsResponse, Prefix, UpdateVpcRequest, UpdateVpcResponse,
    Vpc,
};
use coreweave_api::proto::snake_case_path;

use crate::{
    api::validation::{
        check_dhcp, check_vpc_prefixes, legacy_host_prefix, requested_id, validate_create_vpc,
        within_limit, MAX_MASK_PATHS, VPC_UPDATABLE_PATHS,
    },
    model::clock::to_timestamp,
    model::error::{ApiError, Violations},
    model::lifecycle::{Lifecycle, Observed},
    model::store::{Kind, Tracked},
    model::uuid_text,
    model::OrgId,
    pipeline::MockState,
};

/// The VPC service implementation.
#[derive(Debug, Clone)]
pub(crate) struct VpcApi {
    state: Arc<MockState>,
}

impl VpcApi {
    /// A VPC service over `state`.
    pub(crate) fn new(state: Arc<MockState>) -> Self {
        Self { state }
    }
}

rpcs! {
    VpcApi: VpcService {
        create_vpc(CreateVpcRequest) -> CreateVpcResponse = CreateVpc, create;
        get_vpc(GetVpcRequest) -> GetVpcResponse = GetVpc, get;
        list_vp_cs(ListVpCsRequest) -> ListVpCsResponse = ListVpcs, list;
        update_vpc(UpdateVpcRequest) -> UpdateVpcResponse = UpdateVpc, update;
        delete_vpc(DeleteVpcRequest) -> DeleteVpcResponse = DeleteVpc, delete;
    }
}

fn create(
    state: &MockState,
    org: &OrgId,
    request: CreateVpcRequest,
) -> Result<CreateVpcResponse, ApiError> {
    let valid = validate_create_vpc(request, &state.zones)?;
    let now = state.now(org);
    let delay = state.transition_delay;
    state.change_org(org, |data| {
        if let Some(existing) = data.live_vpc_named(&valid.name, now, delay) {
            return Err(ApiError::AlreadyExists {
                resource_type: <Vpc as Kind>::RESOURCE_TYPE,
                resource_name: valid.name.clone(),
                description: format!(
                    "a VPC named {:?} already exists (id {existing})",
                    valid.name
                ),
            });
        }
        // Settled deletes are purged only when the count is at the quota: a create stays O(1).
        if let Some(max) = state.limits.max_vpcs_per_org {
            if data.vpcs.len() >= max {
                data.vpcs.purge_gone(now, delay);
            }
            if data.vpcs.len() >= max {
                return Err(ApiError::ResourceExhausted {
                    subject: format!("organizations/{org}/vpcs"),
                    description: format!("the organization already has the maximum of {max} VPCs"),
                });
            }
        }
        let id = data.vpcs.unused_id();
        let request = valid.request;
        let vpc = Vpc {
            name: valid.name,
            zone: valid.zone,
            id: uuid_text(id),
            vpc_prefixes: stamp_prefixes(request.vpc_prefixes, &[], now),
            host_prefixes: valid.host_prefixes,
            ingress: Some(request.ingress.unwrap_or_default()),
            egress: Some(request.egress.unwrap_or_default()),
            dhcp: request.dhcp,
            ..Vpc::default()
        };
        data.vpc_names.insert(vpc.name.clone(), id);
        // The store keeps a clone, which has no spare room in its lists (a decoded list
        // keeps room for four entries); the caller gets the decoded original.
        let stored = data.vpcs.insert(id, vpc.clone(), now);
        let lifecycle = &stored.lifecycle;
        Ok(CreateVpcResponse {
            vpc: Some(shown_as(vpc, lifecycle, lifecycle.started())),
        })
    })
}

fn get(state: &MockState, org: &OrgId, request: GetVpcRequest) -> Result<GetVpcResponse, ApiError> {
    let id = requested_id(&request.id)?;
    let now = state.now(org);
    state.store.with_org(org, |data| {
        let vpc = data
            .vpcs
            .get_or_not_found(id, now, state.transition_delay)?;
        Ok(GetVpcResponse {
            vpc: Some(render(vpc, now, state)),
        })
    })
}

fn list(
    state: &MockState,
    org: &OrgId,
    _request: ListVpCsRequest,
) -> Result<ListVpCsResponse, ApiError> {
    let now = state.now(org);
    state.store.with_org(org, |data| {
        let items = data
            .vpcs
            .live_oldest_first(now, state.transition_delay)
            .into_iter()
            .map(|vpc| render(vpc, now, state))
            .collect();
        Ok(ListVpCsResponse { items })
    })
}

/// Which updatable fields an update request changes.
#[derive(Debug, Default, PartialEq, Eq)]
struct UpdatePlan {
    vpc_prefixes: bool,
    ingress: bool,
    egress: bool,
    dns_servers: bool,
}

/// What an update request changes, and the paths of its mask that change nothing (they are
/// not updatable), in snake_case. Without a mask, every updatable field changes.
fn plan_update(request: &UpdateVpcRequest) -> (UpdatePlan, Vec<String>) {
    let Some(mask) = &request.update_mask else {
        let everything = UpdatePlan {
            vpc_prefixes: true,
            ingress: true,
            egress: true,
            dns_servers: true,
        };
        return (everything, Vec::new());
    };
    let mut plan = UpdatePlan::default();
    let mut ignored = Vec::new();
    for path in &mask.paths {
        use coreweave_api::rpc::vpc_update_paths::*;
        match snake_case_path(path).as_str() {
            VPC_PREFIXES => plan.vpc_prefixes = true,
            INGRESS_DISABLE_PUBLIC_SERVICES => plan.ingress = true,
            EGRESS_DISABLE_PUBLIC_ACCESS => plan.egress = true,
            DHCP_DNS_SERVERS => plan.dns_servers = true,
            other => ignored.push(other.to_owned()),
        }
    }
    (plan, ignored)
}

/// The warning for an update mask that names paths that cannot be updated: the real service
/// answers such an update and changes nothing for them, silently.
pub(crate) fn update_mask_warning(request: &UpdateVpcRequest) -> Option<String> {
    let (_, ignored) = plan_update(request);
    if ignored.is_empty() {
        return None;
    }
    let named: Vec<String> = ignored
        .iter()
        .take(MAX_MASK_PATHS)
        .map(|path| format!("{:?}", crate::model::quoted(path)))
        .collect();
    Some(format!(
        "update_mask names paths that cannot be updated, which changed nothing: {}; the updatable paths are {}",
        named.join(", "),
        VPC_UPDATABLE_PATHS.join(", ")
    ))
}

fn update(
    state: &MockState,
    org: &OrgId,
    mut request: UpdateVpcRequest,
) -> Result<UpdateVpcResponse, ApiError> {
    let id_text = std::mem::take(&mut request.id);
    let id = requested_id(&id_text)?;
    let mut violations = Violations::new();
    let paths = request
        .update_mask
        .as_ref()
        .map(|mask| mask.paths.as_slice())
        .unwrap_or_default();
    if !within_limit("update_mask", paths, MAX_MASK_PATHS, &mut violations) {
        // Refuse before looking at any path.
        return violations
            .into_result(())
            .map(|()| UpdateVpcResponse::default());
    }
    let (plan, _) = plan_update(&request);
    if plan.vpc_prefixes {
        check_vpc_prefixes(&request.vpc_prefixes, &mut violations);
    }
    if plan.dns_servers {
        check_dhcp(request.dhcp.as_ref(), &mut violations);
    }
    violations.into_result(())?;

    let now = state.now(org);
    state.change_org(org, |data| {
        let vpc = data.vpcs.get_for_update(id, now, state.transition_delay)?;
        apply_update(&mut vpc.value, &plan, request, now);
        vpc.lifecycle.update(now, state.transition_delay);
        Ok(UpdateVpcResponse {
            vpc: Some(render_changed(vpc)),
        })
    })
}

fn apply_update(vpc: &mut Vpc, plan: &UpdatePlan, request: UpdateVpcRequest, now: SystemTime) {
    if plan.vpc_prefixes {
        vpc.vpc_prefixes = stamp_prefixes(request.vpc_prefixes, &vpc.vpc_prefixes, now);
    }
    if plan.ingress {
        vpc.ingress = Some(request.ingress.unwrap_or_default());
    }
    if plan.egress {
        vpc.egress = Some(request.egress.unwrap_or_default());
    }
    if plan.dns_servers {
        let servers = request
            .dhcp
            .and_then(|d| d.dns)
            .map(|dns| dns.servers)
            .unwrap_or_default();
        let dhcp = vpc.dhcp.get_or_insert_with(Dhcp::default);
        dhcp.dns.get_or_insert_with(Default::default).servers = servers;
    }
    trim(vpc);
}

/// Drops the spare room of a stored VPC's lists after an update: a decoded list keeps room
/// for four entries, which a store of 100,000 VPCs would pay for in memory.
fn trim(vpc: &mut Vpc) {
    vpc.vpc_prefixes.shrink_to_fit();
    vpc.host_prefixes.shrink_to_fit();
    for host_prefix in &mut vpc.host_prefixes {
        host_prefix.prefixes.shrink_to_fit();
    }
    if let Some(dns) = vpc.dhcp.as_mut().and_then(|dhcp| dhcp.dns.as_mut()) {
        dns.servers.shrink_to_fit();
    }
}

fn delete(
    state: &MockState,
    org: &OrgId,
    request: DeleteVpcRequest,
) -> Result<DeleteVpcResponse, ApiError> {
    let id = requested_id(&request.id)?;
    let now = state.now(org);
    state.change_org(org, |data| {
        let vpc = data.vpcs.start_delete(id, now, state.transition_delay)?;
        Ok(DeleteVpcResponse {
            vpc: Some(render_changed(vpc)),
        })
    })
}

/// Gives VPC prefixes their output fields, keeping the timestamps of unchanged ones.
fn stamp_prefixes(requested: Vec<Prefix>, previous: &[Prefix], now: SystemTime) -> Vec<Prefix> {
    requested
        .into_iter()
        .map(|prefix| {
            let unchanged = previous
                .iter()
                .find(|p| p.name == prefix.name && p.value == prefix.value);
            match unchanged {
                Some(previous) => previous.clone(),
                None => Prefix {
                    created_at: Some(to_timestamp(now)),
                    updated_at: Some(to_timestamp(now)),
                    status: PrefixStatus::Available as i32,
                    ..prefix
                },
            }
        })
        .collect()
}

/// The VPC as a read at `now` sees it: status, timestamps and the legacy host prefix filled in.
pub(crate) fn render(tracked: &Tracked<Vpc>, now: SystemTime, state: &MockState) -> Vpc {
    render_as(
        tracked,
        tracked.lifecycle.observe(now, state.transition_delay),
    )
}

/// The VPC as the response to a change shows it: in the state the change started.
fn render_changed(tracked: &Tracked<Vpc>) -> Vpc {
    render_as(tracked, tracked.lifecycle.started())
}

fn render_as(tracked: &Tracked<Vpc>, observed: Observed) -> Vpc {
    shown_as(tracked.value.clone(), &tracked.lifecycle, observed)
}

/// `vpc` with its status, timestamps and legacy host prefix filled in.
fn shown_as(vpc: Vpc, lifecycle: &Lifecycle, observed: Observed) -> Vpc {
    let status = match observed {
        Observed::Creating => VpcStatus::Creating,
        Observed::Ready => VpcStatus::Ready,
        Observed::Updating => VpcStatus::Updating,
        Observed::Deleting | Observed::Gone => VpcStatus::Deleting,
    };
    #[allow(deprecated)]
    Vpc {
        host_prefix: legacy_host_prefix(&vpc.host_prefixes),
        created_at: Some(to_timestamp(lifecycle.created_at)),
        updated_at: Some(to_timestamp(lifecycle.changed_at)),
        status: status as i32,
        ..vpc
    }
}
