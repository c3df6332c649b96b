//! The control plane over gRPC: `coreweave.mock.v1.ControlService`, so that `grpcurl list`
//! shows it and grpcurl can call it. Every operation is the one the HTTP control API runs.

use std::sync::Arc;

use serde_json::Value;
use tonic::{Request, Response, Status};

use crate::{
    control::{parse_duration, CallQuery, ClockView, FaultSpec, FaultView, Scope},
    control::{Count, Expectation, NearMiss},
    model::lifecycle::ForcedGatewayState,
    persist::snapshot,
    pipeline::faults::code_name,
    pipeline::journal::{Call, JOURNAL_CAPACITY},
    pipeline::MockState,
};

/// The generated messages and server of `coreweave.mock.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub(crate) mod pb {
    include!(concat!(env!("OUT_DIR"), "/coreweave.mock.v1.rs"));
}

/// The encoded descriptors of the control proto, for server reflection.
pub(crate) const CONTROL_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/control_descriptor.bin"));

use pb::control_service_server::ControlService;

/// The gRPC control service over the shared state.
#[derive(Debug, Clone)]
pub(crate) struct ControlGrpc {
    state: Arc<MockState>,
}

impl ControlGrpc {
    /// The service for `state`.
    pub(crate) fn new(state: Arc<MockState>) -> Self {
        Self { state }
    }

    fn scope<T>(&self, request: &Request<T>) -> Result<Scope, Status> {
        self.state.scope_of(request.metadata().as_ref())
    }
}

fn clock(view: ClockView) -> pb::Clock {
    pb::Clock {
        now: humantime::format_rfc3339_nanos(view.now).to_string(),
        frozen: view.frozen,
    }
}

impl From<pb::Fault> for FaultSpec {
    /// An empty string reads as absent, as proto3 has no other way to leave it out.
    fn from(fault: pb::Fault) -> Self {
        let given = |text: String| (!text.is_empty()).then_some(text);
        Self {
            method: given(fault.method),
            kind: given(fault.kind),
            code: given(fault.code),
            times: fault.times,
            delay: given(fault.delay),
            message: given(fault.message),
        }
    }
}

impl From<FaultView> for pb::Fault {
    fn from(view: FaultView) -> Self {
        Self {
            method: view.method,
            kind: view.kind.to_owned(),
            code: view.code.unwrap_or_default(),
            times: view.remaining,
            delay: view.delay.unwrap_or_default(),
            message: view.message.unwrap_or_default(),
            organization_id: view.organization_id.unwrap_or_default(),
        }
    }
}

impl From<Call> for pb::Call {
    fn from(call: Call) -> Self {
        let violations = call
            .violations
            .into_iter()
            .map(|v| pb::Violation {
                field: v.field,
                description: v.description,
            })
            .collect();
        Self {
            time: humantime::format_rfc3339_millis(call.time).to_string(),
            organization_id: call.org.as_str().to_owned(),
            protocol: call.protocol.as_str().to_owned(),
            method: call.method.name().to_owned(),
            resource: call.resource,
            code: code_name(call.code),
            latency_ms: call.latency_ms,
            sequence: call.sequence,
            request_json: call.request.to_string(),
            request_truncated: call.request_truncated,
            message: call.message,
            violations,
            warnings: call.warnings,
        }
    }
}

impl From<NearMiss> for pb::NearMiss {
    fn from(miss: NearMiss) -> Self {
        let differences = miss
            .differences
            .into_iter()
            .map(|d| pb::Difference {
                path: d.path,
                expected_json: d.expected.to_string(),
                actual_json: d.actual.to_string(),
            })
            .collect();
        Self {
            sequence: miss.call.sequence,
            protocol: miss.call.protocol.as_str().to_owned(),
            code: code_name(miss.call.code),
            request_json: miss.call.request.to_string(),
            differences,
        }
    }
}

#[tonic::async_trait]
impl ControlService for ControlGrpc {
    async fn verify(
        &self,
        request: Request<pb::VerifyRequest>,
    ) -> Result<Response<pb::VerifyResponse>, Status> {
        use pb::verify_request::Count as Wanted;
        let scope = self.scope(&request)?;
        let wanted = request.into_inner();
        let partial = match wanted.request_json.trim() {
            "" => None,
            text => Some(serde_json::from_str::<Value>(text).map_err(|e| {
                Status::invalid_argument(format!("request_json: malformed JSON: {e}"))
            })?),
        };
        let count = wanted.count.map(|count| match count {
            Wanted::Exactly(n) => Count::Exactly(n),
            Wanted::AtLeast(n) => Count::AtLeast(n),
            Wanted::AtMost(n) => Count::AtMost(n),
        });
        let code = (!wanted.code.is_empty()).then_some(wanted.code.as_str());
        let expected = Expectation::parse(&wanted.method, partial, code, count)?;
        let response = match self.state.verify(&scope, &expected) {
            Ok(matched) => pb::VerifyResponse {
                ok: true,
                matched: u32::try_from(matched).unwrap_or(u32::MAX),
                message: format!("{matched} call(s) matched"),
                near_misses: Vec::new(),
            },
            Err(failed) => pb::VerifyResponse {
                ok: false,
                matched: u32::try_from(failed.matched).unwrap_or(u32::MAX),
                message: failed.message,
                near_misses: failed.near_misses.into_iter().map(Into::into).collect(),
            },
        };
        Ok(Response::new(response))
    }

    async fn reset(
        &self,
        request: Request<pb::ResetRequest>,
    ) -> Result<Response<pb::ResetResponse>, Status> {
        self.state.reset(&self.scope(&request)?)?;
        Ok(Response::new(pb::ResetResponse {}))
    }

    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        match self.scope(&request)? {
            Scope::Org(org) => Ok(Response::new(pb::WhoAmIResponse {
                organization_id: org.as_str().to_owned(),
            })),
            Scope::All => Err(Status::unauthenticated(
                "WhoAmI needs `authorization: Bearer <token>`",
            )),
        }
    }

    async fn get_clock(
        &self,
        request: Request<pb::GetClockRequest>,
    ) -> Result<Response<pb::GetClockResponse>, Status> {
        let view = self.state.clock_view(&self.scope(&request)?);
        Ok(Response::new(pb::GetClockResponse {
            clock: Some(clock(view)),
        }))
    }

    async fn advance_clock(
        &self,
        request: Request<pb::AdvanceClockRequest>,
    ) -> Result<Response<pb::AdvanceClockResponse>, Status> {
        let scope = self.scope(&request)?;
        let by = parse_duration("by", &request.get_ref().by)?;
        let view = self.state.advance_clock(&scope, by)?;
        Ok(Response::new(pb::AdvanceClockResponse {
            clock: Some(clock(view)),
        }))
    }

    async fn add_fault(
        &self,
        request: Request<pb::AddFaultRequest>,
    ) -> Result<Response<pb::AddFaultResponse>, Status> {
        let scope = self.scope(&request)?;
        let wanted = request.into_inner().fault.unwrap_or_default();
        let view = self.state.add_fault(&scope, wanted.into())?;
        Ok(Response::new(pb::AddFaultResponse {
            fault: Some(view.into()),
        }))
    }

    async fn list_faults(
        &self,
        request: Request<pb::ListFaultsRequest>,
    ) -> Result<Response<pb::ListFaultsResponse>, Status> {
        let scope = self.scope(&request)?;
        let faults = self
            .state
            .list_faults(&scope)
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Response::new(pb::ListFaultsResponse { faults }))
    }

    async fn clear_faults(
        &self,
        request: Request<pb::ClearFaultsRequest>,
    ) -> Result<Response<pb::ClearFaultsResponse>, Status> {
        self.state.clear_faults(&self.scope(&request)?);
        Ok(Response::new(pb::ClearFaultsResponse {}))
    }

    async fn set_resource_status(
        &self,
        request: Request<pb::SetResourceStatusRequest>,
    ) -> Result<Response<pb::SetResourceStatusResponse>, Status> {
        let scope = self.scope(&request)?;
        let wanted = request.get_ref();
        if let Some(hold) = wanted.hold {
            self.state.hold(&scope, &wanted.id, hold)?;
            return Ok(Response::new(pb::SetResourceStatusResponse {}));
        }
        let message = if wanted.message.is_empty() {
            "forced by the control API"
        } else {
            &wanted.message
        };
        let forced = ForcedGatewayState::parse(&wanted.status, message)?;
        self.state.force_status(&scope, &wanted.id, forced)?;
        Ok(Response::new(pb::SetResourceStatusResponse {}))
    }

    async fn list_calls(
        &self,
        request: Request<pb::ListCallsRequest>,
    ) -> Result<Response<pb::ListCallsResponse>, Status> {
        let scope = self.scope(&request)?;
        let wanted = request.into_inner();
        let given = |text: String| (!text.is_empty()).then_some(text);
        let query = CallQuery {
            method: given(wanted.method),
            code: given(wanted.code),
            after: wanted.after,
            limit: wanted.limit.map(u64::from),
        };
        let page = self.state.call_page(&scope, &query)?;
        let calls = page.calls.into_iter().map(pb::Call::from).collect();
        Ok(Response::new(pb::ListCallsResponse {
            calls,
            capacity: u32::try_from(JOURNAL_CAPACITY).unwrap_or(u32::MAX),
            next: page.next,
        }))
    }

    async fn get_state(
        &self,
        request: Request<pb::GetStateRequest>,
    ) -> Result<Response<pb::GetStateResponse>, Status> {
        let scope = self.scope(&request)?;
        let snapshot = snapshot::export(&self.state.store, scope.org());
        Ok(Response::new(pb::GetStateResponse {
            snapshot_json: snapshot.to_string(),
        }))
    }

    async fn put_state(
        &self,
        request: Request<pb::PutStateRequest>,
    ) -> Result<Response<pb::PutStateResponse>, Status> {
        let scope = self.scope(&request)?;
        let value: Value = serde_json::from_str(&request.get_ref().snapshot_json)
            .map_err(|e| Status::invalid_argument(format!("snapshot_json: malformed JSON: {e}")))?;
        let count = self.state.load_snapshot(&scope, &value)?;
        let organizations = u32::try_from(count).unwrap_or(u32::MAX);
        Ok(Response::new(pb::PutStateResponse { organizations }))
    }
}

#[cfg(test)]
mod tests {
    use super::pb::control_service_server::SERVICE_NAME;

    #[test]
    fn the_access_policy_knows_the_control_service() {
        let prefix = format!("/{SERVICE_NAME}/");
        assert_eq!(prefix, crate::protocol::CONTROL_SERVICE_PREFIX);
    }
}
