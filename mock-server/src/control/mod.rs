//! The control plane: how a test drives the mock. One set of typed operations on the shared
//! state (reset, the clock, faults, held and forced states, the journal and its
//! verification, snapshots), each acting on one organization or on the whole server, with
//! two faces: the HTTP control API under `/_mock/v1/` ([`http`], with the live stream of
//! calls and the dashboard) and the gRPC `coreweave.mock.v1.ControlService` ([`grpc`]).
//! The in-process [`MockServer`](crate::MockServer) handle calls the operations directly.

mod calls;
mod dashboard;
mod faults;
pub(crate) mod grpc;
pub(crate) mod http;
mod verify;

pub(crate) use calls::CallQuery;
pub(crate) use faults::{parse_duration, FaultSpec, FaultView};
pub use verify::{Count, Difference, Expectation, NearMiss, VerifyError, MAX_NEAR_MISSES};

use std::time::{Duration, SystemTime};

use serde_json::Value;
use tonic::Status;

use crate::{
    model::clock::ahead,
    model::lifecycle::ForcedGatewayState,
    model::store::OrgState,
    model::{org_for_token, OrgId},
    persist::snapshot::{self, Quota, SnapshotError},
    pipeline::journal::{Call, CallFilter},
    pipeline::MockState,
};

/// The header that asks for the whole-server scope on a mock without `--token`.
pub(crate) const SCOPE_HEADER: &str = "x-mock-scope";

/// A header's value as text; absent when missing, 400 when not printable ASCII.
fn header_text<'a>(headers: &'a ::http::HeaderMap, name: &str) -> Result<Option<&'a str>, Status> {
    headers
        .get(name)
        .map(|value| {
            value.to_str().map_err(|_| {
                Status::invalid_argument(format!("the {name} header is not printable ASCII"))
            })
        })
        .transpose()
}

/// Whose state a control operation acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole server: every organization.
    All,
    /// One organization.
    Org(OrgId),
}

impl Scope {
    /// The organization `token` belongs to.
    pub fn token(token: &str) -> Self {
        Self::Org(org_for_token(token))
    }

    /// The organization, or `None` for the whole server.
    pub fn org(&self) -> Option<&OrgId> {
        match self {
            Self::All => None,
            Self::Org(org) => Some(org),
        }
    }
}

/// The time as a scope sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockView {
    /// Now, with the scope's advances.
    pub now: SystemTime,
    /// Whether time moves only when advanced.
    pub frozen: bool,
}

impl MockState {
    /// Deletes every resource, fault and journal entry in `scope`, and resets its clock.
    pub(crate) fn reset(&self, scope: &Scope) -> Result<(), Status> {
        let org = scope.org();
        self.store.reset(org);
        match org {
            Some(org) => self.faults.clear_org(org),
            None => self.faults.clear(),
        }
        self.journal.clear(org);
        self.offsets.reset(org);
        self.persist_scope(scope)
    }

    /// Reads `snapshot` for `scope`, checked like API input: its structure, each
    /// organization's quota, and every VPC and gateway against the rules a create follows.
    /// Changes nothing.
    pub(crate) fn read_snapshot(
        &self,
        scope: &Scope,
        snapshot: &Value,
    ) -> Result<Vec<(OrgId, OrgState)>, SnapshotError> {
        let quota = Quota {
            vpcs: self.limits.max_vpcs_per_org,
            gateways: self.limits.max_gateways_per_org,
        };
        let orgs = snapshot::import_within(snapshot, scope.org(), quota)?;
        crate::api::snapshot::check_resources(&orgs, &self.zones)?;
        Ok(orgs)
    }

    /// Replaces the state in `scope` with `snapshot`, checked whole first (see
    /// [`read_snapshot`](Self::read_snapshot)): a bad one is INVALID_ARGUMENT naming where it
    /// is wrong, and changes nothing. Returns how many organizations it held.
    pub(crate) fn load_snapshot(&self, scope: &Scope, snapshot: &Value) -> Result<usize, Status> {
        let orgs = self
            .read_snapshot(scope, snapshot)
            .map_err(|e| Status::invalid_argument(format!("invalid snapshot: {e}")))?;
        let count = orgs.len();
        self.store.replace(scope.org(), orgs);
        self.persist_scope(scope)?;
        Ok(count)
    }

    /// Writes the state in `scope` to the state file, if there is one, after a control call
    /// changed it. When the file cannot be written, the change stays in memory and is
    /// written with the whole state once the file can be written again.
    pub(crate) fn persist_scope(&self, scope: &Scope) -> Result<(), Status> {
        let Some(file) = &self.state_file else {
            return Ok(());
        };
        file.ensure_writable(&self.store)
            .and_then(|()| file.save_scope(&self.store, scope.org()))
            .map_err(|e| {
                Status::unavailable(format!(
                    "the change was made but is not saved yet; it will be once the state file can be written: {e}"
                ))
            })
    }

    /// The time as `scope` sees it.
    pub(crate) fn clock_view(&self, scope: &Scope) -> ClockView {
        let now = match scope.org() {
            Some(org) => self.now(org),
            None => ahead(self.clock.now(), self.offsets.all()),
        };
        ClockView {
            now,
            frozen: self.clock.is_frozen(),
        }
    }

    /// Moves `scope`'s time forward: its CREATING, UPDATING and DELETING resources settle as
    /// if that time had passed. Other organizations' time does not move.
    /// An advance that would move any time in scope past 9999-12-31T23:59:59Z (the latest a
    /// timestamp holds) is INVALID_ARGUMENT and moves nothing.
    pub(crate) fn advance_clock(&self, scope: &Scope, by: Duration) -> Result<ClockView, Status> {
        let now = self.clock.now();
        self.offsets
            .advance(scope.org(), by, now)
            .map_err(|e| Status::invalid_argument(format!("by: {e}")))?;
        Ok(self.clock_view(scope))
    }

    /// Every call made in `scope` that passes `filter`, oldest first.
    pub(crate) fn calls(&self, scope: &Scope, filter: &CallFilter) -> Vec<Call> {
        self.journal.calls(scope.org(), filter, None, usize::MAX).0
    }
}

impl MockState {
    /// The scope a control call asks for with its headers: a token's organization
    /// (`Authorization: Bearer <token>`), or the whole server, which must be asked for
    /// explicitly: with the admin token, or (on a mock without `--token`) with
    /// `x-mock-scope: server`. A call that asks for neither is refused, so that a forgotten
    /// header never acts on every organization.
    pub(crate) fn scope_of(&self, headers: &::http::HeaderMap) -> Result<Scope, Status> {
        let authorization = header_text(headers, ::http::header::AUTHORIZATION.as_str())?;
        let server = match header_text(headers, SCOPE_HEADER)? {
            None => false,
            Some("server") => true,
            Some(other) => {
                let shown = coreweave_api::text::cut(other, 64);
                return Err(Status::invalid_argument(format!(
                    "{SCOPE_HEADER}: {shown:?} is not a scope; the only one is `server`"
                )));
            }
        };
        let auth = &self.auth;
        match (authorization, server) {
            (Some(header), _) if auth.is_admin(header) => Ok(Scope::All),
            (Some(header), false) => Ok(Scope::Org(auth.authenticate(Some(header))?)),
            (Some(_), true) => Err(Status::invalid_argument(format!(
                "ask for one scope: a token's organization (authorization) or the whole \
                 server ({SCOPE_HEADER}: server), not both"
            ))),
            (None, true) if !auth.restricts_tokens() => Ok(Scope::All),
            (None, true) => Err(Status::unauthenticated(
                "this mock runs with --token: the whole-server scope needs the admin token \
                 (--admin-token) as `Authorization: Bearer <admin token>`",
            )),
            (None, false) => Err(Status::unauthenticated(self.missing_scope())),
        }
    }

    /// What a control call without a scope is told.
    fn missing_scope(&self) -> String {
        let server = if self.auth.restricts_tokens() {
            "the admin token (--admin-token) for the whole server"
        } else {
            "`x-mock-scope: server` for the whole server"
        };
        format!(
            "a control call needs a scope: `Authorization: Bearer <token>` for that token's \
             organization, or {server}"
        )
    }

    /// Holds the transition of resource `id` in `scope` (CREATING, UPDATING or DELETING)
    /// until released, or releases it; a settled resource has nothing to hold.
    pub(crate) fn hold(&self, scope: &Scope, id: &str, hold: bool) -> Result<(), Status> {
        let delay = self.transition_delay;
        let held = self
            .store
            .with_lifecycle(scope.org(), id, |org, lifecycle| {
                let now = self.now(org);
                if hold {
                    lifecycle.hold(now, delay)
                } else {
                    lifecycle.release(now);
                    true
                }
            });
        match held {
            None => Err(Status::not_found(format!(
                "no resource {} in scope",
                crate::model::quoted(id)
            ))),
            Some(false) => Err(Status::failed_precondition(format!(
                "{} has settled: only a resource that is CREATING, UPDATING or DELETING can be held",
                crate::model::quoted(id)
            ))),
            Some(true) => self.persist_scope(scope),
        }
    }

    /// Makes reads of gateway `id` in `scope` report `forced` (FAILED or ERROR, say) until
    /// the gateway is deleted or the scope reset.
    pub(crate) fn force_status(
        &self,
        scope: &Scope,
        id: &str,
        forced: ForcedGatewayState,
    ) -> Result<(), Status> {
        let forced = Box::new(forced);
        let found = self
            .store
            .with_gateway_lifecycle(scope.org(), id, |_, lifecycle| {
                lifecycle.forced = Some(forced.clone());
            });
        match found {
            Some(()) => self.persist_scope(scope),
            None => Err(Status::not_found(format!(
                "no gateway {} in scope",
                crate::model::quoted(id)
            ))),
        }
    }
}

/// A string field of a JSON object; `null` reads as absent.
pub(crate) fn string_field<'a>(
    body: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, Status> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(Status::invalid_argument(format!(
            "{key}: expected a string, got {other}"
        ))),
    }
}

/// A duration field (`"90s"`) of a JSON object.
pub(crate) fn duration_field(
    body: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<Duration>, Status> {
    string_field(body, key)?
        .map(|text| faults::parse_duration(key, text))
        .transpose()
}
