//! The control plane over gRPC: `coreweave.mock.v1.ControlService`, so that `grpcurl list`
//! shows it and grpcurl can call it. Every operation is the one the HTTP control API runs.

use std::sync::Arc;

use serde_json::{Map, Value};
use tonic::{Request, Response, Status};

use crate::{
    control::{fault_from_json, fault_to_json, ClockView, Scope},
    model::lifecycle::ForcedGatewayState,
    persist::snapshot,
    pipeline::faults::{code_from_name, code_name, code_names},
    pipeline::journal::{CallFilter, JOURNAL_CAPACITY},
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
        let header = request
            .metadata()
            .get("authorization")
            .map(|value| {
                value.to_str().map_err(|_| {
                    Status::unauthenticated("the authorization header is not printable ASCII")
                })
            })
            .transpose()?;
        self.state.scope_for(header)
    }
}

fn clock(view: ClockView) -> pb::Clock {
    pb::Clock {
        now: humantime::format_rfc3339_nanos(view.now).to_string(),
        frozen: view.frozen,
    }
}

fn fault_to_pb(json: &Value) -> pb::Fault {
    let text = |key: &str| json[key].as_str().unwrap_or_default().to_owned();
    pb::Fault {
        method: text("method"),
        kind: text("kind"),
        code: text("code"),
        times: json["remaining"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok()),
        delay: text("delay"),
        message: text("message"),
        organization_id: text("organizationId"),
    }
}

fn fault_to_map(fault: &pb::Fault) -> Map<String, Value> {
    let mut map = Map::new();
    let mut put = |key: &str, value: &str| {
        if !value.is_empty() {
            map.insert(key.to_owned(), Value::from(value));
        }
    };
    put("method", &fault.method);
    put("kind", &fault.kind);
    put("code", &fault.code);
    put("delay", &fault.delay);
    put("message", &fault.message);
    if let Some(times) = fault.times {
        map.insert("times".to_owned(), Value::from(times));
    }
    map
}

#[tonic::async_trait]
impl ControlService for ControlGrpc {
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
        let text = &request.get_ref().by;
        let by = humantime::parse_duration(text).map_err(|e| {
            Status::invalid_argument(format!(
                "by: {text:?} is not a duration such as 250ms, 90s or 5m: {e}"
            ))
        })?;
        let view = self.state.advance_clock(&scope, by);
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
        let mut fault = fault_from_json(&fault_to_map(&wanted))?;
        if let Scope::Org(org) = &scope {
            fault = fault.in_org(org.clone());
        }
        let shown = fault_to_pb(&fault_to_json(&fault));
        self.state.faults.add(fault);
        Ok(Response::new(pb::AddFaultResponse { fault: Some(shown) }))
    }

    async fn list_faults(
        &self,
        request: Request<pb::ListFaultsRequest>,
    ) -> Result<Response<pb::ListFaultsResponse>, Status> {
        let scope = self.scope(&request)?;
        let faults = self
            .state
            .faults
            .list(scope.org())
            .iter()
            .map(|fault| fault_to_pb(&fault_to_json(fault)))
            .collect();
        Ok(Response::new(pb::ListFaultsResponse { faults }))
    }

    async fn clear_faults(
        &self,
        request: Request<pb::ClearFaultsRequest>,
    ) -> Result<Response<pb::ClearFaultsResponse>, Status> {
        match self.scope(&request)?.org() {
            Some(org) => self.state.faults.clear_org(org),
            None => self.state.faults.clear(),
        }
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
        let wanted = request.get_ref();
        let method = (!wanted.method.is_empty())
            .then(|| wanted.method.parse())
            .transpose()
            .map_err(|e| Status::invalid_argument(format!("method: {e}")))?;
        let code = (!wanted.code.is_empty())
            .then(|| {
                code_from_name(&wanted.code).ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "code: {:?} is not a gRPC code; use one of {}",
                        wanted.code,
                        code_names()
                    ))
                })
            })
            .transpose()?;
        let calls = self
            .state
            .calls(&scope, &CallFilter { method, code })
            .into_iter()
            .map(|call| pb::Call {
                time: humantime::format_rfc3339_millis(call.time).to_string(),
                organization_id: call.org.as_str().to_owned(),
                protocol: call.protocol.as_str().to_owned(),
                method: call.method.name().to_owned(),
                resource: call.resource,
                code: code_name(call.code),
                latency_ms: call.latency_ms,
            })
            .collect();
        Ok(Response::new(pb::ListCallsResponse {
            calls,
            capacity: u32::try_from(JOURNAL_CAPACITY).unwrap_or(u32::MAX),
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
        let orgs = snapshot::import(&value, scope.org())
            .map_err(|e| Status::invalid_argument(format!("invalid snapshot: {e}")))?;
        let organizations = u32::try_from(orgs.len()).unwrap_or(u32::MAX);
        self.state.replace_state(&scope, orgs)?;
        Ok(Response::new(pb::PutStateResponse { organizations }))
    }
}
