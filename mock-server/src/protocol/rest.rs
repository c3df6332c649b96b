//! The REST mapping of spec sections 1 and 4: the documented paths, proto3 JSON bodies, and
//! errors as `{"code", "message", "details"}`. Every route calls the gRPC service itself, so
//! validation, state, lifecycle and auth are exactly those of gRPC.

use std::{collections::HashMap, future::Future};

use axum::{
    body::Body,
    extract::{Path, Query, State},
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use coreweave_api::json::{self, IgnoredKeys, Output, Unknown};

use crate::pipeline::journal::Protocol;
use coreweave_api::{
    inference::v1alpha1::{
        gateway_service_server::GatewayService, CreateGatewayRequest, DeleteGatewayRequest,
        GetGatewayParametersRequest, GetGatewayRequest, ListGatewaysRequest, UpdateGatewayRequest,
    },
    networking::v1beta1::{
        vpc_service_server::VpcService, CreateVpcRequest, DeleteVpcRequest, GetVpcRequest,
        ListVpCsRequest, UpdateVpcRequest,
    },
};
use prost::{Message, Name};
use tonic::Status;

use super::{
    body::{grpc_request, parse_json, read_limited, require_json, warn_ignored, JsonRequest},
    error::rest_error,
    method_not_allowed, Apis,
};

/// The REST routes. `/gateways/parameters` is a literal segment, so it wins over
/// `/gateways/{id}`.
pub(crate) fn routes() -> Router<Apis> {
    let not_allowed = || method_not_allowed;
    Router::new()
        .route(
            "/v1beta1/networking/vpcs",
            get(list_vpcs).post(create_vpc).fallback(not_allowed()),
        )
        .route(
            "/v1beta1/networking/vpcs/{id}",
            get(get_vpc)
                .patch(update_vpc)
                .delete(delete_vpc)
                .fallback(not_allowed()),
        )
        .route(
            "/v1alpha1/inference/gateways",
            get(list_gateways)
                .post(create_gateway)
                .fallback(not_allowed()),
        )
        .route(
            "/v1alpha1/inference/gateways/parameters",
            get(gateway_parameters).fallback(not_allowed()),
        )
        .route(
            "/v1alpha1/inference/gateways/{id}",
            get(get_gateway)
                .patch(update_gateway)
                .delete(delete_gateway)
                .fallback(not_allowed()),
        )
}

/// Runs one call and renders its response as JSON with every field written (as the REST
/// transcoders write it), or its error as the REST error body. The ignored keys of the
/// request, if any, are named in the `x-mock-warning` header.
async fn respond<Req, Resp, Fut>(
    headers: &HeaderMap,
    request: Result<JsonRequest<Req>, Status>,
    call: impl FnOnce(tonic::Request<Req>) -> Fut,
) -> Response
where
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
    Resp: Message + Name,
{
    let (outcome, ignored) = match request {
        Ok(request) => {
            let message = grpc_request(headers, request.message, Protocol::Rest, &request.ignored);
            (call(message).await, request.ignored)
        }
        Err(status) => (Err(status), IgnoredKeys::default()),
    };
    let mut response = match outcome {
        Ok(response) => json_ok(response.get_ref()),
        Err(status) => rest_error(&status),
    };
    warn_ignored(&mut response, &ignored);
    response
}

/// A 200 response with the message's JSON, every field written.
fn json_ok<T: Message + Name>(message: &T) -> Response {
    match json::to_vec(message, Output::EmitUnpopulated) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => rest_error(&Status::internal(format!("cannot write the response: {e}"))),
    }
}

/// A request that has no body.
fn bodiless<T>(message: T) -> Result<JsonRequest<T>, Status> {
    Ok(JsonRequest {
        message,
        ignored: IgnoredKeys::default(),
    })
}

/// Reads a JSON request body.
async fn json_body<T: Message + Name + Default + Send + 'static>(
    apis: &Apis,
    headers: &HeaderMap,
    body: Body,
) -> Result<JsonRequest<T>, Status> {
    let bytes = read_limited(body, apis.max_body_bytes).await?;
    require_json(headers, &bytes)?;
    parse_json(bytes, apis.unknown_keys).await
}

/// Puts the path's id into a request, refusing a body that names another.
fn with_path_id(body_id: &mut String, path_id: String) -> Result<(), Status> {
    if !body_id.is_empty() && *body_id != path_id {
        return Err(Status::invalid_argument(format!(
            "the body's id {body_id:?} does not match the path's id {path_id:?}"
        )));
    }
    *body_id = path_id;
    Ok(())
}

async fn create_vpc(State(apis): State<Apis>, headers: HeaderMap, body: Body) -> Response {
    let request = json_body::<CreateVpcRequest>(&apis, &headers, body).await;
    respond(&headers, request, |r| apis.vpcs.create_vpc(r)).await
}

async fn list_vpcs(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let request = no_query(&query).and_then(|()| bodiless(ListVpCsRequest {}));
    respond(&headers, request, |r| apis.vpcs.list_vp_cs(r)).await
}

async fn get_vpc(State(apis): State<Apis>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    respond(&headers, bodiless(GetVpcRequest { id }), |r| {
        apis.vpcs.get_vpc(r)
    })
    .await
}

async fn update_vpc(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let request = json_body::<UpdateVpcRequest>(&apis, &headers, body)
        .await
        .and_then(|mut request| with_path_id(&mut request.message.id, id).map(|()| request));
    respond(&headers, request, |r| apis.vpcs.update_vpc(r)).await
}

async fn delete_vpc(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(&headers, bodiless(DeleteVpcRequest { id }), |r| {
        apis.vpcs.delete_vpc(r)
    })
    .await
}

async fn create_gateway(State(apis): State<Apis>, headers: HeaderMap, body: Body) -> Response {
    let request = json_body::<CreateGatewayRequest>(&apis, &headers, body).await;
    respond(&headers, request, |r| apis.gateways.create_gateway(r)).await
}

async fn list_gateways(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let request = list_gateways_request(query).and_then(bodiless);
    respond(&headers, request, |r| apis.gateways.list_gateways(r)).await
}

/// Builds a list request from the `updatedAfter` (or `updated_after`) query parameter.
fn list_gateways_request(
    mut query: HashMap<String, String>,
) -> Result<ListGatewaysRequest, Status> {
    let value = query
        .remove("updatedAfter")
        .or_else(|| query.remove("updated_after"));
    no_query(&query)?;
    let Some(text) = value else {
        return Ok(ListGatewaysRequest::default());
    };
    let query = serde_json::json!({ "updatedAfter": text });
    json::from_value::<ListGatewaysRequest>(query, Unknown::Reject)
        .map(|decoded| decoded.message)
        .map_err(|_| {
            Status::invalid_argument(format!(
                "query parameter updatedAfter: {text:?} is not an RFC 3339 timestamp such as 2025-01-31T12:00:00Z"
            ))
        })
}

/// Refuses query parameters a route does not take.
fn no_query(query: &HashMap<String, String>) -> Result<(), Status> {
    match query.keys().next() {
        None => Ok(()),
        Some(key) => Err(Status::invalid_argument(format!(
            "unknown query parameter {key:?}"
        ))),
    }
}

async fn gateway_parameters(State(apis): State<Apis>, headers: HeaderMap) -> Response {
    respond(&headers, bodiless(GetGatewayParametersRequest {}), |r| {
        apis.gateways.get_gateway_parameters(r)
    })
    .await
}

async fn get_gateway(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(&headers, bodiless(GetGatewayRequest { id }), |r| {
        apis.gateways.get_gateway(r)
    })
    .await
}

async fn update_gateway(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let request = json_body::<UpdateGatewayRequest>(&apis, &headers, body)
        .await
        .and_then(|mut request| with_path_id(&mut request.message.id, id).map(|()| request));
    respond(&headers, request, |r| apis.gateways.update_gateway(r)).await
}

async fn delete_gateway(
    State(apis): State<Apis>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond(&headers, bodiless(DeleteGatewayRequest { id }), |r| {
        apis.gateways.delete_gateway(r)
    })
    .await
}
