//! The control plane's operations, shared by the HTTP control API and the in-process
//! [`MockServer`](crate::MockServer) handle: reset, the clock, and what calls were made.
//! Each acts on one organization, or on the whole server.

use std::time::{Duration, SystemTime};

use tonic::Status;

use crate::{
    auth::{org_for_token, OrgId},
    context::MockState,
    journal::{Call, CallFilter},
    store::OrgState,
};

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
    pub fn reset(&self, scope: &Scope) -> Result<(), Status> {
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

    /// Replaces the state in `scope` with `orgs` (from a snapshot).
    pub fn replace_state(&self, scope: &Scope, orgs: Vec<(OrgId, OrgState)>) -> Result<(), Status> {
        self.store.replace(scope.org(), orgs);
        self.persist_scope(scope)
    }

    fn persist_scope(&self, scope: &Scope) -> Result<(), Status> {
        match (&self.state_file, scope.org()) {
            (None, _) => Ok(()),
            (Some(file), org) => file.save_scope(&self.store, org).map_err(|e| {
                Status::internal(format!("the change was made but could not be saved: {e}"))
            }),
        }
    }

    /// The time as `scope` sees it.
    pub fn clock_view(&self, scope: &Scope) -> ClockView {
        let now = match scope.org() {
            Some(org) => self.now(org),
            None => self.clock.now() + self.offsets.all(),
        };
        ClockView {
            now,
            frozen: self.clock.is_frozen(),
        }
    }

    /// Moves `scope`'s time forward: its CREATING, UPDATING and DELETING resources settle as
    /// if that time had passed. Other organizations' time does not move.
    pub fn advance_clock(&self, scope: &Scope, by: Duration) -> ClockView {
        self.offsets.advance(scope.org(), by);
        self.clock_view(scope)
    }

    /// The calls made in `scope` that pass `filter`, oldest first.
    pub fn calls(&self, scope: &Scope, filter: &CallFilter) -> Vec<Call> {
        self.journal.calls(scope.org(), filter)
    }
}
