//! The resources of each organization as a read would show them now, with the markers only
//! the mock has (held transitions, forced states): what the dashboard draws.

use std::time::SystemTime;

use coreweave_api::json::{self, Output};
use serde_json::{json, Value};

use crate::{
    model::lifecycle::{Lifecycle, Observed},
    model::OrgId,
    pipeline::MockState,
};

/// Each organization in scope (every one, for `None`) with its VPCs and gateways, oldest
/// first: `[{"organizationId", "vpcs": [...], "gateways": [...]}]`, where each resource is
/// `{"id", "name", "status", "createdAt", "changedAt", "held", "forced", "resource"}` and
/// `resource` is what a Get answers (proto3 JSON).
pub(crate) fn resources(state: &MockState, org: Option<&OrgId>) -> Vec<(OrgId, Value)> {
    let delay = state.transition_delay;
    state.store.each_org(org, |org, data| {
        let now = state.now(org);
        let mut vpcs: Vec<&_> = data.vpcs.all().collect();
        vpcs.sort_by_key(|tracked| tracked.lifecycle.created_at);
        let vpcs: Vec<Value> = vpcs
            .into_iter()
            .filter(|tracked| tracked.lifecycle.observe(now, delay) != Observed::Gone)
            .map(|tracked| {
                let vpc = super::vpc::render(tracked, now, state);
                let status = vpc.status().as_str_name();
                let shown = shown(&vpc.id, &vpc.name, status, &tracked.lifecycle);
                with_resource(shown, json::to_value(&vpc, Output::Canonical))
            })
            .collect();
        let mut gateways: Vec<&_> = data.gateways.all().collect();
        gateways.sort_by_key(|tracked| tracked.lifecycle.created_at);
        let gateways: Vec<Value> = gateways
            .into_iter()
            .filter(|tracked| tracked.lifecycle.observe(now, delay) != Observed::Gone)
            .map(|tracked| {
                let gateway = super::gateway::render(tracked, now, state);
                let status = gateway
                    .status
                    .as_ref()
                    .map_or("STATUS_UNSPECIFIED", |status| status.status().as_str_name());
                let spec = &tracked.value;
                let shown = shown(&spec.id, &spec.name, status, &tracked.lifecycle);
                with_resource(shown, json::to_value(&gateway, Output::Canonical))
            })
            .collect();
        let json = json!({
            "organizationId": org.as_str(),
            "vpcs": vpcs,
            "gateways": gateways,
        });
        (org.clone(), json)
    })
}

fn shown(id: &str, name: &str, status: &str, lifecycle: &Lifecycle) -> Value {
    let time = |at: SystemTime| humantime::format_rfc3339_millis(at).to_string();
    json!({
        "id": id,
        "name": name,
        "status": status,
        "createdAt": time(lifecycle.created_at),
        "changedAt": time(lifecycle.changed_at),
        "held": lifecycle.held_since.is_some(),
        "forced": lifecycle.forced.is_some(),
    })
}

fn with_resource(mut shown: Value, resource: Result<Value, json::JsonError>) -> Value {
    shown["resource"] = resource.unwrap_or(Value::Null);
    shown
}
