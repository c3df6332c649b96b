//! What the journal keeps of each call beyond its method and code: the request (as its
//! protobuf encoding, shown as canonical proto3 JSON, cut to [`MAX_REQUEST_JSON_BYTES`]),
//! the warnings it was answered with, and for a refused call the error's message and field
//! violations. Secrets are replaced before anything is kept.
//!
//! A request is kept encoded, not as JSON, so that recording costs a call one allocation and
//! a copy: the JSON is written only when someone reads the journal.

use coreweave_api::json::{self, Output};
use prost::{Message, Name};
use serde_json::Value;
use tonic::Status;
use tonic_types::StatusExt;

/// The most bytes of canonical JSON a journal entry shows of its request; beyond it, long
/// strings and lists are cut (and the entry says `requestTruncated`).
pub const MAX_REQUEST_JSON_BYTES: usize = 16 * 1024;
/// What a secret reads as in the journal.
pub(crate) const REDACTED: &str = "<redacted>";
/// The most characters of an error message or a warning an entry keeps.
const MAX_TEXT_CHARS: usize = 1024;
/// The most field violations, and warnings, an entry keeps.
const MAX_LISTED: usize = 16;
/// The most characters of a violation's field or description an entry keeps.
const MAX_VIOLATION_CHARS: usize = 256;

/// A request message as the journal sees it. The API's services implement it per request.
pub(crate) trait Journaled: Message + Name + Default + Sized + 'static {
    /// The resource's id, or its name on a create; none for lists.
    fn subject(&self) -> super::journal::Resource;

    /// The request with every secret replaced by [`REDACTED`], when it holds one.
    fn redacted(&self) -> Option<Self> {
        None
    }

    /// What the mock warns about the request though it answers it: paths of an update mask
    /// that change nothing, say.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A request as the journal keeps it.
#[derive(Clone)]
pub(crate) enum RecordedRequest {
    /// Encoded, with the function that writes it as JSON.
    Encoded {
        bytes: Box<[u8]>,
        render: fn(&[u8]) -> Value,
    },
    /// Too large to show whole: its JSON, already cut.
    Cut(Box<str>),
    /// A body that never became a request (not the request's JSON, say): as sent, as text,
    /// and whether it was cut.
    AsSent(Box<str>, bool),
}

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Encoded { bytes, .. } => write!(f, "Encoded({} bytes)", bytes.len()),
            Self::Cut(text) => write!(f, "Cut({} bytes)", text.len()),
            Self::AsSent(text, _) => write!(f, "AsSent({} bytes)", text.len()),
        }
    }
}

impl RecordedRequest {
    /// Keeps `request`, its secrets replaced.
    pub(crate) fn of<T: Journaled>(request: &T) -> Self {
        match request.redacted() {
            Some(redacted) => Self::encode(&redacted),
            None => Self::encode(request),
        }
    }

    fn encode<T: Journaled>(request: &T) -> Self {
        // Proto3 JSON is never shorter than the encoding, so a larger encoding is cut now,
        // once, rather than kept whole and cut at every read.
        if request.encoded_len() <= MAX_REQUEST_JSON_BYTES {
            return Self::Encoded {
                bytes: request.encode_to_vec().into_boxed_slice(),
                render: render_as::<T>,
            };
        }
        let value = json::to_value(request, Output::Canonical).unwrap_or(Value::Null);
        let (cut, _) = fit(value);
        Self::Cut(cut.to_string().into_boxed_str())
    }

    /// A body as sent, for a call refused before it became a request: as text (what is not
    /// UTF-8 replaced), cut to [`MAX_REQUEST_JSON_BYTES`].
    pub(crate) fn as_sent(body: &[u8]) -> Self {
        let cut = body.len() > MAX_REQUEST_JSON_BYTES;
        let kept = &body[..body.len().min(MAX_REQUEST_JSON_BYTES)];
        Self::AsSent(String::from_utf8_lossy(kept).into(), cut)
    }

    /// The bytes it holds.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Self::Encoded { bytes, .. } => bytes.len(),
            Self::Cut(text) | Self::AsSent(text, _) => text.len(),
        }
    }

    /// The request as canonical proto3 JSON, and whether it was cut to fit.
    pub(crate) fn to_json(&self) -> (Value, bool) {
        match self {
            Self::Encoded { bytes, render } => fit(render(bytes)),
            Self::Cut(text) => (serde_json::from_str(text).unwrap_or(Value::Null), true),
            Self::AsSent(text, cut) => (Value::String(text.to_string()), *cut),
        }
    }
}

/// The request in `bytes` as canonical JSON; `null` if it cannot be written (it was encoded
/// from a message of this type, so it always can).
fn render_as<T: Message + Name + Default>(bytes: &[u8]) -> Value {
    T::decode(bytes)
        .ok()
        .and_then(|message| json::to_value(&message, Output::Canonical).ok())
        .unwrap_or(Value::Null)
}

/// `value` if its JSON fits [`MAX_REQUEST_JSON_BYTES`]; otherwise `value` with its strings
/// and lists cut shorter and shorter until it does (or `{}`), and `true`.
fn fit(value: Value) -> (Value, bool) {
    if json_len(&value) <= MAX_REQUEST_JSON_BYTES {
        return (value, false);
    }
    // (characters per string, items per list)
    const CUTS: [(usize, usize); 4] = [(1024, 64), (256, 16), (64, 4), (16, 1)];
    for (chars, items) in CUTS {
        let mut cut = value.clone();
        shorten(&mut cut, chars, items);
        if json_len(&cut) <= MAX_REQUEST_JSON_BYTES {
            return (cut, true);
        }
    }
    (Value::Object(serde_json::Map::new()), true)
}

fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len())
}

fn shorten(value: &mut Value, chars: usize, items: usize) {
    match value {
        Value::String(text) => {
            if let std::borrow::Cow::Owned(cut) = coreweave_api::text::cut(text, chars) {
                *text = cut;
            }
        }
        Value::Array(list) => {
            list.truncate(items);
            list.iter_mut().for_each(|item| shorten(item, chars, items));
        }
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| shorten(item, chars, items)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// One field violation of a refused call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field's proto path, such as `vpc_prefixes[0].value`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

/// Why a call was refused: the error's message and its field violations, cut to bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) message: Box<str>,
    pub(crate) violations: Box<[Violation]>,
}

impl Refusal {
    pub(crate) fn of(status: &Status) -> Self {
        // Only INVALID_ARGUMENT carries a BadRequest; other codes' details are not decoded.
        let bad_request = match status.code() {
            tonic::Code::InvalidArgument => status.get_details_bad_request(),
            _ => None,
        };
        let violations = bad_request
            .map(|bad| {
                bad.field_violations
                    .iter()
                    .take(MAX_LISTED)
                    .map(|violation| Violation {
                        field: cut(&violation.field, MAX_VIOLATION_CHARS),
                        description: cut(&violation.description, MAX_VIOLATION_CHARS),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            message: cut(status.message(), MAX_TEXT_CHARS).into_boxed_str(),
            violations,
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.message.len()
            + self
                .violations
                .iter()
                .map(|v| v.field.capacity() + v.description.capacity() + 48)
                .sum::<usize>()
    }
}

/// The warnings an entry keeps: at most [`MAX_LISTED`], each cut.
pub(crate) fn kept_warnings(warnings: &[String]) -> Box<[Box<str>]> {
    warnings
        .iter()
        .take(MAX_LISTED)
        .map(|warning| cut(warning, MAX_TEXT_CHARS).into_boxed_str())
        .collect()
}

/// The response header (gRPC metadata) that carries each warning of a call.
pub(crate) const WARNING_HEADER: http::HeaderName = http::HeaderName::from_static("x-mock-warning");
/// The most characters of a warning a header carries.
const MAX_HEADER_CHARS: usize = 512;

/// Adds one `x-mock-warning` header per warning, as printable ASCII (anything else escaped
/// as Rust does, `\u{e9}`), cut to a bounded length.
pub(crate) fn warn(headers: &mut http::HeaderMap, warnings: &[String]) {
    for warning in warnings.iter().take(MAX_LISTED) {
        let mut shown = String::with_capacity(warning.len());
        for c in warning.chars().take(MAX_HEADER_CHARS) {
            match c {
                ' '..='~' => shown.push(c),
                other => shown.extend(other.escape_default()),
            }
        }
        if warning.chars().count() > MAX_HEADER_CHARS {
            shown.push_str("...");
        }
        if let Ok(value) = http::HeaderValue::from_str(&shown) {
            headers.append(WARNING_HEADER, value);
        }
    }
}

fn cut(text: &str, chars: usize) -> String {
    coreweave_api::text::cut(text, chars).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_large_value_is_cut_to_fit_and_says_so() {
        let small = json!({"name": "a"});
        assert_eq!(fit(small.clone()), (small, false));

        let names: Vec<String> = (0..2000).map(|i| format!("name-{i}")).collect();
        let (cut, truncated) = fit(json!({"name": "x".repeat(40_000), "zones": names}));
        assert!(truncated);
        assert!(json_len(&cut) <= MAX_REQUEST_JSON_BYTES);
        assert_eq!(cut["zones"][0], "name-0", "the first items stay");
        assert!(cut["name"].as_str().unwrap().ends_with('…'));
    }

    #[test]
    fn warning_headers_are_printable_and_bounded() {
        let mut headers = http::HeaderMap::new();
        let long = format!("caf\u{e9}\n {}", "k".repeat(1000));
        warn(&mut headers, &["first".to_owned(), long]);
        let values: Vec<&str> = headers
            .get_all(WARNING_HEADER)
            .iter()
            .map(|value| value.to_str().unwrap())
            .collect();
        assert_eq!(values[0], "first");
        assert!(values[1].starts_with("caf\\u{e9}\\n kkk"), "{}", values[1]);
        assert!(values[1].ends_with("k..."));
        assert!(values[1].len() < 600);
    }
}
