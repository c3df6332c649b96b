//! The REST mapping of spec sections 1 and 4: the documented paths, proto3 JSON bodies, and
//! errors as `{"code", "message", "details"}`. Every route calls the gRPC service itself, so
//! validation, state, lifecycle and auth are exactly those of gRPC.

use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    extract::{Path, RawQuery, State},
    http::HeaderMap,
    response::Response,
    routing::{MethodFilter, MethodRouter},
    Router,
};
use coreweave_api::{
    json::{self, ApiMessage, Output, Unknown},
    proto::snake_case_path,
    rpc::{HttpRule, Method},
};
use serde_json::{Map, Value};

use crate::pipeline::{journal::Protocol, Answer, MockState};
use prost::{Message, Name};
use tonic::Status;

use super::{
    body::{
        answer, json_error, off_the_workers, read_limited, reported, require_json, JsonRequest,
        RequestBody,
    },
    dispatch::{dispatch, Invoke, RequestMessage, ServiceCall},
    error::rest_error,
    method_not_allowed, Apis,
};

/// The REST routes, made from the RPC table's HTTP mapping: one route per path, one handler
/// per method on it, and a 405 naming the method for any other. A literal segment
/// (`/gateways/parameters`) wins over a parameter (`/gateways/{id}`).
pub(crate) fn routes() -> Router<Apis> {
    let mut by_path: Vec<(&'static str, MethodRouter<Apis>)> = Vec::new();
    for method in Method::ALL {
        let rule = method.http();
        let filter = match MethodFilter::try_from(rule.method.clone()) {
            Ok(filter) => filter,
            Err(_) => continue,
        };
        let handler = move |State(apis): State<Apis>,
                            id: Option<Path<String>>,
                            RawQuery(query): RawQuery,
                            headers: HeaderMap,
                            body: Body| async move {
            let parts = RestParts {
                id: id.map(|Path(id)| id),
                query,
                body,
            };
            call(&Arc::new(apis), method, headers, parts).await
        };
        match by_path.iter_mut().find(|(path, _)| *path == rule.path) {
            Some((_, route)) => *route = std::mem::take(route).on(filter, handler),
            None => by_path.push((rule.path, axum::routing::on(filter, handler))),
        }
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(path, route.fallback(method_not_allowed))
        })
}

/// The RPC and path id of a REST request, by the RPC table's HTTP mapping, for the direct
/// door ([`super::direct`]); `None` when the path is not plainly one of the API's (a
/// percent-encoded path, say), which the router then answers.
pub(crate) fn route_of(
    method: &axum::http::Method,
    path: &str,
) -> Option<(Method, Option<String>)> {
    /// The most segments an API path has.
    const MAX_SEGMENTS: usize = 8;
    if path.contains('%') {
        return None;
    }
    let mut segments = [""; MAX_SEGMENTS];
    let mut count = 0;
    for segment in path.split('/') {
        *segments.get_mut(count)? = segment;
        count += 1;
    }
    let segments = &segments[..count];
    let mut found: Option<(Method, Option<&str>)> = None;
    for route in rest_routes() {
        if route.verb != *method || route.segments.len() != segments.len() {
            continue;
        }
        let mut id = None;
        let matched = route
            .segments
            .iter()
            .zip(segments)
            .all(|(template, segment)| {
                if *template == "{id}" && !segment.is_empty() {
                    id = Some(*segment);
                    true
                } else {
                    template == segment
                }
            });
        // A literal segment (`/gateways/parameters`) wins over a parameter.
        if matched && (found.is_none() || id.is_none()) {
            found = Some((route.rpc, id));
        }
    }
    found.map(|(rpc, id)| (rpc, id.map(str::to_owned)))
}

/// One RPC's REST route, its path cut into segments once.
struct RestRoute {
    verb: axum::http::Method,
    segments: Vec<&'static str>,
    rpc: Method,
}

/// Every RPC's REST route, from the RPC table.
fn rest_routes() -> &'static [RestRoute] {
    static ROUTES: std::sync::OnceLock<Vec<RestRoute>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| {
        Method::ALL
            .into_iter()
            .map(|rpc| {
                let rule = rpc.http();
                RestRoute {
                    verb: rule.method,
                    segments: rule.path.split('/').collect(),
                    rpc,
                }
            })
            .collect()
    })
}

/// Runs a REST request of `rpc` whose path held `id`.
pub(crate) fn serve(
    apis: &Arc<Apis>,
    rpc: Method,
    id: Option<String>,
    request: axum::http::Request<impl RequestBody>,
) -> Answer<Response> {
    let (parts, body) = request.into_parts();
    let rest = RestParts {
        id,
        query: parts.uri.query().map(str::to_owned),
        body,
    };
    call(apis, rpc, parts.headers, rest)
}

/// What a REST request carries besides its headers: the path's id, the query and the body.
struct RestParts<B> {
    id: Option<String>,
    query: Option<String>,
    body: B,
}

/// Runs `method` for one REST request: at once when the rule takes no body, once the body
/// has arrived when it does.
fn call(
    apis: &Arc<Apis>,
    method: Method,
    headers: HeaderMap,
    parts: RestParts<impl RequestBody>,
) -> Answer<Response> {
    let rule = method.http();
    if !rule.body {
        let json = request_json(&rule, Bytes::new(), parts.id, parts.query.as_deref());
        return run(apis, method, headers, json);
    }
    let apis = Arc::clone(apis);
    Answer::later(async move {
        let body = read_limited(parts.body, apis.max_body_bytes).await;
        let json = body
            .and_then(|bytes| require_json(&headers, &bytes).map(|()| bytes))
            .and_then(|bytes| request_json(&rule, bytes, parts.id, parts.query.as_deref()));
        run(&apis, method, headers, json).await
    })
}

/// Runs `method` for a REST request read as `json`, or answers why it could not be read.
fn run(
    apis: &Apis,
    method: Method,
    headers: HeaderMap,
    json: Result<RequestJson, Status>,
) -> Answer<Response> {
    let json = match json {
        Ok(json) => json,
        Err(status) => {
            apis.state
                .journal_refused(method, Protocol::Rest, &headers, &[], &status);
            return Answer::Now(rest_error(&status));
        }
    };
    let invoke = RestCall {
        headers,
        json,
        unknown: apis.unknown_keys,
        method,
        state: Arc::clone(&apis.state),
    };
    dispatch(apis, method, invoke)
}

/// The parts of a REST request that make its message: the body (empty when the rule has
/// none), the path's id, and the query parameters the rule binds.
fn request_json(
    rule: &HttpRule,
    body: Bytes,
    id: Option<String>,
    query: Option<&str>,
) -> Result<RequestJson, Status> {
    Ok(RequestJson {
        body,
        id,
        query: query_fields(rule, query)?,
    })
}

/// Puts the path's id into the request, refusing a body that names another.
fn with_path_id(object: &mut Map<String, Value>, path_id: &str) -> Result<(), Status> {
    match object.get("id") {
        Some(Value::String(body_id)) if !body_id.is_empty() && *body_id != path_id => {
            Err(Status::invalid_argument(format!(
                "the body's id {body_id:?} does not match the path's id {path_id:?}"
            )))
        }
        // An id of another type is the decoder's to name.
        Some(Value::Bool(_) | Value::Number(_) | Value::Array(_) | Value::Object(_)) => Ok(()),
        _ => {
            object.insert("id".to_owned(), Value::String(path_id.to_owned()));
            Ok(())
        }
    }
}

/// The query parameters, each one the rule binds (by its JSON name, or its proto name);
/// any other is refused.
fn query_fields(rule: &HttpRule, query: Option<&str>) -> Result<Vec<(String, String)>, Status> {
    let mut fields = Vec::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let bound = rule
            .query
            .iter()
            .find(|name| **name == key || snake_case_path(name) == key);
        let Some(name) = bound else {
            return Err(Status::invalid_argument(format!(
                "unknown query parameter {key:?}"
            )));
        };
        fields.push(((*name).to_owned(), value.into_owned()));
    }
    Ok(fields)
}

/// A REST request's parts, not yet decoded.
struct RequestJson {
    body: Bytes,
    id: Option<String>,
    /// Bound query parameters by JSON name, in the order sent; the last of a name wins.
    query: Vec<(String, String)>,
}

impl RequestJson {
    /// Decodes the request as one JSON object; a bad query parameter is named as one.
    fn decode<T: Message + Name + Default>(
        self,
        unknown: Unknown,
    ) -> Result<JsonRequest<T>, Status> {
        let decoded = if self.body.iter().all(u8::is_ascii_whitespace) {
            // No body (a GET or DELETE): the path's id and the query are the whole request.
            let id = self.id.as_deref().map(|id| ("id", id));
            let query = self.query.iter().map(|(key, text)| (&**key, &**text));
            json::from_string_members::<T>(id.into_iter().chain(query), unknown)
        } else {
            let mut body = super::bounded_json::from_slice(&self.body)
                .map_err(|e| super::bounded_json::read_error(&e))?;
            // A body that is not an object is the decoder's to name.
            if let Value::Object(object) = &mut body {
                if let Some(id) = &self.id {
                    with_path_id(object, id)?;
                }
                for (key, value) in &self.query {
                    object.insert(key.clone(), Value::String(value.clone()));
                }
            }
            json::from_value::<T>(body, unknown)
        };
        let decoded = decoded.map_err(|error| {
            let blamed = |(key, _): &&(String, String)| {
                error.field.as_deref() == Some(snake_case_path(key).as_str())
            };
            match self.query.iter().rev().find(blamed) {
                Some((key, text)) => Status::invalid_argument(format!(
                    "query parameter {key}: {text:?}: {}",
                    error.description
                )),
                None => json_error(&error),
            }
        })?;
        Ok(reported(decoded))
    }
}

/// One REST call: the request as JSON, decoded as the RPC's request type.
struct RestCall {
    headers: HeaderMap,
    json: RequestJson,
    unknown: Unknown,
    /// The RPC and the state, to journal a body that does not decode.
    method: Method,
    state: Arc<MockState>,
}

impl Invoke for RestCall {
    type Output = Response;

    /// Runs the call and renders its response as JSON with every field written (as the REST
    /// transcoders write it), or its error as the REST error body. The ignored keys of the
    /// request, if any, are named in the `x-mock-warning` header.
    fn invoke<Req: RequestMessage>(self, call: impl ServiceCall<Req>) -> Answer<Response> {
        let (json, unknown) = (self.json, self.unknown);
        let body = json.body.clone();
        let size = json.body.len();
        let (headers, state, method) = (self.headers, self.state, self.method);
        off_the_workers(size, move || json.decode::<Req>(unknown)).then(move |decoded| {
            answer(
                decoded,
                headers,
                Protocol::Rest,
                call,
                move |headers, status| {
                    state.journal_refused(method, Protocol::Rest, headers, &body, status);
                },
                |outcome| match outcome {
                    Ok(response) => json_ok(&response),
                    Err(status) => rest_error(&status),
                },
            )
        })
    }
}

/// A 200 response with the message's JSON, every field written.
fn json_ok<T: ApiMessage>(message: &T) -> Response {
    match json::to_vec(message, Output::EmitUnpopulated) {
        Ok(bytes) => super::body::ok_response("application/json", bytes),
        Err(e) => rest_error(&Status::internal(format!("cannot write the response: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use coreweave_api::{
        inference::v1alpha1::ListGatewaysRequest, networking::v1beta1::UpdateVpcRequest,
    };

    use super::*;

    #[test]
    fn the_direct_door_finds_every_rpc_by_its_rest_route() {
        let id = "0b6f6f43-3d6e-4c55-8f9c-0d5e2e2b8a11";
        for rpc in Method::ALL {
            let rule = rpc.http();
            let path = rule.path.replace("{id}", id);
            let expected_id = rule.path.contains("{id}").then(|| id.to_owned());
            assert_eq!(
                route_of(&rule.method, &path),
                Some((rpc, expected_id)),
                "{path}"
            );
        }
        let get = axum::http::Method::GET;
        let parameters = route_of(&get, "/v1alpha1/inference/gateways/parameters");
        assert_eq!(parameters, Some((Method::GetGatewayParameters, None)));
        for unplain in [
            "/v1beta1/networking/vpcs/",
            "/v1beta1/networking/vpcs/a%2Fb",
            "/v1beta1/networking/vpcs/a/b",
            "/nope",
            "/a/b/c/d/e/f/g/h/i/j",
        ] {
            assert_eq!(route_of(&get, unplain), None, "{unplain}");
        }
        let put = axum::http::Method::PUT;
        assert_eq!(route_of(&put, "/v1beta1/networking/vpcs"), None);
    }

    fn parts(body: &str, id: Option<&str>, query: &[(&str, &str)]) -> RequestJson {
        RequestJson {
            body: Bytes::from(body.to_owned()),
            id: id.map(str::to_owned),
            query: query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn the_path_id_fills_the_request_and_a_different_body_id_is_refused() {
        let decoded = parts(r#"{"vpcPrefixes": []}"#, Some("abc"), &[])
            .decode::<UpdateVpcRequest>(Unknown::Report)
            .unwrap();
        assert_eq!(decoded.message.id, "abc");
        let same = parts(r#"{"id": "abc"}"#, Some("abc"), &[]);
        assert!(same.decode::<UpdateVpcRequest>(Unknown::Report).is_ok());
        let status = parts(r#"{"id": "xyz"}"#, Some("abc"), &[])
            .decode::<UpdateVpcRequest>(Unknown::Report)
            .unwrap_err();
        assert!(status.message().contains("does not match the path's id"));
        let status = parts("[1]", Some("abc"), &[])
            .decode::<UpdateVpcRequest>(Unknown::Report)
            .unwrap_err();
        let message = status.message();
        assert!(message.contains("found an array"), "{message}");
    }

    #[test]
    fn query_parameters_bind_by_either_name_and_are_named_in_errors() {
        let rule = Method::ListGateways.http();
        let fields = query_fields(&rule, Some("updated_after=2020-01-01T00:00:00Z")).unwrap();
        assert_eq!(fields[0].0, "updatedAfter");
        let decoded = parts("", None, &[("updatedAfter", "2020-01-01T00:00:00Z")])
            .decode::<ListGatewaysRequest>(Unknown::Reject)
            .unwrap();
        assert!(decoded.message.updated_after.is_some());

        let status = parts("", None, &[("updatedAfter", "yesterday")])
            .decode::<ListGatewaysRequest>(Unknown::Reject)
            .unwrap_err();
        let message = status.message();
        assert!(
            message.starts_with("query parameter updatedAfter: \"yesterday\": ")
                && message.contains("expected an RFC 3339 timestamp"),
            "{message}"
        );
        let status = query_fields(&rule, Some("colour=red")).unwrap_err();
        assert_eq!(status.message(), "unknown query parameter \"colour\"");
        assert!(query_fields(&Method::ListVpcs.http(), Some("updatedAfter=x")).is_err());
    }
}
