//! Faults as the control API speaks of them, whichever face a call came through: a
//! [`FaultSpec`] is what a caller asks for (both faces convert their message into one, and
//! it alone is validated into a [`Fault`]), a [`FaultView`] is what the API shows (both
//! faces render one). The operations that add, list and clear faults in a scope are here too.

use std::time::Duration;

use coreweave_api::rpc::Method;
use tonic::Status;

use super::Scope;
use crate::pipeline::{
    faults::{code_from_name, code_name, code_names, Fault, FaultAction, Methods, MAX_DELAY},
    MockState,
};

/// A fault as a caller describes it: `{"method", "kind", "code", "times", "delay",
/// "message"}` over HTTP, `coreweave.mock.v1.Fault` over gRPC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FaultSpec {
    /// An RPC name, or `*` for every RPC; required.
    pub(crate) method: Option<String>,
    /// `fail` (the default), `delay` or `lose_reply`.
    pub(crate) kind: Option<String>,
    /// For `fail`: a gRPC code name; `UNAVAILABLE` by default.
    pub(crate) code: Option<String>,
    /// How many calls it fires for; by default once for a failure, always for a delay.
    pub(crate) times: Option<u32>,
    /// For `delay`: how long, such as `2s`.
    pub(crate) delay: Option<String>,
    /// For `fail`: the error message.
    pub(crate) message: Option<String>,
}

impl FaultSpec {
    /// The fault this describes, or INVALID_ARGUMENT naming the field that is wrong.
    pub(crate) fn into_fault(self) -> Result<Fault, Status> {
        let methods = methods(self.method.as_deref())?;
        let action = match self.kind.as_deref().unwrap_or("fail") {
            "fail" => {
                let name = self.code.as_deref().unwrap_or("UNAVAILABLE");
                let code = code_from_name(name).ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "code: {name:?} is not a gRPC code; use one of {}",
                        code_names()
                    ))
                })?;
                FaultAction::Fail {
                    code,
                    message: self.message.unwrap_or_else(|| "injected fault".to_owned()),
                    details: Box::default(),
                }
            }
            "delay" => {
                let delay = self
                    .delay
                    .ok_or_else(|| Status::invalid_argument("delay: required for kind delay"))?;
                let delay = parse_duration("delay", &delay)?;
                if delay > MAX_DELAY {
                    return Err(Status::invalid_argument(format!(
                        "delay: {} is longer than the most a call is delayed, {}",
                        humantime::format_duration(delay),
                        humantime::format_duration(MAX_DELAY)
                    )));
                }
                FaultAction::Delay(delay)
            }
            "lose_reply" => FaultAction::LoseReply,
            other => {
                return Err(Status::invalid_argument(format!(
                    "kind: {other:?} is not one of fail, delay, lose_reply"
                )))
            }
        };
        // A delay applies to every call unless counted; a failure to one call unless counted.
        let times = match (&action, self.times) {
            (_, Some(times)) => Some(times),
            (FaultAction::Delay(_), None) => None,
            (_, None) => Some(1),
        };
        Ok(Fault::new(methods, times, action))
    }
}

fn methods(method: Option<&str>) -> Result<Methods, Status> {
    match method {
        None => Err(Status::invalid_argument(
            "method: required, an RPC name or \"*\"",
        )),
        Some("*") => Ok(Methods::All),
        Some(name) => name
            .parse::<Method>()
            .map(Methods::One)
            .map_err(|e| Status::invalid_argument(format!("method: {e}, or \"*\""))),
    }
}

/// A duration field (`"90s"`), or INVALID_ARGUMENT naming `field`.
pub(crate) fn parse_duration(field: &str, text: &str) -> Result<Duration, Status> {
    humantime::parse_duration(text).map_err(|e| {
        Status::invalid_argument(format!(
            "{field}: {text:?} is not a duration such as 250ms, 90s or 5m: {e}"
        ))
    })
}

/// A fault as the control API shows it, with the firings it has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FaultView {
    /// The RPC name, or `*`.
    pub(crate) method: String,
    /// `fail`, `delay` or `lose_reply`.
    pub(crate) kind: &'static str,
    /// For `fail`: the code's name.
    pub(crate) code: Option<String>,
    /// For `fail`: the message.
    pub(crate) message: Option<String>,
    /// For `delay`: how long, as humantime writes it.
    pub(crate) delay: Option<String>,
    /// How many more calls it fires for; `None` for every call.
    pub(crate) remaining: Option<u32>,
    /// The organization it is limited to, if any.
    pub(crate) organization_id: Option<String>,
}

impl FaultView {
    /// How `fault` is shown.
    pub(crate) fn of(fault: &Fault) -> Self {
        let method = match fault.methods() {
            Methods::All => "*".to_owned(),
            Methods::One(method) => method.name().to_owned(),
        };
        let mut view = Self {
            method,
            kind: "lose_reply",
            code: None,
            message: None,
            delay: None,
            remaining: fault.remaining(),
            organization_id: fault.org().map(|org| org.as_str().to_owned()),
        };
        match fault.action() {
            FaultAction::Fail { code, message, .. } => {
                view.kind = "fail";
                view.code = Some(code_name(*code));
                view.message = Some(message.clone());
            }
            FaultAction::Delay(delay) => {
                view.kind = "delay";
                view.delay = Some(humantime::format_duration(*delay).to_string());
            }
            FaultAction::LoseReply => {}
        }
        view
    }
}

impl MockState {
    /// Adds the fault `spec` describes, limited to `scope`'s organization when it has one.
    pub(crate) fn add_fault(&self, scope: &Scope, spec: FaultSpec) -> Result<FaultView, Status> {
        let mut fault = spec.into_fault()?;
        if let Scope::Org(org) = scope {
            fault = fault.in_org(org.clone());
        }
        let view = FaultView::of(&fault);
        self.faults
            .add(fault)
            .map_err(|too_many| Status::resource_exhausted(too_many.to_string()))?;
        Ok(view)
    }

    /// The faults that apply in `scope`, with their firings left.
    pub(crate) fn list_faults(&self, scope: &Scope) -> Vec<FaultView> {
        let faults = self.faults.list(scope.org());
        faults.iter().map(FaultView::of).collect()
    }

    /// Removes the faults of `scope`.
    pub(crate) fn clear_faults(&self, scope: &Scope) {
        match scope.org() {
            Some(org) => self.faults.clear_org(org),
            None => self.faults.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(method: &str, kind: &str) -> FaultSpec {
        FaultSpec {
            method: Some(method.to_owned()),
            kind: Some(kind.to_owned()),
            ..FaultSpec::default()
        }
    }

    #[test]
    fn a_spec_becomes_a_fault_with_the_documented_defaults() {
        let fail = FaultSpec {
            method: Some("GetVPC".into()),
            ..FaultSpec::default()
        };
        let view = FaultView::of(&fail.into_fault().unwrap());
        assert_eq!(
            (view.kind, view.code.as_deref(), view.remaining),
            ("fail", Some("UNAVAILABLE"), Some(1)),
            "a failure fires once with UNAVAILABLE unless told otherwise"
        );
        let delay = FaultSpec {
            delay: Some("2s".into()),
            ..spec("*", "delay")
        };
        let view = FaultView::of(&delay.into_fault().unwrap());
        assert_eq!((view.method.as_str(), view.remaining), ("*", None));
        assert_eq!(view.delay.as_deref(), Some("2s"));
    }

    #[test]
    fn a_bad_spec_names_its_field() {
        let cases = [
            (FaultSpec::default(), "method: required"),
            (spec("CreateVpc", "fail"), "method: unknown method"),
            (spec("GetVPC", "explode"), "kind: \"explode\""),
            (spec("GetVPC", "delay"), "delay: required"),
            (
                FaultSpec {
                    code: Some("NOPE".into()),
                    ..spec("GetVPC", "fail")
                },
                "code: \"NOPE\" is not a gRPC code",
            ),
        ];
        for (spec, expected) in cases {
            let error = spec.into_fault().unwrap_err();
            assert!(error.message().starts_with(expected), "{}", error.message());
        }
    }
}
