//! Scriptable faults, for testing how clients cope with a misbehaving server.
//!
//! A fault names the RPC it applies to ([`Method`]), or every RPC of the two API services
//! ([`Methods::All`]), and optionally one organization. Faults never apply to health
//! checking, reflection or the control API.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use coreweave_api::rpc::Method;

use crate::model::{org_for_token, Map, OrgId};

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// What a fault does to a call.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// Answer with this error instead of running the call.
    Fail {
        /// The gRPC code.
        code: Code,
        /// The message.
        message: String,
        /// The `google.rpc` details to attach.
        details: Box<ErrorDetails>,
    },
    /// Wait this long before running the call. The caller's deadline still applies.
    Delay(Duration),
    /// Run the call, including its change to the state, then answer UNAVAILABLE as if the
    /// reply had been lost on the way back.
    LoseReply,
}

/// The calls a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Methods {
    /// Every RPC of the two API services.
    All,
    /// One RPC.
    One(Method),
}

impl From<Method> for Methods {
    fn from(method: Method) -> Self {
        Self::One(method)
    }
}

/// One scripted fault.
#[derive(Debug, Clone)]
pub struct Fault {
    methods: Methods,
    org: Option<OrgId>,
    remaining: Option<u32>,
    action: FaultAction,
}

impl Fault {
    /// Fails the next `times` calls of `methods` with `code`.
    ///
    /// ```
    /// use coreweave_mock::{Fault, Method};
    ///
    /// let fault = Fault::fail(Method::GetVpc, 2, tonic::Code::Unavailable);
    /// ```
    pub fn fail(methods: impl Into<Methods>, times: u32, code: Code) -> Self {
        Self::fail_with(methods, times, code, "injected fault", ErrorDetails::new())
    }

    /// Fails the next `times` calls of `methods` with `code`, `message` and `details`.
    pub fn fail_with(
        methods: impl Into<Methods>,
        times: u32,
        code: Code,
        message: impl Into<String>,
        details: ErrorDetails,
    ) -> Self {
        Self::new(
            methods,
            Some(times),
            FaultAction::Fail {
                code,
                message: message.into(),
                details: Box::new(details),
            },
        )
    }

    /// Delays every call of `methods` by `delay`.
    pub fn delay(methods: impl Into<Methods>, delay: Duration) -> Self {
        Self::new(methods, None, FaultAction::Delay(delay))
    }

    /// Applies the next `times` calls of `methods` but answers UNAVAILABLE.
    pub fn lose_reply(methods: impl Into<Methods>, times: u32) -> Self {
        Self::new(methods, Some(times), FaultAction::LoseReply)
    }

    /// A fault from its parts; `times` of `None` applies to every call.
    pub fn new(methods: impl Into<Methods>, times: Option<u32>, action: FaultAction) -> Self {
        Self {
            methods: methods.into(),
            org: None,
            remaining: times,
            action,
        }
    }

    /// Limits the fault to the calls of one organization: the one `token` belongs to.
    pub fn for_token(self, token: &str) -> Self {
        self.in_org(org_for_token(token))
    }

    /// Limits the fault to the calls of `org`.
    pub fn in_org(mut self, org: OrgId) -> Self {
        self.org = Some(org);
        self
    }

    /// The calls it applies to.
    pub fn methods(&self) -> Methods {
        self.methods
    }

    /// The organization it is limited to, if any.
    pub fn org(&self) -> Option<&OrgId> {
        self.org.as_ref()
    }

    /// How many more calls it applies to; `None` for every call.
    pub fn remaining(&self) -> Option<u32> {
        self.remaining
    }

    /// What it does.
    pub fn action(&self) -> &FaultAction {
        &self.action
    }

    /// Adds what this fault does to `call`, unless it is used up or a failure already
    /// decides the call; whether it fired.
    fn apply_to(&self, call: &mut CallFaults) -> bool {
        if self.remaining == Some(0) {
            return false;
        }
        match &self.action {
            FaultAction::Delay(delay) => {
                call.delay = call.delay.saturating_add(*delay).min(MAX_DELAY);
            }
            FaultAction::Fail { .. } | FaultAction::LoseReply
                if call.fail.is_some() || call.lose_reply =>
            {
                return false;
            }
            FaultAction::Fail {
                code,
                message,
                details,
            } => {
                call.fail = Some(Status::with_error_details(
                    *code,
                    message.clone(),
                    (**details).clone(),
                ));
            }
            FaultAction::LoseReply => call.lose_reply = true,
        }
        true
    }

    fn matches(&self, method: Method, org: &OrgId) -> bool {
        let method_matches = match self.methods {
            Methods::All => true,
            Methods::One(one) => one == method,
        };
        method_matches && self.org.as_ref().is_none_or(|own| own == org)
    }
}

/// The faults that apply to one call, taken from the plan when the call starts.
#[derive(Debug, Default)]
pub struct CallFaults {
    /// How long to wait first.
    pub delay: Duration,
    /// The error to answer with instead of running the call.
    pub fail: Option<Status>,
    /// Whether to run the call and then answer UNAVAILABLE.
    pub lose_reply: bool,
}

/// The most faults one organization may hold.
pub const MAX_FAULTS_PER_ORG: usize = 100;
/// The most faults one server may hold, every organization's and the server-wide ones.
pub const MAX_FAULTS: usize = 1000;

/// A fault that would take a scope past its limit ([`MAX_FAULTS_PER_ORG`], [`MAX_FAULTS`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{holder} holds {limit} faults already, the most it may; clear some first (DELETE /_mock/v1/faults)")]
pub struct TooManyFaults {
    /// Whose limit: `this organization` or `this server`.
    pub holder: &'static str,
    /// The limit.
    pub limit: usize,
}

/// The faults scripted on a server; cheap to clone, shared by every call.
///
/// Faults are kept by the organization they are limited to, so that a call looks only at
/// its own organization's faults and the server-wide ones, never at other tenants'.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    faults: Arc<Mutex<Faults>>,
}

/// Faults by whom they apply to, each with the order it was added in.
#[derive(Debug, Default)]
struct Faults {
    added: u64,
    count: usize,
    server: Vec<(u64, Fault)>,
    orgs: Map<OrgId, Vec<(u64, Fault)>>,
}

impl FaultPlan {
    /// Adds a fault; later calls of its method are affected. Fails when its organization
    /// holds [`MAX_FAULTS_PER_ORG`] already, or the server [`MAX_FAULTS`].
    pub fn add(&self, fault: Fault) -> Result<(), TooManyFaults> {
        let mut faults = self.lock();
        if faults.count >= MAX_FAULTS {
            return Err(TooManyFaults {
                holder: "this server",
                limit: MAX_FAULTS,
            });
        }
        let order = faults.added;
        let list = match &fault.org {
            None => &mut faults.server,
            Some(org) => {
                let list = faults.orgs.entry(org.clone()).or_default();
                if list.len() >= MAX_FAULTS_PER_ORG {
                    return Err(TooManyFaults {
                        holder: "this organization",
                        limit: MAX_FAULTS_PER_ORG,
                    });
                }
                list
            }
        };
        list.push((order, fault));
        faults.added += 1;
        faults.count += 1;
        Ok(())
    }

    /// Removes every fault.
    pub fn clear(&self) {
        let mut faults = self.lock();
        let added = faults.added;
        *faults = Faults {
            added,
            ..Faults::default()
        };
    }

    /// Removes the faults limited to `org`.
    pub fn clear_org(&self, org: &OrgId) {
        let mut faults = self.lock();
        let removed = faults.orgs.remove(org).map_or(0, |list| list.len());
        faults.count -= removed;
    }

    /// The faults that apply to `org`'s calls (every fault, for `None`), in the order they
    /// were added, with their counts as they stand.
    pub fn list(&self, org: Option<&OrgId>) -> Vec<Fault> {
        let faults = self.lock();
        let mut listed: Vec<&(u64, Fault)> = match org {
            Some(org) => faults
                .server
                .iter()
                .chain(faults.orgs.get(org).into_iter().flatten())
                .collect(),
            None => faults
                .server
                .iter()
                .chain(faults.orgs.values().flatten())
                .collect(),
        };
        listed.sort_unstable_by_key(|(order, _)| *order);
        listed.into_iter().map(|(_, fault)| fault.clone()).collect()
    }

    /// Takes the faults that apply to one call of `method` by `org`, using up counted ones:
    /// the server-wide ones and `org`'s, in the order they were added.
    pub fn take(&self, method: Method, org: &OrgId) -> CallFaults {
        let mut call = CallFaults::default();
        let mut guard = self.lock();
        if guard.count == 0 {
            return call;
        }
        let faults = &mut *guard;
        let own = faults.orgs.get_mut(org);
        let mut applicable: Vec<&mut (u64, Fault)> = faults
            .server
            .iter_mut()
            .chain(own.into_iter().flatten())
            .filter(|(_, fault)| fault.matches(method, org))
            .collect();
        applicable.sort_unstable_by_key(|(order, _)| *order);
        for (_, fault) in applicable {
            if fault.apply_to(&mut call) {
                if let Some(remaining) = &mut fault.remaining {
                    *remaining = remaining.saturating_sub(1);
                }
            }
        }
        faults.prune(org);
        call
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Faults {
    /// Drops the used-up faults that apply to `org`.
    fn prune(&mut self, org: &OrgId) {
        let before = self.server.len() + self.orgs.get(org).map_or(0, Vec::len);
        let live = |(_, fault): &(u64, Fault)| fault.remaining != Some(0);
        self.server.retain(live);
        if let Some(list) = self.orgs.get_mut(org) {
            list.retain(live);
            if list.is_empty() {
                self.orgs.remove(org);
            }
        }
        let after = self.server.len() + self.orgs.get(org).map_or(0, Vec::len);
        self.count -= before - after;
    }
}

/// Every gRPC code, for parsing names.
const CODES: [Code; 17] = [
    Code::Ok,
    Code::Cancelled,
    Code::Unknown,
    Code::InvalidArgument,
    Code::DeadlineExceeded,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::ResourceExhausted,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
    Code::Unimplemented,
    Code::Internal,
    Code::Unavailable,
    Code::DataLoss,
    Code::Unauthenticated,
];

/// A gRPC code from its name in any common spelling: `UNAVAILABLE`, `unavailable`,
/// `FailedPrecondition`, `failed_precondition`.
pub(crate) fn code_from_name(name: &str) -> Option<Code> {
    let wanted: String = name
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    CODES
        .into_iter()
        .find(|code| code_label(*code).replace('_', "").to_ascii_lowercase() == wanted)
}

/// The names `code_from_name` takes, for error messages.
pub(crate) fn code_names() -> String {
    let names: Vec<String> = CODES.into_iter().map(code_name).collect();
    names.join(", ")
}

/// A code's canonical name, such as `NOT_FOUND`.
pub(crate) fn code_name(code: Code) -> String {
    code_label(code).to_owned()
}

/// A code's canonical name, without allocating (for metrics labels).
pub(crate) fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The header that makes one call fail with a code, such as `x-mock-fail: UNAVAILABLE`.
pub(crate) const FAIL_HEADER: &str = "x-mock-fail";
/// The header that delays one call, such as `x-mock-delay: 2s`.
pub(crate) const DELAY_HEADER: &str = "x-mock-delay";
/// The header that applies one call but loses its reply: `x-mock-lose-reply: true`.
pub(crate) const LOSE_REPLY_HEADER: &str = "x-mock-lose-reply";

/// What every steering header's name starts with.
const STEERING_PREFIX: &str = "x-mock-";

/// Adds what a call's `x-mock-*` headers ask for to its faults; a header that cannot be read
/// is INVALID_ARGUMENT naming it.
pub(crate) fn steer(
    call: &mut CallFaults,
    metadata: &tonic::metadata::MetadataMap,
) -> Result<(), Status> {
    // Most calls are not steered: one pass over the header names tells, without a lookup per
    // header.
    let headers: &http::HeaderMap = metadata.as_ref();
    if !headers
        .keys()
        .any(|name| name.as_str().starts_with(STEERING_PREFIX))
    {
        return Ok(());
    }
    let text = |name: &str| -> Result<Option<String>, Status> {
        match metadata.get(name) {
            None => Ok(None),
            Some(value) => value
                .to_str()
                .map(|v| Some(v.trim().to_owned()))
                .map_err(|_| {
                    Status::invalid_argument(format!("header {name} is not printable ASCII"))
                }),
        }
    };
    if let Some(name) = text(FAIL_HEADER)? {
        let code = code_from_name(&name).ok_or_else(|| {
            Status::invalid_argument(format!(
                "header {FAIL_HEADER}: {name:?} is not a gRPC code; use one of {}",
                code_names()
            ))
        })?;
        call.fail = Some(Status::new(code, format!("injected by {FAIL_HEADER}")));
    }
    if let Some(delay) = text(DELAY_HEADER)? {
        let delay = humantime::parse_duration(&delay).map_err(|e| {
            Status::invalid_argument(format!(
                "header {DELAY_HEADER}: {delay:?} is not a duration such as 250ms or 2s: {e}"
            ))
        })?;
        call.delay = call.delay.saturating_add(delay).min(MAX_DELAY);
    }
    if let Some(flag) = text(LOSE_REPLY_HEADER)? {
        call.lose_reply |= match flag.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => {
                return Err(Status::invalid_argument(format!(
                    "header {LOSE_REPLY_HEADER}: {flag:?} is not true or false"
                )))
            }
        };
    }
    Ok(())
}

/// The longest one call is delayed, by faults and headers together: a header or a fault
/// may ask for more, and gets this.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(600);

/// The status a lost reply is answered with.
pub(crate) fn lost_reply_status() -> Status {
    Status::unavailable("injected fault: the change was applied but the reply was lost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> OrgId {
        org_for_token("CW-SECRET-a")
    }

    #[test]
    fn every_steering_header_is_seen_by_the_quick_check() {
        for name in [FAIL_HEADER, DELAY_HEADER, LOSE_REPLY_HEADER] {
            let mut metadata = tonic::metadata::MetadataMap::new();
            metadata.insert(name, "nonsense".parse().unwrap());
            let mut call = CallFaults::default();
            let error = steer(&mut call, &metadata).unwrap_err();
            assert_eq!(error.code(), Code::InvalidArgument, "{name}");
            assert!(
                error.message().contains(name),
                "{name}: {}",
                error.message()
            );
        }
    }

    #[test]
    fn counted_faults_run_out_and_others_stay() {
        let plan = FaultPlan::default();
        plan.add(Fault::fail(Method::GetVpc, 2, Code::Unavailable))
            .unwrap();
        plan.add(Fault::delay(Methods::All, Duration::from_millis(5)))
            .unwrap();
        for _ in 0..2 {
            let call = plan.take(Method::GetVpc, &org());
            assert_eq!(call.fail.unwrap().code(), Code::Unavailable);
            assert_eq!(call.delay, Duration::from_millis(5));
        }
        assert!(plan.take(Method::GetVpc, &org()).fail.is_none());
        assert!(plan.take(Method::ListVpcs, &org()).fail.is_none());
        assert_eq!(
            plan.take(Method::ListVpcs, &org()).delay,
            Duration::from_millis(5)
        );
    }

    #[test]
    fn lose_reply_applies_once_per_count() {
        let plan = FaultPlan::default();
        plan.add(Fault::lose_reply(Method::CreateVpc, 1)).unwrap();
        assert!(plan.take(Method::CreateVpc, &org()).lose_reply);
        assert!(!plan.take(Method::CreateVpc, &org()).lose_reply);
    }

    #[test]
    fn a_fault_for_one_organization_leaves_the_others_alone() {
        let plan = FaultPlan::default();
        plan.add(Fault::fail(Method::GetVpc, 5, Code::Unavailable).for_token("CW-SECRET-a"))
            .unwrap();
        let other = org_for_token("CW-SECRET-b");
        assert!(plan.take(Method::GetVpc, &other).fail.is_none());
        assert!(plan.take(Method::GetVpc, &org()).fail.is_some());
        assert_eq!(plan.list(Some(&other)).len(), 0);
        assert_eq!(plan.list(Some(&org()))[0].remaining(), Some(4));
        plan.clear_org(&org());
        assert!(plan.list(None).is_empty());
    }

    #[test]
    fn faults_are_bounded_per_organization_and_per_server_and_counted_down() {
        let plan = FaultPlan::default();
        let mine =
            |n| Fault::delay(Methods::All, Duration::from_millis(n)).for_token("CW-SECRET-a");
        for n in 0..MAX_FAULTS_PER_ORG as u64 {
            plan.add(mine(n)).unwrap();
        }
        let refused = plan.add(mine(0)).unwrap_err();
        assert_eq!(refused.limit, MAX_FAULTS_PER_ORG);
        assert!(
            refused.to_string().contains("this organization"),
            "{refused}"
        );
        // Another organization still has room, until the server is full.
        for n in 0..(MAX_FAULTS - MAX_FAULTS_PER_ORG) {
            let token = format!("CW-SECRET-{}", n % 50);
            plan.add(Fault::lose_reply(Method::GetVpc, 1).for_token(&token))
                .unwrap();
        }
        let refused = plan.add(Fault::lose_reply(Method::GetVpc, 1)).unwrap_err();
        assert_eq!(refused.limit, MAX_FAULTS);
        // A used-up fault frees its place.
        assert!(
            plan.take(Method::GetVpc, &org_for_token("CW-SECRET-7"))
                .lose_reply
        );
        plan.add(Fault::lose_reply(Method::GetVpc, 1)).unwrap();
        plan.clear();
        assert!(plan.list(None).is_empty());
        plan.add(mine(1)).unwrap();
    }

    #[test]
    fn the_first_added_failure_decides_across_server_and_organization_faults() {
        let plan = FaultPlan::default();
        let code = |code| Fault::fail(Method::GetVpc, 1, code);
        plan.add(code(Code::Aborted).for_token("CW-SECRET-a"))
            .unwrap();
        plan.add(code(Code::Unavailable)).unwrap();
        let call = plan.take(Method::GetVpc, &org());
        assert_eq!(call.fail.unwrap().code(), Code::Aborted);
        // The server-wide one did not fire, so it is still there for the next call.
        let call = plan.take(Method::GetVpc, &org());
        assert_eq!(call.fail.unwrap().code(), Code::Unavailable);
        assert!(plan.list(None).is_empty());
    }
}
