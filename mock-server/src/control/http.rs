//! The control API under `/_mock/v1/`, as JSON over HTTP, for people who run the binary: reset,
//! the clock, faults, forced gateway states and the request journal. A call with
//! `Authorization: Bearer T` acts on T's organization only; a call without one acts on the
//! whole server. Errors are the REST error body, with a message that names the problem.

use std::collections::HashMap;

use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post, MethodRouter},
    Json, Router,
};
use serde_json::{json, Value};
use tonic::Status;

use crate::protocol::{
    body::{read_limited, require_json},
    error::rest_error,
    method_not_allowed, Apis,
};
use crate::{
    control::{duration_field, string_field, CallQuery, FaultSpec, FaultView},
    control::{ClockView, Scope},
    model::lifecycle::ForcedGatewayState,
    persist::snapshot,
    pipeline::faults::code_name,
    pipeline::journal::JOURNAL_CAPACITY,
};

/// The largest control request body.
const MAX_CONTROL_BODY: usize = 64 * 1024;

/// One control route: its path, the methods it takes, what it does, and its handlers.
pub(crate) struct ControlRoute {
    /// The path, under `/_mock/v1/`.
    pub(crate) path: &'static str,
    /// The methods it takes, such as `GET, POST`.
    pub(crate) methods: &'static str,
    /// What it does, in one line.
    pub(crate) what: &'static str,
    handlers: fn() -> MethodRouter<Apis>,
}

/// Every control route, once: the router is made from it, and a 404 under `/_mock/` lists it.
pub(crate) const ROUTES: &[ControlRoute] = &[
    ControlRoute {
        path: "/_mock/v1/reset",
        methods: "POST",
        what: "delete every resource, fault and journal entry in scope, and reset its clock",
        handlers: || post(reset),
    },
    ControlRoute {
        path: "/_mock/v1/whoami",
        methods: "GET",
        what: "the bearer token's organization id",
        handlers: || get(whoami),
    },
    ControlRoute {
        path: "/_mock/v1/clock",
        methods: "GET",
        what: "now, as the scope sees it, and whether the clock is frozen",
        handlers: || get(clock),
    },
    ControlRoute {
        path: "/_mock/v1/clock/advance",
        methods: "POST",
        what: "move the scope's time forward: {\"by\": \"90s\"}",
        handlers: || post(advance),
    },
    ControlRoute {
        path: "/_mock/v1/faults",
        methods: "GET, POST, DELETE",
        what: "list, add or clear the scope's faults",
        handlers: || get(list_faults).post(add_fault).delete(clear_faults),
    },
    ControlRoute {
        path: "/_mock/v1/resources/{id}/status",
        methods: "POST",
        what: "force a gateway FAILED or ERROR, or hold a resource in its transition",
        handlers: || post(force_status),
    },
    ControlRoute {
        path: "/_mock/v1/calls",
        methods: "GET",
        what: "the scope's journal of calls, filtered by ?method= and ?code=",
        handlers: || get(calls),
    },
    ControlRoute {
        path: "/_mock/v1/state",
        methods: "GET, PUT",
        what: "a snapshot of the scope's state, or replace it with one",
        handlers: || get(get_state).put(put_state),
    },
];

/// The control routes, each answering a method it does not take with a JSON 405.
pub(crate) fn routes() -> Router<Apis> {
    ROUTES.iter().fold(Router::new(), |router, route| {
        router.route(route.path, (route.handlers)().fallback(method_not_allowed))
    })
}

/// The 404 for a path under `/_mock/`: the control routes there are, or that the control
/// API is off.
pub(crate) fn no_control_route(path: &str, enabled: bool) -> Response {
    let message = if enabled {
        let listed: Vec<String> = ROUTES
            .iter()
            .map(|route| format!("{} {} ({})", route.methods, route.path, route.what))
            .collect();
        format!(
            "no control route {}; the control routes are: {}",
            crate::model::quoted(path),
            listed.join("; ")
        )
    } else {
        "the control API is off (--no-control)".to_owned()
    };
    rest_error(&Status::not_found(message))
}

/// The largest snapshot `PUT /_mock/v1/state` reads.
const MAX_SNAPSHOT_BYTES: usize = 64 * 1024 * 1024;

async fn get_state(State(apis): State<Apis>, headers: HeaderMap) -> Response {
    respond(scope(&apis, &headers).map(|scope| snapshot::export(&apis.state.store, scope.org())))
}

/// Replaces the state in scope with a snapshot, checked whole first: a bad snapshot is a 400
/// that names where it is wrong, and changes nothing.
async fn put_state(State(apis): State<Apis>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let scope = scope(&apis, &headers)?;
        let bytes = read_limited(body, MAX_SNAPSHOT_BYTES).await?;
        require_json(&headers, &bytes)?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Status::invalid_argument(format!("malformed JSON: {e}")))?;
        let count = apis.state.load_snapshot(&scope, &value)?;
        Ok(json!({"loaded": {"organizations": count}, "scope": scope_json(&scope)}))
    };
    respond(result.await)
}

/// The scope of a control call (see [`MockState::scope_of`](crate::pipeline::MockState)).
fn scope(apis: &Apis, headers: &HeaderMap) -> Result<Scope, Status> {
    apis.state.scope_of(headers)
}

fn scope_json(scope: &Scope) -> Value {
    match scope {
        Scope::All => json!("server"),
        Scope::Org(org) => json!({"organizationId": org.as_str()}),
    }
}

fn respond(result: Result<Value, Status>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(status) => rest_error(&status),
    }
}

/// Reads a JSON object body (sent as `application/json`) whose keys are among `keys`: an
/// unknown key is a 400 that names it, so that a typo (`"count"` for `"times"`) is not
/// silently ignored.
async fn object(
    headers: &HeaderMap,
    body: Body,
    keys: &[&str],
) -> Result<serde_json::Map<String, Value>, Status> {
    let bytes = read_limited(body, MAX_CONTROL_BODY).await?;
    require_json(headers, &bytes)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    let map = match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(Status::invalid_argument("the body must be a JSON object")),
        Err(e) => return Err(Status::invalid_argument(format!("malformed JSON: {e}"))),
    };
    if let Some(unknown) = map.keys().find(|key| !keys.contains(&key.as_str())) {
        return Err(Status::invalid_argument(format!(
            "unknown key {:?}: this call takes {}",
            crate::model::quoted(unknown),
            keys.join(", ")
        )));
    }
    Ok(map)
}

fn clock_json(view: ClockView) -> Value {
    json!({
        "now": humantime::format_rfc3339_nanos(view.now).to_string(),
        "frozen": view.frozen,
    })
}

async fn reset(State(apis): State<Apis>, headers: HeaderMap) -> Response {
    respond(scope(&apis, &headers).and_then(|scope| {
        apis.state.reset(&scope)?;
        Ok(json!({"reset": scope_json(&scope)}))
    }))
}

async fn whoami(State(apis): State<Apis>, headers: HeaderMap) -> Response {
    respond(scope(&apis, &headers).and_then(|scope| match scope {
        Scope::Org(org) => Ok(json!({"organizationId": org.as_str()})),
        Scope::All => Err(Status::unauthenticated(
            "whoami needs `Authorization: Bearer <token>`",
        )),
    }))
}

async fn clock(State(apis): State<Apis>, headers: HeaderMap) -> Response {
    respond(scope(&apis, &headers).map(|scope| clock_json(apis.state.clock_view(&scope))))
}

async fn advance(State(apis): State<Apis>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let scope = scope(&apis, &headers)?;
        let body = object(&headers, body, &["by"]).await?;
        let by = duration_field(&body, "by")?
            .ok_or_else(|| Status::invalid_argument("by: required, such as {\"by\": \"90s\"}"))?;
        Ok(clock_json(apis.state.advance_clock(&scope, by)?))
    };
    respond(result.await)
}

async fn add_fault(State(apis): State<Apis>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let scope = scope(&apis, &headers)?;
        let keys = ["method", "kind", "code", "times", "delay", "message"];
        let body = object(&headers, body, &keys).await?;
        let view = apis.state.add_fault(&scope, fault_spec(&body)?)?;
        Ok(json!({"fault": fault_json(&view)}))
    };
    respond(result.await)
}

async fn list_faults(State(apis): State<Apis>, headers: HeaderMap) -> Response {
    respond(scope(&apis, &headers).map(|scope| {
        let faults: Vec<Value> = apis
            .state
            .list_faults(&scope)
            .iter()
            .map(fault_json)
            .collect();
        json!({"faults": faults})
    }))
}

async fn clear_faults(State(apis): State<Apis>, headers: HeaderMap) -> Response {
    respond(scope(&apis, &headers).map(|scope| {
        apis.state.clear_faults(&scope);
        json!({"cleared": scope_json(&scope)})
    }))
}

async fn force_status(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let result = async {
        let scope = scope(&apis, &headers)?;
        let body = object(&headers, body, &["status", "message", "hold"]).await?;
        match body.get("hold") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(hold)) => {
                apis.state.hold(&scope, &id, *hold)?;
                return Ok(json!({"id": id, "held": hold}));
            }
            Some(other) => {
                return Err(Status::invalid_argument(format!(
                    "hold: expected true or false, got {other}"
                )))
            }
        }
        let name = string_field(&body, "status")?
            .unwrap_or_default()
            .to_owned();
        let message = string_field(&body, "message")?
            .unwrap_or("forced by the control API")
            .to_owned();
        let forced = ForcedGatewayState::parse(&name, &message)?;
        apis.state.force_status(&scope, &id, forced)?;
        Ok(json!({"id": id, "status": name, "message": message}))
    };
    respond(result.await)
}

async fn calls(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = (|| {
        let scope = scope(&apis, &headers)?;
        let page = apis.state.call_page(&scope, &call_query(&query)?)?;
        let calls: Vec<Value> = page.calls.iter().map(call_json).collect();
        Ok(json!({"calls": calls, "next": page.next, "capacity": JOURNAL_CAPACITY}))
    })();
    respond(result)
}

/// `?method=&code=&after=&limit=`; any other parameter is a 400 that names it.
fn call_query(query: &HashMap<String, String>) -> Result<CallQuery, Status> {
    const KEYS: [&str; 4] = ["method", "code", "after", "limit"];
    if let Some(unknown) = query.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(Status::invalid_argument(format!(
            "unknown query parameter {:?}: the journal takes {}",
            crate::model::quoted(unknown),
            KEYS.join(", ")
        )));
    }
    let number = |key: &str| {
        query
            .get(key)
            .map(|text| {
                text.parse::<u64>().map_err(|_| {
                    let shown = crate::model::quoted(text);
                    Status::invalid_argument(format!("{key}: {shown:?} is not a whole number"))
                })
            })
            .transpose()
    };
    Ok(CallQuery {
        method: query.get("method").cloned(),
        code: query.get("code").cloned(),
        after: number("after")?,
        limit: number("limit")?,
    })
}

/// A journal entry as JSON.
fn call_json(call: &crate::pipeline::journal::Call) -> Value {
    json!({
        "sequence": call.sequence,
        "time": humantime::format_rfc3339_millis(call.time).to_string(),
        "organizationId": call.org.as_str(),
        "protocol": call.protocol.as_str(),
        "method": call.method.name(),
        "resource": call.resource,
        "code": code_name(call.code),
        "latencyMs": call.latency_ms,
        "ignoredKeys": call.ignored_keys,
    })
}

/// A fault from `{"method", "kind", "code", "times", "delay", "message"}`.
fn fault_spec(body: &serde_json::Map<String, Value>) -> Result<FaultSpec, Status> {
    let text = |key: &str| string_field(body, key).map(|value| value.map(str::to_owned));
    let times = match body.get("times") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    Status::invalid_argument(format!("times: expected a count, got {value}"))
                })?,
        ),
    };
    Ok(FaultSpec {
        method: text("method")?,
        kind: text("kind")?,
        code: text("code")?,
        times,
        delay: text("delay")?,
        message: text("message")?,
    })
}

/// A fault as JSON: `{"method", "kind", "remaining", "organizationId"}` and the kind's own
/// fields.
fn fault_json(view: &FaultView) -> Value {
    let mut json = json!({
        "method": view.method,
        "kind": view.kind,
        "remaining": view.remaining,
        "organizationId": view.organization_id,
    });
    let extra = [
        ("code", &view.code),
        ("message", &view.message),
        ("delay", &view.delay),
    ];
    for (key, value) in extra {
        if let Some(value) = value {
            json[key] = json!(value);
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_route_is_under_the_control_prefix() {
        for route in ROUTES {
            let prefix = crate::protocol::CONTROL_PATH_PREFIX;
            assert!(route.path.starts_with(prefix), "{}", route.path);
            assert!(
                !route.what.contains("; "),
                "the 404 separates routes with `; `"
            );
        }
    }
}
