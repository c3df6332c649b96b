//! JSON for every service the mock serves, by their descriptors: the JSON codec of the
//! protocols that frame messages in envelopes (`application/grpc+json`,
//! `application/grpc-web+json`, `application/connect+json`), and Connect unary calls of the
//! services that have no typed front door (health, the control service). Each JSON request
//! message is rewritten as protobuf for the gRPC services, and each answer back as canonical
//! proto3 JSON (defaults left out, as connect-go writes it).

use std::{future::Future, io::Read, sync::Arc};

use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body::Frame;
use http_body_util::BodyExt;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use tonic::{Code, Status};

use super::{connect_stream, error::connect_error, BoxError};

/// The flag of an envelope whose message is compressed.
const COMPRESSED: u8 = 0x01;
/// The flags of envelopes that end a stream rather than carry a message: Connect's
/// end-of-stream (0x02), gRPC-Web's trailers (0x80).
const NOT_A_MESSAGE: u8 = 0x02 | 0x80;

/// The descriptors of every service the mock serves, and of the messages they use.
#[derive(Debug)]
pub(crate) struct Descriptors {
    pool: DescriptorPool,
}

/// The request and response messages of one method.
struct Messages {
    input: MessageDescriptor,
    output: MessageDescriptor,
}

impl Descriptors {
    /// Reads encoded file descriptor sets; a file in several sets is read once.
    pub(crate) fn new(sets: &[&[u8]]) -> Result<Self, prost_reflect::DescriptorError> {
        let mut pool = DescriptorPool::new();
        for set in sets {
            pool.decode_file_descriptor_set(*set)?;
        }
        Ok(Self { pool })
    }

    /// The messages of the method at `path`, `/<package>.<Service>/<Method>`.
    fn messages(&self, path: &str) -> Result<Messages, Status> {
        let unknown = || Status::unimplemented(format!("unknown procedure {}", quoted(path)));
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .ok_or_else(unknown)?;
        let service = self.pool.get_service_by_name(service).ok_or_else(unknown)?;
        let method = service
            .methods()
            .find(|m| m.name() == method)
            .ok_or_else(unknown)?;
        Ok(Messages {
            input: method.input(),
            output: method.output(),
        })
    }
}

fn quoted(text: &str) -> String {
    crate::model::quoted(text).into_owned()
}

/// A JSON message as protobuf; unknown keys are skipped, as connect-go's default does not,
/// but as the REST front door of this mock does (with a warning there).
fn to_proto(descriptor: &MessageDescriptor, json: &[u8]) -> Result<Vec<u8>, Status> {
    if json.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let options = prost_reflect::DeserializeOptions::new().deny_unknown_fields(false);
    let message =
        DynamicMessage::deserialize_with_options(descriptor.clone(), &mut deserializer, &options)
            .and_then(|message| deserializer.end().map(|()| message))
            .map_err(|e| {
                Status::invalid_argument(format!(
                    "the request is not a valid {} in JSON: {e}",
                    descriptor.full_name()
                ))
            })?;
    Ok(prost::Message::encode_to_vec(&message))
}

/// A protobuf message as canonical JSON.
fn to_json(descriptor: &MessageDescriptor, bytes: &[u8]) -> Result<Vec<u8>, Status> {
    let message = DynamicMessage::decode(descriptor.clone(), bytes)
        .map_err(|e| Status::internal(format!("cannot read the service's answer: {e}")))?;
    let options = SerializeOptions::new().skip_default_fields(true);
    let mut json = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut json);
    message
        .serialize_with_options(&mut serializer, &options)
        .map_err(|e| Status::internal(format!("cannot write the answer as JSON: {e}")))?;
    Ok(json)
}

/// One envelope: flags, big-endian length, message.
fn put_envelope(out: &mut BytesMut, flags: u8, message: &[u8]) -> Result<(), Status> {
    let length = u32::try_from(message.len())
        .map_err(|_| Status::resource_exhausted("a message of over 4 GiB"))?;
    out.put_u8(flags);
    out.put_u32(length);
    out.put_slice(message);
    Ok(())
}

/// Takes the first complete envelope off `buffer`: its flags and message.
fn take_envelope(buffer: &mut BytesMut) -> Option<(u8, Bytes)> {
    let header = buffer.get(..5)?;
    let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    let end = usize::try_from(length).ok()?.checked_add(5)?;
    if buffer.len() < end {
        return None;
    }
    let flags = buffer.get_u8();
    buffer.advance(4);
    Some((flags, buffer.split_to(end - 5).freeze()))
}

/// Inflates a gzip message, refusing one that would exceed `limit` bytes.
fn inflate(message: &[u8], limit: usize) -> Result<Vec<u8>, Status> {
    let mut inflated = Vec::new();
    let budget = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(message)
        .take(budget)
        .read_to_end(&mut inflated)
        .map_err(|e| Status::invalid_argument(format!("the message is not valid gzip: {e}")))?;
    if inflated.len() > limit {
        return Err(super::body::too_large(limit));
    }
    Ok(inflated)
}

/// Rewrites the JSON messages of a request body as protobuf envelopes, uncompressed.
fn request_to_proto(
    body: Bytes,
    input: &MessageDescriptor,
    gzip: bool,
    limit: usize,
) -> Result<Bytes, Status> {
    let mut buffer = BytesMut::from(body);
    let mut out = BytesMut::with_capacity(buffer.len());
    while let Some((flags, message)) = take_envelope(&mut buffer) {
        let json = match flags & COMPRESSED != 0 {
            false => message.to_vec(),
            true if gzip => inflate(&message, limit)?,
            true => {
                return Err(Status::internal(
                    "a compressed message in a request that names no grpc-encoding",
                ))
            }
        };
        put_envelope(&mut out, flags & !COMPRESSED, &to_proto(input, &json)?)?;
    }
    if !buffer.is_empty() {
        return Err(Status::invalid_argument(
            "the request body ends inside an envelope",
        ));
    }
    Ok(out.freeze())
}

/// Rewrites the protobuf messages of an answer's body as JSON envelopes, as they arrive;
/// envelopes that end the stream, and trailers, pass unchanged.
fn answer_to_json(body: tonic::body::Body, output: MessageDescriptor) -> tonic::body::Body {
    let mut pending = BytesMut::new();
    let body = body.map_frame(move |frame| {
        let data = match frame.into_data() {
            Ok(data) => data,
            Err(trailers) => return trailers,
        };
        pending.extend_from_slice(&data);
        let mut out = BytesMut::new();
        while let Some((flags, message)) = take_envelope(&mut pending) {
            let rewritten = match flags & NOT_A_MESSAGE != 0 {
                true => put_envelope(&mut out, flags, &message),
                false => {
                    to_json(&output, &message).and_then(|json| put_envelope(&mut out, flags, &json))
                }
            };
            if let Err(status) = rewritten {
                tracing::warn!(%status, "cannot rewrite an answer as JSON");
            }
        }
        Frame::data(out.freeze())
    });
    tonic::body::Body::new(body)
}

/// The codec a request's content type names: JSON for `+json`.
pub(crate) fn is_json(content_type: &[u8]) -> bool {
    content_type.ends_with(b"+json") || content_type.windows(6).any(|w| w == b"+json;")
}

/// A call of a protocol that frames messages in envelopes, with the JSON codec: the request's
/// messages are rewritten as protobuf and its content type as `proto_type`, `call` runs it,
/// and the answer's messages are rewritten as JSON under the request's own content type.
pub(crate) async fn json_envelopes<F, Fut>(
    descriptors: Arc<Descriptors>,
    request: Request<tonic::body::Body>,
    proto_type: &'static str,
    limit: usize,
    call: F,
) -> Result<Response<tonic::body::Body>, BoxError>
where
    F: FnOnce(Request<tonic::body::Body>) -> Fut,
    Fut: Future<Output = Result<Response<tonic::body::Body>, BoxError>>,
{
    let (mut parts, body) = request.into_parts();
    let json_type = parts.headers.get(header::CONTENT_TYPE).cloned();
    let encoding = ["grpc-encoding", "connect-content-encoding"]
        .iter()
        .find_map(|name| parts.headers.remove(*name));
    let gzip = encoding.as_ref().is_some_and(|e| e.as_bytes() == b"gzip");
    let refused = |status: Status| Ok(status_answer(&status, proto_type));
    let messages = match descriptors.messages(parts.uri.path()) {
        Ok(messages) => messages,
        Err(status) => return refused(status),
    };
    let body = match super::body::read_limited(body, limit).await {
        Ok(body) => body,
        Err(status) => return refused(status),
    };
    let body = match request_to_proto(body, &messages.input, gzip, limit) {
        Ok(body) => body,
        Err(status) => return refused(status),
    };
    for name in ["grpc-accept-encoding", "connect-accept-encoding"] {
        // Answers come uncompressed, to be rewritten.
        parts.headers.remove(name);
    }
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(proto_type));
    parts.headers.remove(header::CONTENT_LENGTH);
    let request = Request::from_parts(
        parts,
        tonic::body::Body::new(http_body_util::Full::new(body)),
    );
    let response = call(request).await?;
    let (mut parts, body) = response.into_parts();
    if let Some(json_type) = json_type {
        parts.headers.insert(header::CONTENT_TYPE, json_type);
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok(Response::from_parts(
        parts,
        answer_to_json(body, messages.output),
    ))
}

/// A status as the answer of a protocol of `proto_type`: a Connect stream's end of stream,
/// or gRPC's (and gRPC-Web's) trailers-only answer.
fn status_answer(status: &Status, proto_type: &str) -> Response<tonic::body::Body> {
    let grpc = status.clone().into_http::<tonic::body::Body>();
    if proto_type.starts_with("application/connect") {
        return connect_stream::from_grpc(grpc);
    }
    grpc
}

/// A Connect unary call (`application/json` or `application/proto`) of a service without a
/// typed front door, run by `call` as the gRPC call it is.
pub(crate) async fn connect_unary<F, Fut>(
    descriptors: Arc<Descriptors>,
    request: Request<tonic::body::Body>,
    limit: usize,
    call: F,
) -> Result<Response<tonic::body::Body>, BoxError>
where
    F: FnOnce(Request<tonic::body::Body>) -> Fut,
    Fut: Future<Output = Result<Response<tonic::body::Body>, BoxError>>,
{
    let answer = |response: axum::response::Response| Ok(response.map(tonic::body::Body::new));
    let (mut parts, body) = request.into_parts();
    let json = match super::body::media_type(&parts.headers).as_deref() {
        Some("application/json") => true,
        Some("application/proto") => false,
        other => {
            return answer(connect_error(&Status::invalid_argument(format!(
                "unsupported content type {:?}: Connect unary calls use application/json or application/proto",
                other.unwrap_or("")
            ))))
        }
    };
    let messages = match descriptors.messages(parts.uri.path()) {
        Ok(messages) => messages,
        Err(status) => return answer(connect_error(&status)),
    };
    let encoding = parts.headers.get(header::CONTENT_ENCODING).cloned();
    let message = super::body::read_limited(body, limit)
        .await
        .and_then(|body| {
            let body = match encoding.as_ref().map(HeaderValue::as_bytes) {
                None | Some(b"identity") => body.to_vec(),
                Some(b"gzip") => inflate(&body, limit)?,
                Some(other) => {
                    let other = String::from_utf8_lossy(other);
                    return Err(super::body::unsupported_encoding(&other));
                }
            };
            match json {
                true => to_proto(&messages.input, &body),
                false => Ok(body),
            }
        });
    let mut framed = BytesMut::new();
    if let Err(status) = message.and_then(|message| put_envelope(&mut framed, 0, &message)) {
        return answer(connect_error(&status));
    }
    let grpc_request = {
        let headers = &mut parts.headers;
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::CONTENT_ENCODING);
        Request::from_parts(
            parts,
            tonic::body::Body::new(http_body_util::Full::new(framed.freeze())),
        )
    };
    let grpc_request = connect_stream::to_grpc(grpc_request);
    let response = call(grpc_request).await?;
    let (parts, body) = response.into_parts();
    let collected = http_body_util::Limited::new(body, coreweave_api::rpc::MAX_RESPONSE_BYTES)
        .collect()
        .await;
    let collected = match collected {
        Ok(collected) => collected,
        Err(error) => {
            return answer(connect_error(&Status::internal(format!(
                "cannot read the service's answer: {error}"
            ))))
        }
    };
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let status = Status::from_header_map(&parts.headers)
        .or_else(|| Status::from_header_map(&trailers))
        .unwrap_or_else(|| Status::new(Code::Ok, ""));
    if status.code() != Code::Ok {
        return answer(connect_error(&status));
    }
    let mut body = BytesMut::from(collected.to_bytes());
    let Some((_, message)) = take_envelope(&mut body) else {
        return answer(connect_error(&Status::internal(
            "the service answered no message",
        )));
    };
    let (content_type, bytes) = match json {
        true => match to_json(&messages.output, &message) {
            Ok(bytes) => ("application/json", bytes),
            Err(status) => return answer(connect_error(&status)),
        },
        false => ("application/proto", message.to_vec()),
    };
    let mut response = Response::new(tonic::body::Body::new(http_body_util::Full::new(
        Bytes::from(bytes),
    )));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // CORS and other headers the service's layers added.
    for (name, value) in &parts.headers {
        if name.as_str().starts_with("access-control-") || name == header::VARY {
            headers.append(name, value.clone());
        }
    }
    Ok(response)
}
