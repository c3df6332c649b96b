//! Proto3 JSON for every message of the API, driven by the descriptors the crate was built
//! from (through [`prost_reflect`]).
//!
//! This is the one JSON path of the project: the mock's REST and Connect protocols and the
//! client's REST transport all read and write JSON here, parametrized by two choices:
//!
//! - [`Output`]: canonical proto3 JSON with defaults left out (connect-go's codec), or every
//!   field written as Go's `protojson` with `EmitUnpopulated` writes it (the REST transcoders).
//! - [`Unknown`]: what a reader does with keys and enum names it does not know.
//!
//! Errors name the field by its proto path (`vpc_prefixes[0].value`) and say what was
//! expected there. A message of the API ([`ApiMessage`]) is written by code generated at
//! build time from its descriptor (`typed`), about a twentieth of the general path's work;
//! other messages by walking their protobuf encoding with a plan made once per message type
//! (`write`), about a fifth; what neither handles takes the general path. All three write the
//! same bytes, which the tests check for every message.
//!
//! ```
//! use coreweave_api::json::{self, Output, Unknown};
//! use coreweave_api::networking::v1beta1::{CreateVpcRequest, Vpc};
//!
//! let body = br#"{"name": "my-vpc", "zone": "US-EAST-04A", "colour": "red", "dhcp": null}"#;
//! let decoded = json::from_slice::<CreateVpcRequest>(body, Unknown::Report)?;
//! assert_eq!(decoded.message.name, "my-vpc");
//! assert_eq!(decoded.ignored.keys, ["colour"]);
//!
//! let error = json::from_slice::<CreateVpcRequest>(br#"{"vpcPrefixes": [{"value": 7}]}"#, Unknown::Report)
//!     .unwrap_err();
//! assert_eq!(error.field.as_deref(), Some("vpc_prefixes[0].value"));
//!
//! let vpc = Vpc { name: "my-vpc".into(), ..Vpc::default() };
//! let all = json::to_value(&vpc, Output::EmitUnpopulated)?;
//! assert_eq!(all["ingress"], serde_json::Value::Null);
//! assert_eq!(all["vpcPrefixes"], serde_json::json!([]));
//! assert_eq!(all["status"], "STATUS_UNSPECIFIED");
//! let canonical = json::to_value(&vpc, Output::Canonical)?;
//! assert_eq!(canonical, serde_json::json!({"name": "my-vpc"}));
//! # Ok::<(), json::JsonError>(())
//! ```

mod plan;
mod read;
#[cfg(test)]
mod samples;
pub(crate) mod typed;
pub(crate) mod write;

use std::{fmt, sync::OnceLock};

use prost::{Message, Name};
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor,
    SerializeOptions,
};
use serde_json::Value;

/// The most ignored keys a [`Decoded`] lists by name; the rest are only counted.
pub const MAX_LISTED_KEYS: usize = 20;
/// The most characters of an ignored key's path that [`IgnoredKeys`] keeps; a longer one is
/// cut and ends with `…`.
pub const MAX_KEY_CHARS: usize = 64;

/// How JSON is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Canonical proto3 JSON: fields at their default are left out (connect-go's codec).
    Canonical,
    /// Every field present, as `protojson` with `EmitUnpopulated` writes it: scalars at their
    /// default, `[]` for empty lists, `null` for unset messages, enums by name including the
    /// zero name; an unset member of a oneof is left out.
    EmitUnpopulated,
}

/// What a reader does with JSON it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// An unknown key is an error that names it.
    Reject,
    /// Unknown keys are skipped and listed in [`Decoded::ignored`]; an unknown enum name is
    /// still an error. What the mock does by default, as the REST transcoders do.
    Report,
    /// Unknown keys are skipped and an unknown enum name reads as the zero value. What a
    /// client needs to read responses from a newer server.
    Tolerate,
}

/// A decoded message and the keys the reader skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    /// The message.
    pub message: T,
    /// The unknown keys that were skipped.
    pub ignored: IgnoredKeys,
}

/// Unknown keys a reader skipped: the first [`MAX_LISTED_KEYS`] by path, and how many in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoredKeys {
    /// The paths of the first keys, such as `host_prefixes[0].colour`, each cut to
    /// [`MAX_KEY_CHARS`].
    pub keys: Vec<String>,
    /// How many keys were skipped in all.
    pub total: usize,
}

impl IgnoredKeys {
    /// Whether no key was skipped.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn push(&mut self, path: String) {
        self.total += 1;
        if self.keys.len() < MAX_LISTED_KEYS {
            let kept = match crate::text::cut(&path, MAX_KEY_CHARS) {
                std::borrow::Cow::Borrowed(_) => path,
                std::borrow::Cow::Owned(cut) => cut,
            };
            self.keys.push(kept);
        }
    }
}

impl fmt::Display for IgnoredKeys {
    /// `a, b, c` or `a, b, c and 7 more`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.keys.join(", "))?;
        let unlisted = self.total - self.keys.len();
        if unlisted > 0 {
            write!(f, " and {unlisted} more")?;
        }
        Ok(())
    }
}

/// JSON that does not fit the message, or a message that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct JsonError {
    /// The field's proto path (`host_prefixes[1].ipam.prefix_length`), when one is to blame.
    pub field: Option<String>,
    /// What is wrong, and what was expected.
    pub description: String,
}

impl JsonError {
    fn new(field: Option<String>, description: impl Into<String>) -> Self {
        Self {
            field,
            description: description.into(),
        }
    }

    fn describe(&self) -> String {
        match &self.field {
            Some(field) => format!("{field}: {}", self.description),
            None => self.description.clone(),
        }
    }
}

/// Reads a message from JSON text. An empty (or all-whitespace) body is the empty message.
pub fn from_slice<T: Message + Name + Default>(
    bytes: &[u8],
    unknown: Unknown,
) -> Result<Decoded<T>, JsonError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Decoded {
            message: T::default(),
            ignored: IgnoredKeys::default(),
        });
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| JsonError::new(None, format!("malformed JSON: {e}")))?;
    from_value(value, unknown)
}

/// Reads a message from a parsed JSON value.
pub fn from_value<T: Message + Name + Default>(
    value: Value,
    unknown: Unknown,
) -> Result<Decoded<T>, JsonError> {
    let full_name = T::full_name();
    if let Ok(bytes) = read::read(pool()?, &full_name, &value) {
        if let Ok(message) = T::decode(bytes.as_slice()) {
            let ignored = IgnoredKeys::default();
            return Ok(Decoded { message, ignored });
        }
    }
    let (message, ignored) = decode_dynamic(&descriptor(&full_name)?, value, unknown)?;
    let message = message
        .transcode_to::<T>()
        .map_err(|e| JsonError::new(None, format!("cannot convert the message: {e}")))?;
    Ok(Decoded { message, ignored })
}

/// A message of the API: every message generated from this crate's protos, each with a JSON
/// writer generated from its descriptor. Sealed.
pub trait ApiMessage: Message + Name + typed::WriteJson {}

impl<T: Message + Name + typed::WriteJson> ApiMessage for T {}

/// Reads a message from an object of string members, such as a REST request's path and
/// query parameters: the message [`from_value`] reads from that object, the last of a key
/// winning.
///
/// ```
/// use coreweave_api::json::{self, Unknown};
/// use coreweave_api::networking::v1beta1::GetVpcRequest;
///
/// let read = json::from_string_members::<GetVpcRequest>([("id", "8c1b")], Unknown::Reject)?;
/// assert_eq!(read.message.id, "8c1b");
/// # Ok::<(), json::JsonError>(())
/// ```
pub fn from_string_members<'a, T: Message + Name + Default>(
    members: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    unknown: Unknown,
) -> Result<Decoded<T>, JsonError> {
    let full_name = T::full_name();
    if let Ok(bytes) = read::read_strings(pool()?, &full_name, members.clone()) {
        if let Ok(message) = T::decode(bytes.as_slice()) {
            let ignored = IgnoredKeys::default();
            return Ok(Decoded { message, ignored });
        }
    }
    let object = members
        .into_iter()
        .map(|(key, text)| (key.to_owned(), Value::String(text.to_owned())))
        .collect();
    from_value(Value::Object(object), unknown)
}

/// Writes a message as JSON text.
pub fn to_vec<T: ApiMessage>(message: &T, output: Output) -> Result<Vec<u8>, JsonError> {
    match typed::write(message, output) {
        Ok(written) => Ok(written),
        Err(write::Unhandled) => encode(&T::full_name(), message, output),
    }
}

/// Writes a message as a JSON value.
pub fn to_value<T: Message + Name>(message: &T, output: Output) -> Result<Value, JsonError> {
    to_value_as(&T::full_name(), message, output)
}

/// Writes a `google.rpc.Status` (an error with its details) as JSON: `{"code", "message",
/// "details": [{"@type": ..., ...}]}`.
pub fn status_to_value(
    status: &tonic_types::pb::Status,
    output: Output,
) -> Result<Value, JsonError> {
    to_value_as(STATUS, status, output)
}

/// Writes a `google.rpc.Status` as JSON text (see [`status_to_value`]).
pub fn status_to_vec(
    status: &tonic_types::pb::Status,
    output: Output,
) -> Result<Vec<u8>, JsonError> {
    encode(STATUS, status, output)
}

/// Reads a `google.rpc.Status` from JSON, skipping unknown keys and details of types this
/// crate does not know.
pub fn status_from_slice(bytes: &[u8]) -> Result<tonic_types::pb::Status, JsonError> {
    let mut value: Value = serde_json::from_slice(bytes)
        .map_err(|e| JsonError::new(None, format!("malformed JSON: {e}")))?;
    let pool = pool()?;
    if let Some(Value::Array(details)) = value.get_mut("details") {
        details.retain(|detail| {
            detail
                .get("@type")
                .and_then(Value::as_str)
                .and_then(|url| url.rsplit('/').next())
                .is_some_and(|name| pool.get_message_by_name(name).is_some())
        });
    }
    let (message, _) = decode_dynamic(&descriptor(STATUS)?, value, Unknown::Tolerate)?;
    message
        .transcode_to()
        .map_err(|e| JsonError::new(None, format!("cannot convert the status: {e}")))
}

const STATUS: &str = "google.rpc.Status";

/// The descriptors of this crate's protos and of the `google.rpc` error details, decoded once.
fn pool() -> Result<&'static DescriptorPool, JsonError> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut pool = DescriptorPool::decode(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .map_err(|e| e.to_string())?;
        pool.decode_file_descriptor_set(crate::FILE_DESCRIPTOR_SET)
            .map_err(|e| e.to_string())?;
        Ok(pool)
    })
    .as_ref()
    .map_err(|e| JsonError::new(None, format!("the built-in descriptors are invalid: {e}")))
}

fn descriptor(full_name: &str) -> Result<MessageDescriptor, JsonError> {
    pool()?
        .get_message_by_name(full_name)
        .ok_or_else(|| JsonError::new(None, format!("no descriptor for {full_name}")))
}

/// Writes `message` as JSON: by the fast walk of its encoding where it can (see [`write`]),
/// otherwise by the general path.
fn encode<T: Message>(full_name: &str, message: &T, output: Output) -> Result<Vec<u8>, JsonError> {
    if let Ok(written) = write::write(pool()?, full_name, &message.encode_to_vec(), output) {
        return Ok(written);
    }
    encode_in_general(full_name, message, output)
}

/// Writes `message` as JSON by way of a `DynamicMessage` and a `serde_json::Value`.
fn encode_in_general<T: Message>(
    full_name: &str,
    message: &T,
    output: Output,
) -> Result<Vec<u8>, JsonError> {
    let value = to_value_as(full_name, message, output)?;
    serde_json::to_vec(&value).map_err(|e| JsonError::new(None, e.to_string()))
}

fn to_value_as<T: Message>(
    full_name: &str,
    message: &T,
    output: Output,
) -> Result<Value, JsonError> {
    let descriptor = descriptor(full_name)?;
    let mut dynamic = DynamicMessage::new(descriptor.clone());
    dynamic
        .transcode_from(message)
        .map_err(|e| JsonError::new(None, format!("cannot convert the message: {e}")))?;
    let options = SerializeOptions::new().skip_default_fields(output == Output::Canonical);
    let mut value = dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|e| JsonError::new(None, format!("cannot write JSON: {e}")))?;
    if output == Output::EmitUnpopulated {
        fill_unset_messages(&descriptor, &mut value);
    }
    Ok(value)
}

/// Writes `null` for every unset message field that is not in a oneof, at every depth:
/// `prost-reflect` leaves them out even when it writes default scalars.
fn fill_unset_messages(descriptor: &MessageDescriptor, value: &mut Value) {
    if descriptor.full_name() == "google.protobuf.Any" {
        // An Any's fields are those of the message its `@type` names.
        let packed = value
            .get("@type")
            .and_then(Value::as_str)
            .and_then(|url| url.rsplit('/').next())
            .and_then(|name| descriptor.parent_pool().get_message_by_name(name));
        if let Some(packed) = packed {
            fill_unset_messages(&packed, value);
        }
        return;
    }
    let Value::Object(map) = value else { return };
    if is_well_known(descriptor) {
        return;
    }
    for field in descriptor.fields() {
        let Kind::Message(inner) = field.kind() else {
            continue;
        };
        match map.get_mut(field.json_name()) {
            Some(Value::Array(items)) => items
                .iter_mut()
                .for_each(|item| fill_unset_messages(&inner, item)),
            Some(item) if !field.is_map() => fill_unset_messages(&inner, item),
            Some(_) => {}
            None if field.containing_oneof().is_none() => {
                map.insert(field.json_name().to_owned(), Value::Null);
            }
            None => {}
        }
    }
}

/// Well-known types have a JSON form of their own (a Timestamp is a string).
fn is_well_known(descriptor: &MessageDescriptor) -> bool {
    descriptor.package_name() == "google.protobuf"
}

fn decode_dynamic(
    descriptor: &MessageDescriptor,
    mut value: Value,
    unknown: Unknown,
) -> Result<(DynamicMessage, IgnoredKeys), JsonError> {
    if !value.is_object() {
        return Err(JsonError::new(
            None,
            format!("expected a JSON object, found {}", json_type(&value)),
        ));
    }
    let mut ignored = IgnoredKeys::default();
    remove_unknown_keys(descriptor, &mut value, &mut String::new(), &mut ignored)?;
    if unknown == Unknown::Reject && !ignored.is_empty() {
        let field = ignored.keys.first().cloned();
        return Err(JsonError::new(field, format!("unknown field ({ignored})")));
    }
    let options = DeserializeOptions::new().deny_unknown_fields(unknown != Unknown::Tolerate);
    let mut track = serde_path_to_error::Track::new();
    let deserializer = serde_path_to_error::Deserializer::new(&value, &mut track);
    match DynamicMessage::deserialize_with_options(descriptor.clone(), deserializer, &options) {
        Ok(message) => Ok((message, ignored)),
        Err(error) => Err(located_error(descriptor, &track.path(), &error)),
    }
}

/// Removes the keys no field of the message knows, at every depth, recording their paths,
/// and refuses two members of one oneof in the same object.
fn remove_unknown_keys(
    descriptor: &MessageDescriptor,
    value: &mut Value,
    path: &mut String,
    ignored: &mut IgnoredKeys,
) -> Result<(), JsonError> {
    let Value::Object(map) = value else {
        return Ok(());
    };
    if is_well_known(descriptor) {
        return Ok(());
    }
    let unknown: Vec<String> = map
        .keys()
        .filter(|key| field_by_key(descriptor, key).is_none())
        .cloned()
        .collect();
    for key in unknown {
        map.remove(&key);
        ignored.push(join(path, &key));
    }
    one_member_per_oneof(descriptor, map, path)?;
    for (key, item) in map.iter_mut() {
        let Some(field) = field_by_key(descriptor, key) else {
            continue;
        };
        let Kind::Message(inner) = field.kind() else {
            continue;
        };
        let base = path.len();
        if base > 0 {
            path.push('.');
        }
        path.push_str(field.name());
        match item {
            Value::Array(items) if field.is_list() => {
                for (index, element) in items.iter_mut().enumerate() {
                    let before = path.len();
                    path.push_str(&format!("[{index}]"));
                    remove_unknown_keys(&inner, element, path, ignored)?;
                    path.truncate(before);
                }
            }
            _ if !field.is_map() => remove_unknown_keys(&inner, item, path, ignored)?,
            _ => {}
        }
        path.truncate(base);
    }
    Ok(())
}

/// Refuses an object that sets two members of one oneof (`null` does not count as set).
fn one_member_per_oneof(
    descriptor: &MessageDescriptor,
    map: &serde_json::Map<String, Value>,
    path: &str,
) -> Result<(), JsonError> {
    for oneof in descriptor.oneofs() {
        let set: Vec<String> = oneof
            .fields()
            .filter(|field| {
                [field.json_name(), field.name()]
                    .iter()
                    .any(|key| map.get(*key).is_some_and(|v| !v.is_null()))
            })
            .map(|field| field.name().to_owned())
            .collect();
        if let [first, second, ..] = set.as_slice() {
            return Err(JsonError::new(
                Some(join(path, second)),
                format!(
                    "{second} cannot be set together with {first}: they are members of oneof '{}'",
                    oneof.name()
                ),
            ));
        }
    }
    Ok(())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The field a JSON key names: its lowerCamelCase JSON name or its proto name.
fn field_by_key(descriptor: &MessageDescriptor, key: &str) -> Option<FieldDescriptor> {
    descriptor
        .get_field_by_json_name(key)
        .or_else(|| descriptor.get_field_by_name(key))
}

/// Turns a deserialization error into one that names the field by its proto path and says
/// what was expected there.
fn located_error(
    descriptor: &MessageDescriptor,
    path: &serde_path_to_error::Path,
    error: &serde_json::Error,
) -> JsonError {
    let mut proto_path = String::new();
    let mut message = Some(descriptor.clone());
    let mut last_field = None;
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => {
                proto_path.push_str(&format!("[{index}]"));
            }
            serde_path_to_error::Segment::Map { key } => {
                let field = message.as_ref().and_then(|m| field_by_key(m, key));
                let name = field.as_ref().map_or(key.as_str(), FieldDescriptor::name);
                if !proto_path.is_empty() {
                    proto_path.push('.');
                }
                proto_path.push_str(name);
                message = field.as_ref().and_then(|f| match f.kind() {
                    Kind::Message(inner) => Some(inner),
                    _ => None,
                });
                last_field = field;
            }
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    let mut description = error.to_string();
    if let Some(field) = &last_field {
        let element = proto_path.ends_with(']');
        let hint = format!("expected {}", expected(field, element));
        // serde's own message may say as much already ("invalid type: integer `5`, expected
        // a string"); say it once.
        if !description.ends_with(&hint) {
            description = format!("{description}; {hint}");
        }
    }
    JsonError::new((!proto_path.is_empty()).then_some(proto_path), description)
}

/// What JSON a field takes, in words, for error messages.
fn expected(field: &FieldDescriptor, element: bool) -> String {
    let one = match field.kind() {
        Kind::Double | Kind::Float => "a number".to_owned(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "a 32-bit integer".to_owned(),
        Kind::Uint32 | Kind::Fixed32 => "an unsigned 32-bit integer".to_owned(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => "a 64-bit integer".to_owned(),
        Kind::Uint64 | Kind::Fixed64 => "an unsigned 64-bit integer".to_owned(),
        Kind::Bool => "true or false".to_owned(),
        Kind::String => "a string".to_owned(),
        Kind::Bytes => "a base64 string".to_owned(),
        Kind::Message(message) => match message.full_name() {
            "google.protobuf.Timestamp" => {
                "an RFC 3339 timestamp string such as \"2025-01-31T12:00:00Z\"".to_owned()
            }
            "google.protobuf.FieldMask" => {
                "one comma-separated string of field paths such as \"vpcPrefixes,ingress\""
                    .to_owned()
            }
            _ => format!("an object ({})", message.name()),
        },
        Kind::Enum(values) => {
            let names: Vec<String> = values.values().map(|v| v.name().to_owned()).collect();
            format!("one of {}", names.join(", "))
        }
    };
    if field.is_list() && !element {
        format!("a list, each item {one}")
    } else {
        one
    }
}

/// The JSON type of a value, in words.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        inference::v1alpha1::{CreateGatewayRequest, ListGatewaysRequest},
        networking::v1beta1::{UpdateVpcRequest, Vpc},
        proto::Timestamp,
    };

    #[test]
    fn timestamps_are_rfc3339_in_utc() {
        let at = |seconds, nanos| ListGatewaysRequest {
            updated_after: Some(Timestamp { seconds, nanos }),
        };
        let json = to_value(&at(1_699_335_116, 0), Output::Canonical).unwrap();
        assert_eq!(json["updatedAfter"], "2023-11-07T05:31:56Z");
        let json = to_value(&at(1_699_335_116, 123_456_000), Output::Canonical).unwrap();
        assert_eq!(json["updatedAfter"], "2023-11-07T05:31:56.123456Z");

        let read = from_slice::<ListGatewaysRequest>(
            br#"{"updatedAfter": "2023-11-07T05:31:56.5+01:00"}"#,
            Unknown::Reject,
        )
        .unwrap();
        assert_eq!(read.message, at(1_699_331_516, 500_000_000));
        let error =
            from_slice::<ListGatewaysRequest>(br#"{"updatedAfter": "yesterday"}"#, Unknown::Reject)
                .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("updated_after"));
        assert!(error.description.contains("RFC 3339"), "{error}");
    }

    #[test]
    fn update_mask_is_one_camel_case_string() {
        let body = br#"{"updateMask": "vpcPrefixes,ingress.disablePublicServices"}"#;
        let read = from_slice::<UpdateVpcRequest>(body, Unknown::Reject).unwrap();
        let paths = &read.message.update_mask.as_ref().unwrap().paths;
        assert_eq!(paths, &["vpc_prefixes", "ingress.disable_public_services"]);
        let json = to_value(&read.message, Output::Canonical).unwrap();
        assert_eq!(
            json["updateMask"],
            "vpcPrefixes,ingress.disablePublicServices"
        );
    }

    #[test]
    fn unknown_keys_are_reported_rejected_or_tolerated() {
        let body = br#"{"name": "v", "colour": "red", "hostPrefixes": [{"name": "p", "size": 1}]}"#;
        let read =
            from_slice::<crate::networking::v1beta1::CreateVpcRequest>(body, Unknown::Report)
                .unwrap();
        assert_eq!(read.ignored.keys, ["colour", "host_prefixes[0].size"]);
        assert_eq!(read.message.host_prefixes[0].name, "p");

        let error =
            from_slice::<crate::networking::v1beta1::CreateVpcRequest>(body, Unknown::Reject)
                .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("colour"));
        assert!(
            error.description.contains("host_prefixes[0].size"),
            "{error}"
        );
    }

    #[test]
    fn ignored_keys_are_listed_up_to_a_bound_and_counted() {
        let keys: Vec<String> = (0..1000).map(|i| format!("\"k{i}\": {i}")).collect();
        let body = format!("{{{}}}", keys.join(","));
        let read = from_slice::<Vpc>(body.as_bytes(), Unknown::Report).unwrap();
        assert_eq!(read.ignored.total, 1000);
        assert_eq!(read.ignored.keys.len(), MAX_LISTED_KEYS);
        assert!(read.ignored.to_string().ends_with(" and 980 more"));

        let long = "k".repeat(10_000);
        let body = format!("{{\"{long}\": 1}}");
        let read = from_slice::<Vpc>(body.as_bytes(), Unknown::Report).unwrap();
        assert_eq!(read.ignored.keys[0].chars().count(), MAX_KEY_CHARS + 1);
        assert!(read.ignored.keys[0].ends_with('…'));
    }

    #[test]
    fn unknown_enum_names_are_errors_unless_tolerated() {
        let body = br#"{"status": "STATUS_SLEEPING", "name": "v"}"#;
        let error = from_slice::<Vpc>(body, Unknown::Report).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("status"));
        assert!(error.description.contains("STATUS_READY"), "{error}");
        let read = from_slice::<Vpc>(body, Unknown::Tolerate).unwrap();
        assert_eq!(read.message.status, 0);
        assert_eq!(read.message.name, "v");
    }

    #[test]
    fn null_reads_as_the_default() {
        let body = br#"{"name": null, "vpcPrefixes": null, "ingress": null, "status": null}"#;
        let read = from_slice::<Vpc>(body, Unknown::Reject).unwrap();
        assert_eq!(read.message, Vpc::default());
    }

    #[test]
    fn wrong_types_name_the_field_and_what_was_expected() {
        let cases: [(&[u8], &str, &str); 5] = [
            (br#"{"name": 5}"#, "name", "a string"),
            (
                br#"{"vpcPrefixes": [{"value": true}]}"#,
                "vpc_prefixes[0].value",
                "a string",
            ),
            (
                br#"{"hostPrefixes": [{"ipam": {"prefixLength": 4294967296}}]}"#,
                "host_prefixes[0].ipam.prefix_length",
                "a 32-bit integer",
            ),
            (br#"{"vpcPrefixes": {}}"#, "vpc_prefixes", "a list"),
            (br#"{"ingress": []}"#, "ingress", "an object"),
        ];
        for (body, field, expected) in cases {
            let error = from_slice::<Vpc>(body, Unknown::Report).unwrap_err();
            assert_eq!(error.field.as_deref(), Some(field), "{error}");
            assert!(error.description.contains(expected), "{error}");
        }
        let error = from_slice::<Vpc>(b"[1]", Unknown::Report).unwrap_err();
        assert_eq!(error.to_string(), "expected a JSON object, found an array");
        let error = from_slice::<Vpc>(br#"{"name": "x""#, Unknown::Report).unwrap_err();
        assert!(error.to_string().starts_with("malformed JSON"), "{error}");
    }

    #[test]
    fn two_members_of_one_oneof_are_an_error() {
        let body = br#"{"coreWeaveAuth": {}, "weightsAndBiasesAuth": {"apiKey": "k"}}"#;
        let error = from_slice::<CreateGatewayRequest>(body, Unknown::Report).unwrap_err();
        assert!(error.description.contains("oneof 'auth'"), "{error}");
        // null is not a member: it reads as unset.
        let body = br#"{"coreWeaveAuth": null, "weightsAndBiasesAuth": {"apiKey": "k"}}"#;
        assert!(from_slice::<CreateGatewayRequest>(body, Unknown::Report).is_ok());
    }
}
