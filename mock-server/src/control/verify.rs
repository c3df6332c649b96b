//! Verification: did the calls in scope include what a test expected? An [`Expectation`]
//! names a method, a partial request matched as a subset, an optional code and a count; when
//! it does not hold, the answer names the calls of that method that came closest and where
//! each differs, in one line a test framework can print as it is.

use std::fmt;

use coreweave_api::rpc::Method;
use serde_json::{Map, Value};
use tonic::Code;

use super::Scope;
use crate::pipeline::{
    faults::code_name,
    journal::{Call, CallFilter, Protocol},
    MockState,
};

/// The most near misses a failed verification names.
pub const MAX_NEAR_MISSES: usize = 3;
/// The most differences kept per near miss.
const MAX_DIFFERENCES: usize = 16;
/// The most characters of a JSON value quoted in a message.
const MAX_QUOTED_JSON: usize = 120;

/// How many calls an [`Expectation`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Exactly this many.
    Exactly(u32),
    /// At least this many.
    AtLeast(u32),
    /// At most this many.
    AtMost(u32),
}

impl Count {
    fn holds(self, matched: usize) -> bool {
        let matched = u64::try_from(matched).unwrap_or(u64::MAX);
        match self {
            Self::Exactly(n) => matched == u64::from(n),
            Self::AtLeast(n) => matched >= u64::from(n),
            Self::AtMost(n) => matched <= u64::from(n),
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exactly(n) => write!(f, "exactly {n}"),
            Self::AtLeast(n) => write!(f, "at least {n}"),
            Self::AtMost(n) => write!(f, "at most {n}"),
        }
    }
}

/// Calls a test expects: of one method, whose requests contain a partial request, that ended
/// with a code, so many times.
///
/// The partial request is JSON matched as a subset of each call's request (proto3 JSON, as
/// the journal shows it): keys it leaves out are not compared, a key may be spelled as in
/// JSON (`vpcPrefixes`) or in the proto (`vpc_prefixes`), lists compare element by element
/// and must be as long, and a field the call left at its default matches `null`, `false`,
/// `0`, `""`, `[]` or `{}`.
///
/// ```
/// use coreweave_mock::{Count, Expectation, Method};
///
/// let expected = Expectation::new(Method::CreateVpc)
///     .request(serde_json::json!({"name": "my-vpc"}))
///     .code(coreweave_mock::Code::Ok)
///     .count(Count::Exactly(1));
/// assert_eq!(expected.method(), Method::CreateVpc);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    method: Method,
    request: Value,
    code: Option<Code>,
    count: Count,
}

impl Expectation {
    /// Calls of `method`, with any request and code, at least once.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            request: Value::Object(Map::new()),
            code: None,
            count: Count::AtLeast(1),
        }
    }

    /// Only calls whose request contains `partial`.
    pub fn request(mut self, partial: Value) -> Self {
        self.request = partial;
        self
    }

    /// Only calls that ended with `code`.
    pub fn code(mut self, code: Code) -> Self {
        self.code = Some(code);
        self
    }

    /// How many calls must match.
    pub fn count(mut self, count: Count) -> Self {
        self.count = count;
        self
    }

    /// The method it is about.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The expectation as the HTTP control API takes it.
    pub fn to_json(&self) -> Value {
        let count = match self.count {
            Count::Exactly(n) => Value::from(n),
            Count::AtLeast(n) => serde_json::json!({"atLeast": n}),
            Count::AtMost(n) => serde_json::json!({"atMost": n}),
        };
        let mut json = serde_json::json!({
            "method": self.method.name(),
            "request": self.request,
            "count": count,
        });
        if let Some(code) = self.code {
            json["code"] = Value::from(code_name(code));
        }
        json
    }

    /// The differences between it and `call`; none when the call matches.
    fn differences(&self, call: &Call) -> Vec<Difference> {
        let mut found = Vec::new();
        compare(&self.request, Some(&call.request), "", &mut found);
        if let Some(code) = self.code.filter(|code| *code != call.code) {
            found.push(Difference {
                path: "code".to_owned(),
                expected: Value::from(code_name(code)),
                actual: Value::from(code_name(call.code)),
            });
        }
        found.truncate(MAX_DIFFERENCES);
        found
    }

    /// What it asks for, in words: `exactly 1 CreateVPC call with request {..} and code OK`.
    fn describe(&self) -> String {
        let n = match self.count {
            Count::Exactly(n) | Count::AtLeast(n) | Count::AtMost(n) => n,
        };
        let calls = if n == 1 { "call" } else { "calls" };
        let mut text = format!("{} {} {calls}", self.count, self.method.name());
        let everything = self.request.as_object().is_some_and(Map::is_empty);
        if !everything {
            text.push_str(&format!(" with request {}", quoted_json(&self.request)));
        }
        if let Some(code) = self.code {
            text.push_str(&format!(" and code {}", code_name(code)));
        }
        text
    }
}

/// Where a call differs from an expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The path in the request, such as `vpcPrefixes[0].value`, or `code`.
    pub path: String,
    /// What was expected there.
    pub expected: Value,
    /// What the call had there; `null` for nothing.
    pub actual: Value,
}

/// A call of the expected method that did not match, and where it differs.
#[derive(Debug, Clone, PartialEq)]
pub struct NearMiss {
    /// The call.
    pub call: Call,
    /// Where it differs (at most 16 differences).
    pub differences: Vec<Difference>,
}

/// An expectation that does not hold: how many calls matched, the near misses, and a
/// one-line message (its `Display`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct VerifyError {
    /// How many calls matched.
    pub matched: usize,
    /// Up to [`MAX_NEAR_MISSES`] calls of the method that came closest, closest first.
    pub near_misses: Vec<NearMiss>,
    /// What was expected and what was found, in one line.
    pub message: String,
}

impl Expectation {
    /// The expectation a control call asks for, by names: INVALID_ARGUMENT naming the part
    /// that is wrong.
    pub(crate) fn parse(
        method: &str,
        request: Option<Value>,
        code: Option<&str>,
        count: Option<Count>,
    ) -> Result<Self, tonic::Status> {
        use tonic::Status;
        let method: Method = method
            .parse()
            .map_err(|e| Status::invalid_argument(format!("method: {e}")))?;
        let mut expected = Self::new(method);
        match request {
            None | Some(Value::Null) => {}
            Some(object @ Value::Object(_)) => expected = expected.request(object),
            Some(other) => {
                return Err(Status::invalid_argument(format!(
                    "request: expected a JSON object (a partial request), got {}",
                    quoted_json(&other)
                )))
            }
        }
        if let Some(name) = code {
            let code = crate::pipeline::faults::code_from_name(name).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "code: {:?} is not a gRPC code; use one of {}",
                    crate::model::quoted(name),
                    crate::pipeline::faults::code_names()
                ))
            })?;
            expected = expected.code(code);
        }
        if let Some(count) = count {
            expected = expected.count(count);
        }
        Ok(expected)
    }
}

impl MockState {
    /// Checks `expected` against the calls in `scope`: how many matched, or why it fails.
    pub(crate) fn verify(
        &self,
        scope: &Scope,
        expected: &Expectation,
    ) -> Result<usize, VerifyError> {
        let filter = CallFilter {
            method: Some(expected.method),
            code: None,
        };
        let calls = self.calls(scope, &filter);
        let mut misses: Vec<NearMiss> = Vec::new();
        let mut matched = 0;
        for call in calls.iter().rev() {
            let differences = expected.differences(call);
            if differences.is_empty() {
                matched += 1;
            } else {
                misses.push(NearMiss {
                    call: call.clone(),
                    differences,
                });
            }
        }
        if expected.count.holds(matched) {
            return Ok(matched);
        }
        // Closest first; among equals, the newest (the calls were walked newest first).
        misses.sort_by_key(|miss| miss.differences.len());
        misses.truncate(MAX_NEAR_MISSES);
        let message = failure_message(expected, matched, calls.len(), &misses);
        Err(VerifyError {
            matched,
            near_misses: misses,
            message,
        })
    }
}

/// `expected exactly 1 CreateVPC call with request {...}, but 0 matched (of 2 CreateVPC
/// calls); closest: #7 (rest) differs at name: expected "a", got "b"`.
fn failure_message(
    expected: &Expectation,
    matched: usize,
    of: usize,
    misses: &[NearMiss],
) -> String {
    let name = expected.method.name();
    let mut message = format!(
        "expected {}, but {matched} matched (of {of} {name} call{} in scope)",
        expected.describe(),
        if of == 1 { "" } else { "s" }
    );
    if let Some(closest) = misses.first() {
        let differences: Vec<String> = closest
            .differences
            .iter()
            .take(MAX_NEAR_MISSES)
            .map(|d| {
                let path = if d.path.is_empty() {
                    "the request"
                } else {
                    &d.path
                };
                format!(
                    "{path}: expected {}, got {}",
                    quoted_json(&d.expected),
                    quoted_json(&d.actual)
                )
            })
            .collect();
        let more = closest.differences.len().saturating_sub(MAX_NEAR_MISSES);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        message.push_str(&format!(
            "; closest: #{} ({}) differs at {}{more}",
            closest.call.sequence,
            Protocol::as_str(closest.call.protocol),
            differences.join("; ")
        ));
    }
    message
}

fn quoted_json(value: &Value) -> String {
    coreweave_api::text::cut(&value.to_string(), MAX_QUOTED_JSON).into_owned()
}

/// Adds to `found` where `actual` (absent for `None`) fails to contain `expected`, at `path`.
fn compare(expected: &Value, actual: Option<&Value>, path: &str, found: &mut Vec<Difference>) {
    if found.len() >= MAX_DIFFERENCES {
        return;
    }
    match (expected, actual) {
        (Value::Object(wanted), None | Some(Value::Null)) if wanted.is_empty() => {}
        (Value::Object(wanted), Some(Value::Object(had))) => {
            for (key, value) in wanted {
                let inner = lookup(had, key);
                compare(value, inner, &join(path, key), found);
            }
        }
        (Value::Object(wanted), None) => {
            // An absent message is one whose every field is at its default.
            for (key, value) in wanted {
                compare(value, None, &join(path, key), found);
            }
        }
        (Value::Array(wanted), Some(Value::Array(had))) if wanted.len() == had.len() => {
            for (index, (value, inner)) in wanted.iter().zip(had).enumerate() {
                compare(value, Some(inner), &format!("{path}[{index}]"), found);
            }
        }
        (wanted, None) if is_default(wanted) => {}
        (wanted, Some(had)) if same(wanted, had) => {}
        (wanted, had) => found.push(Difference {
            path: path.to_owned(),
            expected: wanted.clone(),
            actual: had.cloned().unwrap_or(Value::Null),
        }),
    }
}

/// The member `key` names, by its JSON name or its proto name (`vpc_prefixes`).
fn lookup<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).or_else(|| {
        let camel = coreweave_api::proto::camel_case_path(key);
        (camel != key).then(|| object.get(&camel)).flatten()
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Whether `value` is what proto3 JSON leaves out: a field at its default.
fn is_default(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.values().all(is_default),
    }
}

/// Equal, counting a number and the string proto3 JSON writes 64-bit integers as (`"5"`) as
/// the same.
fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Number(a), Value::String(b)) | (Value::String(b), Value::Number(a)) => {
            b.parse::<f64>().ok() == a.as_f64()
        }
        (a, b) => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn differences(expected: Value, actual: Value) -> Vec<(String, Value, Value)> {
        let mut found = Vec::new();
        compare(&expected, Some(&actual), "", &mut found);
        found
            .into_iter()
            .map(|d| (d.path, d.expected, d.actual))
            .collect()
    }

    #[test]
    fn a_partial_request_matches_as_a_subset() {
        let actual = json!({
            "name": "a",
            "zone": "US-EAST-04A",
            "vpcPrefixes": [{"name": "p", "value": "10.0.0.0/16"}],
            "ingress": {"disablePublicServices": true},
        });
        assert!(differences(json!({}), actual.clone()).is_empty());
        assert!(differences(json!({"name": "a"}), actual.clone()).is_empty());
        let proto_names = json!({"vpc_prefixes": [{"value": "10.0.0.0/16"}]});
        assert!(differences(proto_names, actual.clone()).is_empty());
        // Defaults left out of proto3 JSON match their default.
        let defaults = json!({"egress": {"disablePublicAccess": false}, "hostPrefixes": []});
        assert!(differences(defaults, actual.clone()).is_empty());

        assert_eq!(
            differences(
                json!({"name": "b", "vpcPrefixes": [{"value": "10.1.0.0/16"}]}),
                actual.clone()
            ),
            vec![
                ("name".to_owned(), json!("b"), json!("a")),
                (
                    "vpcPrefixes[0].value".to_owned(),
                    json!("10.1.0.0/16"),
                    json!("10.0.0.0/16")
                ),
            ]
        );
        let longer = json!({"vpcPrefixes": [{}, {}]});
        assert_eq!(differences(longer, actual.clone())[0].0, "vpcPrefixes");
        let absent = json!({"dhcp": {"dns": {"servers": ["1.1.1.1"]}}});
        assert_eq!(
            differences(absent, actual),
            vec![(
                "dhcp.dns.servers".to_owned(),
                json!(["1.1.1.1"]),
                Value::Null
            )]
        );
    }

    #[test]
    fn counts_hold_or_not() {
        assert!(Count::AtLeast(1).holds(3) && !Count::AtLeast(1).holds(0));
        assert!(Count::Exactly(2).holds(2) && !Count::Exactly(2).holds(3));
        assert!(Count::AtMost(0).holds(0) && !Count::AtMost(0).holds(1));
    }
}
