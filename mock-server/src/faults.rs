//! Scriptable faults, for testing how clients cope with a misbehaving server.
//!
//! Faults are matched by RPC method name (`"CreateVPC"`) or `"*"` for every method of the two
//! API services. They never apply to health checking or reflection.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use coreweave_api::inference::v1alpha1::Status as GatewayPhase;

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

/// One scripted fault.
#[derive(Debug, Clone)]
pub struct Fault {
    method: String,
    remaining: Option<u32>,
    action: FaultAction,
}

impl Fault {
    /// Fails the next `times` calls of `method` with `code`.
    pub fn fail(method: impl Into<String>, times: u32, code: Code) -> Self {
        Self::fail_with(method, times, code, "injected fault", ErrorDetails::new())
    }

    /// Fails the next `times` calls of `method` with `code`, `message` and `details`.
    pub fn fail_with(
        method: impl Into<String>,
        times: u32,
        code: Code,
        message: impl Into<String>,
        details: ErrorDetails,
    ) -> Self {
        Self {
            method: method.into(),
            remaining: Some(times),
            action: FaultAction::Fail {
                code,
                message: message.into(),
                details: Box::new(details),
            },
        }
    }

    /// Delays every call of `method` by `delay`.
    pub fn delay(method: impl Into<String>, delay: Duration) -> Self {
        Self {
            method: method.into(),
            remaining: None,
            action: FaultAction::Delay(delay),
        }
    }

    /// Applies the next `times` calls of `method` but answers UNAVAILABLE.
    pub fn lose_reply(method: impl Into<String>, times: u32) -> Self {
        Self {
            method: method.into(),
            remaining: Some(times),
            action: FaultAction::LoseReply,
        }
    }

    fn matches(&self, method: &str) -> bool {
        self.method == "*" || self.method == method
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

/// A state a gateway is forced into, such as FAILED, whatever its lifecycle says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForcedGatewayState {
    /// The status reads report.
    pub status: GatewayPhase,
    /// The message of its `Ready` condition.
    pub message: String,
}

/// The faults scripted on a server; cheap to clone, shared by every call.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    faults: Arc<Mutex<Vec<Fault>>>,
    gateway_states: Arc<Mutex<HashMap<String, ForcedGatewayState>>>,
}

impl FaultPlan {
    /// Adds a fault; later calls of its method are affected.
    pub fn add(&self, fault: Fault) {
        self.lock().push(fault);
    }

    /// Removes every fault and forced state.
    pub fn clear(&self) {
        self.lock().clear();
        self.gateway_states().clear();
    }

    /// Makes reads of gateway `id` report `status` (ERROR or FAILED, say) with `message` on
    /// its `Ready` condition, until [`clear`](Self::clear). For testing how clients handle a
    /// gateway that fails, which the mock's own lifecycle never does.
    pub fn force_gateway_state(
        &self,
        id: impl Into<String>,
        status: GatewayPhase,
        message: impl Into<String>,
    ) {
        let state = ForcedGatewayState {
            status,
            message: message.into(),
        };
        self.gateway_states().insert(id.into(), state);
    }

    /// The state gateway `id` is forced into, if any.
    pub fn forced_gateway_state(&self, id: &str) -> Option<ForcedGatewayState> {
        self.gateway_states().get(id).cloned()
    }

    fn gateway_states(&self) -> std::sync::MutexGuard<'_, HashMap<String, ForcedGatewayState>> {
        self.gateway_states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the faults that apply to one call of `method`, using up counted ones.
    pub fn take(&self, method: &str) -> CallFaults {
        let mut faults = self.lock();
        let mut call = CallFaults::default();
        for fault in faults.iter_mut().filter(|f| f.matches(method)) {
            if fault.remaining == Some(0) {
                continue;
            }
            match &fault.action {
                FaultAction::Delay(delay) => call.delay += *delay,
                FaultAction::Fail { .. } | FaultAction::LoseReply
                    if call.fail.is_some() || call.lose_reply =>
                {
                    continue
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
            if let Some(remaining) = &mut fault.remaining {
                *remaining -= 1;
            }
        }
        faults.retain(|f| f.remaining != Some(0));
        call
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The status a lost reply is answered with.
pub fn lost_reply_status() -> Status {
    Status::unavailable("injected fault: the change was applied but the reply was lost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_run_out_and_others_stay() {
        let plan = FaultPlan::default();
        plan.add(Fault::fail("GetVPC", 2, Code::Unavailable));
        plan.add(Fault::delay("*", Duration::from_millis(5)));
        for _ in 0..2 {
            let call = plan.take("GetVPC");
            assert_eq!(call.fail.unwrap().code(), Code::Unavailable);
            assert_eq!(call.delay, Duration::from_millis(5));
        }
        assert!(plan.take("GetVPC").fail.is_none());
        assert!(plan.take("ListVPCs").fail.is_none());
        assert_eq!(plan.take("ListVPCs").delay, Duration::from_millis(5));
    }

    #[test]
    fn lose_reply_applies_once_per_count() {
        let plan = FaultPlan::default();
        plan.add(Fault::lose_reply("CreateVPC", 1));
        assert!(plan.take("CreateVPC").lose_reply);
        assert!(!plan.take("CreateVPC").lose_reply);
    }
}
