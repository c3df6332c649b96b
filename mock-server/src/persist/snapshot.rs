//! State snapshots: the resources of one organization, or of the whole server, with their
//! lifecycle timestamps, as versioned JSON. `GET /_mock/v1/state` writes one, `PUT` and
//! `--seed` read one. A snapshot is checked whole before anything changes.
//!
//! Format, version 1:
//!
//! ```json
//! {
//!   "version": 1,
//!   "organizations": {
//!     "<organization id, from /_mock/v1/whoami>": {
//!       "vpcs": [{"vpc": {<VPC, proto3 JSON>}, "lifecycle": <lifecycle>}],
//!       "gateways": [{"spec": {<GatewaySpec, proto3 JSON>}, "lifecycle": <lifecycle>}]
//!     }
//!   }
//! }
//! ```
//!
//! where a lifecycle is `{"createdAt": RFC 3339, "changedAt": RFC 3339, "phase": "CREATING" |
//! "UPDATING" | "DELETING", "firstReady": RFC 3339 or null, "heldSince": RFC 3339 or null,
//! "heldForMs": integer, "forced": null or {"status": "STATUS_FAILED" | "STATUS_ERROR",
//! "message": string}}`: the resource's state follows from them and the server's transition
//! delay, except that a gateway with a forced state reports that state. Every VPC and gateway id is a UUID, unique within its organization, as
//! the server hands them out. Gateways' W&B API keys are never written.

use std::time::SystemTime;

use coreweave_api::{
    inference::v1alpha1::{gateway_spec, GatewaySpec},
    json::{self, Output, Unknown},
    networking::v1beta1::Vpc,
};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::{
    model::lifecycle::{ForcedGatewayState, Lifecycle, Phase},
    model::store::{Collection, OrgState, Store, Tracked},
    model::OrgId,
};

/// The snapshot format this mock writes and reads.
pub const SNAPSHOT_VERSION: u64 = 1;

/// A snapshot that cannot be loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct SnapshotError {
    /// Where in the snapshot, such as `organizations.<id>.vpcs[2].vpc.name`.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

fn error(path: impl Into<String>, problem: impl Into<String>) -> SnapshotError {
    SnapshotError {
        path: path.into(),
        problem: problem.into(),
    }
}

/// Writes the state in `org`'s scope (every organization, for `None`).
pub fn export(store: &Store, org: Option<&OrgId>) -> Value {
    let orgs = store.each_org(org, |id, state| (id.as_str().to_owned(), org_json(state)));
    json!({"version": SNAPSHOT_VERSION, "organizations": Map::from_iter(orgs)})
}

/// One organization's entry of a snapshot.
fn org_json(state: &OrgState) -> Value {
    let vpcs: Vec<Value> = state.vpcs.all().map(vpc_entry).collect();
    let gateways: Vec<Value> = state.gateways.all().map(gateway_entry).collect();
    json!({"vpcs": vpcs, "gateways": gateways})
}

/// A VPC as an entry of a snapshot's `vpcs`.
pub(crate) fn vpc_entry(tracked: &Tracked<Vpc>) -> Value {
    json!({"vpc": message(&tracked.value), "lifecycle": lifecycle_json(&tracked.lifecycle)})
}

/// A gateway as an entry of a snapshot's `gateways`, without its W&B API key.
pub(crate) fn gateway_entry(tracked: &Tracked<GatewaySpec>) -> Value {
    let mut spec = tracked.value.clone();
    if let Some(gateway_spec::Auth::WeightsAndBiasesAuth(wandb)) = &mut spec.auth {
        wandb.api_key.clear();
    }
    json!({"spec": message(&spec), "lifecycle": lifecycle_json(&tracked.lifecycle)})
}

/// A snapshot of one organization that holds `vpcs` and `gateways` (entries as
/// [`vpc_entry`] and [`gateway_entry`] write them).
pub(crate) fn org_snapshot(org: &OrgId, vpcs: Vec<Value>, gateways: Vec<Value>) -> Value {
    json!({
        "version": SNAPSHOT_VERSION,
        "organizations": {org.as_str(): {"vpcs": vpcs, "gateways": gateways}},
    })
}

fn message<T: prost::Message + prost::Name>(value: &T) -> Value {
    json::to_value(value, Output::Canonical).unwrap_or(Value::Null)
}

fn lifecycle_json(lifecycle: &Lifecycle) -> Value {
    let phase = match lifecycle.phase {
        Phase::Creating => "CREATING",
        Phase::Updating => "UPDATING",
        Phase::Deleting => "DELETING",
    };
    json!({
        "createdAt": rfc3339(lifecycle.created_at),
        "changedAt": rfc3339(lifecycle.changed_at),
        "phase": phase,
        "firstReady": lifecycle.first_ready.map(rfc3339),
        "heldSince": lifecycle.held_since.map(rfc3339),
        "heldForMs": u64::try_from(lifecycle.held_for.as_millis()).unwrap_or(u64::MAX),
        "forced": lifecycle.forced.as_ref().map(|forced| json!({
            "status": forced.status.as_str_name(),
            "message": forced.message,
        })),
    })
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_nanos(time).to_string()
}

/// Reads a snapshot into the organizations' states, checking all of its structure. When
/// `only` is given, the snapshot may name no organization but that one.
///
/// The API's rules for each VPC and gateway, and the quota, are checked where the snapshot is
/// loaded into a server (`PUT /_mock/v1/state`, `--seed`, [`MockServer::load_state`]).
///
/// [`MockServer::load_state`]: crate::MockServer::load_state
pub fn import(
    snapshot: &Value,
    only: Option<&OrgId>,
) -> Result<Vec<(OrgId, OrgState)>, SnapshotError> {
    import_within(snapshot, only, Quota::default())
}

/// The most VPCs and gateways one organization of a snapshot may hold; `None` for no limit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Quota {
    /// VPCs.
    pub(crate) vpcs: Option<usize>,
    /// Gateways.
    pub(crate) gateways: Option<usize>,
}

/// [`import`], refusing an organization over `quota` before any of its resources is read.
pub(crate) fn import_within(
    snapshot: &Value,
    only: Option<&OrgId>,
    quota: Quota,
) -> Result<Vec<(OrgId, OrgState)>, SnapshotError> {
    let object = snapshot
        .as_object()
        .ok_or_else(|| error("(snapshot)", "expected a JSON object"))?;
    match object.get("version").and_then(Value::as_u64) {
        Some(SNAPSHOT_VERSION) => {}
        Some(other) => {
            return Err(error(
                "version",
                format!("unsupported version {other}; this mock reads version {SNAPSHOT_VERSION}"),
            ))
        }
        None => return Err(error("version", format!("required: {SNAPSHOT_VERSION}"))),
    }
    let orgs = match object.get("organizations") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(orgs)) => orgs,
        Some(_) => {
            return Err(error(
                "organizations",
                "expected an object keyed by organization id",
            ))
        }
    };
    orgs.iter()
        .map(|(id, state)| {
            let path = format!("organizations.{id}");
            let org = OrgId::parse(id).ok_or_else(|| {
                error(
                    &path,
                    "not an organization id (a UUID, from /_mock/v1/whoami)",
                )
            })?;
            if let Some(only) = only.filter(|only| **only != org) {
                return Err(error(
                    &path,
                    format!("a token's scope may load only its own organization, {only}"),
                ));
            }
            Ok((org, org_state(&path, state, quota)?))
        })
        .collect()
}

fn org_state(path: &str, value: &Value, quota: Quota) -> Result<OrgState, SnapshotError> {
    let mut state = OrgState::default();
    let vpcs = list(value, "vpcs", path)?;
    let gateways = list(value, "gateways", path)?;
    for (key, count, limit) in [
        ("vpcs", vpcs.len(), quota.vpcs),
        ("gateways", gateways.len(), quota.gateways),
    ] {
        if let Some(limit) = limit.filter(|limit| count > *limit) {
            return Err(error(
                format!("{path}.{key}"),
                format!("{count} {key}, over the quota of {limit} per organization"),
            ));
        }
    }
    for (i, entry) in vpcs.iter().enumerate() {
        let path = format!("{path}.vpcs[{i}]");
        let vpc: Vpc = read_message(entry, "vpc", &path)?;
        let id = read_id(&vpc.id, &path, "vpc")?;
        if state.vpc_names.insert(vpc.name.clone(), id).is_some() {
            return Err(error(
                format!("{path}.vpc.name"),
                format!("duplicate name {:?}", vpc.name),
            ));
        }
        let lifecycle = read_lifecycle(entry, &path)?;
        restore(&mut state.vpcs, id, vpc, lifecycle, &path, "vpc")?;
    }
    for (i, entry) in gateways.iter().enumerate() {
        let path = format!("{path}.gateways[{i}]");
        let spec: GatewaySpec = read_message(entry, "spec", &path)?;
        let id = read_id(&spec.id, &path, "spec")?;
        let lifecycle = read_lifecycle(entry, &path)?;
        restore(&mut state.gateways, id, spec, lifecycle, &path, "spec")?;
    }
    Ok(state)
}

/// A resource's id as a snapshot spells it: required, and a UUID, as every id the server
/// hands out is.
fn read_id(id: &str, path: &str, key: &str) -> Result<Uuid, SnapshotError> {
    if id.is_empty() {
        return Err(error(format!("{path}.{key}.id"), "required"));
    }
    Uuid::try_parse(id)
        .map_err(|_| error(format!("{path}.{key}.id"), format!("{id:?} is not a UUID")))
}

/// Adds one resource read from a snapshot, refusing a repeated id.
fn restore<T: Clone>(
    collection: &mut Collection<T>,
    id: Uuid,
    value: T,
    lifecycle: Lifecycle,
    path: &str,
    key: &str,
) -> Result<(), SnapshotError> {
    if !collection.restore(id, Tracked { value, lifecycle }) {
        return Err(error(
            format!("{path}.{key}.id"),
            format!("duplicate id {id}"),
        ));
    }
    Ok(())
}

fn list<'a>(value: &'a Value, key: &str, path: &str) -> Result<&'a [Value], SnapshotError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(error(format!("{path}.{key}"), "expected a list")),
    }
}

fn read_message<T: prost::Message + prost::Name + Default>(
    entry: &Value,
    key: &str,
    path: &str,
) -> Result<T, SnapshotError> {
    let value = entry
        .get(key)
        .cloned()
        .ok_or_else(|| error(format!("{path}.{key}"), "required"))?;
    json::from_value::<T>(value, Unknown::Reject)
        .map(|decoded| decoded.message)
        .map_err(|e| {
            let field = e.field.map(|f| format!(".{f}")).unwrap_or_default();
            error(format!("{path}.{key}{field}"), e.description)
        })
}

fn read_lifecycle(entry: &Value, path: &str) -> Result<Lifecycle, SnapshotError> {
    let path = format!("{path}.lifecycle");
    let value = entry
        .get("lifecycle")
        .ok_or_else(|| error(&path, "required"))?;
    let time = |key: &str| -> Result<Option<SystemTime>, SnapshotError> {
        match value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => {
                humantime::parse_rfc3339_weak(text).map(Some).map_err(|e| {
                    error(
                        format!("{path}.{key}"),
                        format!("{text:?} is not RFC 3339: {e}"),
                    )
                })
            }
            Some(other) => Err(error(
                format!("{path}.{key}"),
                format!("expected a string, got {other}"),
            )),
        }
    };
    let created_at =
        time("createdAt")?.ok_or_else(|| error(format!("{path}.createdAt"), "required"))?;
    let changed_at = time("changedAt")?.unwrap_or(created_at);
    let phase = match value.get("phase").and_then(Value::as_str) {
        Some("CREATING") => Phase::Creating,
        Some("UPDATING") => Phase::Updating,
        Some("DELETING") => Phase::Deleting,
        other => {
            return Err(error(
                format!("{path}.phase"),
                format!("{other:?} is not one of CREATING, UPDATING, DELETING"),
            ))
        }
    };
    let held_for = match value.get("heldForMs") {
        None | Some(Value::Null) => 0,
        Some(ms) => ms.as_u64().ok_or_else(|| {
            error(
                format!("{path}.heldForMs"),
                format!("expected milliseconds, got {ms}"),
            )
        })?,
    };
    Ok(Lifecycle {
        created_at,
        changed_at,
        phase,
        first_ready: time("firstReady")?,
        held_since: time("heldSince")?,
        held_for: std::time::Duration::from_millis(held_for),
        forced: read_forced(value, &path)?,
    })
}

/// A lifecycle's forced state: absent or null for none.
fn read_forced(
    lifecycle: &Value,
    path: &str,
) -> Result<Option<Box<ForcedGatewayState>>, SnapshotError> {
    let path = format!("{path}.forced");
    let forced = match lifecycle.get("forced") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(forced)) => forced,
        Some(other) => return Err(error(path, format!("expected an object, got {other}"))),
    };
    let text = |key: &str| match forced.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(text)) => Ok(text.as_str()),
        Some(other) => Err(error(
            format!("{path}.{key}"),
            format!("expected a string, got {other}"),
        )),
    };
    ForcedGatewayState::parse(text("status")?, text("message")?)
        .map(|forced| Some(Box::new(forced)))
        .map_err(|status| error(&path, status.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot_with_vpc_ids(ids: &[&str]) -> Value {
        let vpcs: Vec<Value> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                json!({
                    "vpc": {"id": id, "name": format!("v{i}"), "zone": "US-EAST-04A"},
                    "lifecycle": lifecycle_json(&Lifecycle::created(SystemTime::UNIX_EPOCH)),
                })
            })
            .collect();
        let org = "6f2c51d4-93a1-4b1e-8d57-2a0ec3f19b44";
        json!({"version": SNAPSHOT_VERSION, "organizations": {org: {"vpcs": vpcs}}})
    }

    fn problem(snapshot: &Value) -> (String, String) {
        let error = import(snapshot, None).expect_err("an error");
        (error.path, error.problem)
    }

    #[test]
    fn ids_must_be_uuids_and_unique() {
        let id = "0b6f6f43-3d6e-4c55-8f9c-0d5e2e2b8a11";
        let org = "organizations.6f2c51d4-93a1-4b1e-8d57-2a0ec3f19b44";
        assert!(import(&snapshot_with_vpc_ids(&[id]), None).is_ok());
        assert_eq!(
            problem(&snapshot_with_vpc_ids(&[id, "vpc-2"])),
            (
                format!("{org}.vpcs[1].vpc.id"),
                r#""vpc-2" is not a UUID"#.to_owned()
            )
        );
        assert_eq!(
            problem(&snapshot_with_vpc_ids(&[id, &id.to_uppercase()])),
            (
                format!("{org}.vpcs[1].vpc.id"),
                format!("duplicate id {id}")
            )
        );
        assert_eq!(
            problem(&snapshot_with_vpc_ids(&[""])),
            (format!("{org}.vpcs[0].vpc.id"), "required".to_owned())
        );
    }
}
