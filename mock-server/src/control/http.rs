//! The control API under `/_mock/v1/`, as JSON over HTTP, for people who run the binary: reset,
//! the clock, faults, forced gateway states and the request journal. A call with
//! `Authorization: Bearer T` acts on T's organization only; a call without one acts on the
//! whole server. Errors are the REST error body, with a message that names the problem.

use std::collections::{BTreeMap, HashMap};

use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
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
    control::{ClockView, Count, Expectation, NearMiss, Scope},
    model::lifecycle::ForcedGatewayState,
    model::OrgId,
    persist::snapshot,
    pipeline::faults::code_name,
    pipeline::journal::{NoStream, JOURNAL_CAPACITY},
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

/// Every control route, once: the router is made from it, `GET /_mock/v1/` and a 404 under
/// `/_mock/` list it, and the crate's documentation is checked against it.
pub(crate) const ROUTES: &[ControlRoute] = &[
    ControlRoute {
        path: "/_mock/v1/",
        methods: "GET",
        what: "this list of the control routes, and where the dashboard is",
        handlers: || get(|| async { index() }),
    },
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
        path: "/_mock/v1/calls/stream",
        methods: "GET",
        what: "the scope's calls as they are made, as server-sent events (`call`, and `lagged` when some were missed), filtered by ?method= and ?code=",
        handlers: || get(call_stream),
    },
    ControlRoute {
        path: "/_mock/v1/verify",
        methods: "POST",
        what: "check that calls like {\"method\", \"request\", \"code\", \"count\"} were made: 200, or 417 with the near misses",
        handlers: || post(verify),
    },
    ControlRoute {
        path: "/_mock/v1/overview",
        methods: "GET",
        what: "each organization in scope with its VPCs and gateways as a read shows them (held and forced marked), its clock and its faults",
        handlers: || get(overview),
    },
    ControlRoute {
        path: "/_mock/v1/state",
        methods: "GET, PUT",
        what: "a snapshot of the scope's state, or replace it with one",
        handlers: || get(get_state).put(put_state),
    },
];

/// The control routes, each answering a method it does not take with a JSON 405, and the
/// dashboard.
pub(crate) fn routes() -> Router<Apis> {
    let routes = ROUTES.iter().fold(Router::new(), |router, route| {
        router.route(route.path, (route.handlers)().fallback(method_not_allowed))
    });
    routes.merge(super::dashboard::routes())
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

/// `GET /_mock/v1/`: every control route with what it does.
fn index() -> Response {
    let routes: Vec<Value> = ROUTES
        .iter()
        .map(|route| json!({"path": route.path, "methods": route.methods, "description": route.what}))
        .collect();
    Json(json!({
        "routes": routes,
        "dashboard": super::dashboard::PATH,
        "grpcService": "coreweave.mock.v1.ControlService",
        "scope": "send `Authorization: Bearer <token>` to act on that token's organization, or the admin token (or, without --token, `x-mock-scope: server`) for the whole server",
    }))
    .into_response()
}

/// `GET /_mock/v1/overview`: each organization in scope (one with resources, faults or
/// calls) with its resources, clock and faults, and the faults of every organization.
async fn overview(State(apis): State<Apis>, headers: HeaderMap) -> Response {
    respond(scope(&apis, &headers).map(|scope| {
        let state = &apis.state;
        let faults = state.list_faults(&scope);
        let mut known = match scope.org() {
            Some(org) => vec![org.clone()],
            None => state.journal.orgs(),
        };
        known.extend(
            faults
                .iter()
                .filter_map(|fault| fault.organization_id.as_deref())
                .filter_map(OrgId::parse),
        );
        let mut orgs: BTreeMap<OrgId, Value> = known
            .into_iter()
            .map(|org| {
                let empty = json!({"organizationId": org.as_str(), "vpcs": [], "gateways": []});
                (org, empty)
            })
            .collect();
        orgs.extend(crate::api::overview::resources(state, scope.org()));
        for (org, shown) in &mut orgs {
            shown["clock"] = clock_json(state.clock_view(&Scope::Org(org.clone())));
            let own: Vec<Value> = faults
                .iter()
                .filter(|fault| fault.organization_id.as_deref() == Some(org.as_str()))
                .map(fault_json)
                .collect();
            shown["faults"] = Value::from(own);
        }
        let everyone: Vec<Value> = faults
            .iter()
            .filter(|fault| fault.organization_id.is_none())
            .map(fault_json)
            .collect();
        json!({
            "scope": scope_json(&scope),
            "clock": clock_json(state.clock_view(&scope)),
            "organizations": orgs.into_values().collect::<Vec<_>>(),
            "faults": everyone,
        })
    }))
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

/// The scope's calls as they are made, as server-sent events: `call` with the call's JSON
/// (its sequence number as the event's id), or `lagged` with how many calls the stream
/// missed by falling behind. The stream ends when the mock stops.
async fn call_stream(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use tokio::sync::broadcast::error::RecvError;
    let opened = (|| {
        let scope = scope(&apis, &headers)?;
        let query = call_query(&query)?;
        if query.after.is_some() || query.limit.is_some() {
            return Err(Status::invalid_argument(
                "the stream takes only method and code; page through GET /_mock/v1/calls for earlier calls",
            ));
        }
        let filter = query.filter()?;
        let receiver = apis.state.journal.subscribe().map_err(|e| match e {
            NoStream::TooMany => Status::resource_exhausted(e.to_string()),
            NoStream::Stopping => Status::unavailable(e.to_string()),
        })?;
        Ok((scope, filter, receiver))
    })();
    let (scope, filter, receiver) = match opened {
        Ok(opened) => opened,
        Err(status) => return rest_error(&status),
    };
    let events = futures_util::stream::unfold(receiver, move |mut receiver| {
        let (scope, filter) = (scope.clone(), filter.clone());
        async move {
            loop {
                let event = match receiver.recv().await {
                    Ok((org, entry)) => {
                        let wanted = scope.org().is_none_or(|mine| *mine == org);
                        if !wanted || !filter.keeps(&entry) {
                            continue;
                        }
                        let call = entry.to_call(&org);
                        Event::default()
                            .event("call")
                            .id(call.sequence.to_string())
                            .data(call_json(&call).to_string())
                    }
                    Err(RecvError::Lagged(missed)) => Event::default()
                        .event("lagged")
                        .data(json!({"missed": missed}).to_string()),
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok::<_, std::convert::Infallible>(event), receiver));
            }
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Checks an expectation against the journal: 200 `{"ok": true, "matched": n}`, or 417 with
/// the near misses and a one-line message.
async fn verify(State(apis): State<Apis>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let scope = scope(&apis, &headers)?;
        let body = object(&headers, body, &["method", "request", "code", "count"]).await?;
        let method = string_field(&body, "method")?.ok_or_else(|| {
            Status::invalid_argument("method: required, such as {\"method\": \"CreateVPC\"}")
        })?;
        let count = body.get("count").map(count_of).transpose()?;
        let request = body.get("request").cloned();
        let expected = Expectation::parse(method, request, string_field(&body, "code")?, count)?;
        Ok((apis.state.verify(&scope, &expected), expected))
    };
    match result.await {
        Err(status) => rest_error(&status),
        Ok((Ok(matched), _)) => Json(json!({"ok": true, "matched": matched})).into_response(),
        Ok((Err(failed), expected)) => {
            let misses: Vec<Value> = failed.near_misses.iter().map(near_miss_json).collect();
            let body = json!({
                "ok": false,
                "matched": failed.matched,
                "expected": expected.to_json(),
                "nearMisses": misses,
                "message": failed.message,
            });
            (StatusCode::EXPECTATION_FAILED, Json(body)).into_response()
        }
    }
}

/// A count: a number (exactly), or `{"atLeast": n}` or `{"atMost": n}`.
fn count_of(value: &Value) -> Result<Count, Status> {
    let number = |value: &Value| value.as_u64().and_then(|n| u32::try_from(n).ok());
    let count = match value {
        Value::Object(map) if map.len() == 1 => match map.iter().next() {
            Some((key, n)) if key == "atLeast" => number(n).map(Count::AtLeast),
            Some((key, n)) if key == "atMost" => number(n).map(Count::AtMost),
            _ => None,
        },
        other => number(other).map(Count::Exactly),
    };
    count.ok_or_else(|| {
        Status::invalid_argument(format!(
            "count: expected a number, {{\"atLeast\": n}} or {{\"atMost\": n}}, got {value}"
        ))
    })
}

fn near_miss_json(miss: &NearMiss) -> Value {
    let differences: Vec<Value> = miss
        .differences
        .iter()
        .map(|d| json!({"path": d.path, "expected": d.expected, "actual": d.actual}))
        .collect();
    json!({"call": call_json(&miss.call), "differences": differences})
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
pub(crate) fn call_json(call: &crate::pipeline::journal::Call) -> Value {
    let violations: Vec<Value> = call
        .violations
        .iter()
        .map(|v| json!({"field": v.field, "description": v.description}))
        .collect();
    json!({
        "sequence": call.sequence,
        "time": humantime::format_rfc3339_millis(call.time).to_string(),
        "organizationId": call.org.as_str(),
        "protocol": call.protocol.as_str(),
        "method": call.method.name(),
        "resource": call.resource,
        "request": call.request,
        "requestTruncated": call.request_truncated,
        "code": code_name(call.code),
        "message": call.message,
        "violations": violations,
        "warnings": call.warnings,
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
    fn the_crate_docs_describe_every_control_route() {
        let docs = include_str!("../../docs/control-api.md");
        for route in ROUTES {
            let named = route.path.trim_start_matches("/_mock/v1");
            let listed = docs.lines().any(|line| {
                line.starts_with("| `") && line.contains(&format!("/_mock/v1{named}`"))
            });
            assert!(listed, "{} is not in docs/control-api.md", route.path);
        }
    }

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
