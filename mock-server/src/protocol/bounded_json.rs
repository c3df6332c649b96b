//! JSON request bodies read with bounds that hold while parsing: a list longer than any the
//! API allows, or a body of more values than any legal request has, is refused as soon as the
//! parser reaches the excess, before it is built in memory. (Counting a list only after it
//! was built let a 3 MB body of a million empty objects take hundreds of megabytes.)

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The longest list any request may hold: far above the API's own limits (64 host prefixes,
/// 64 VPC prefixes, 64 zones), which the validation then names precisely.
pub(crate) const MAX_LIST_ITEMS: usize = 1024;
/// The most values one request body may hold, every key, list item and scalar counted: far
/// above the largest legal request (a VPC at every limit has under 10,000).
pub(crate) const MAX_VALUES: usize = 100_000;

/// A body that is not JSON, or past a bound, as INVALID_ARGUMENT saying which and where.
pub(crate) fn read_error(error: &serde_json::Error) -> tonic::Status {
    use tonic_types::{ErrorDetails, StatusExt};
    let description = match error.classify() {
        serde_json::error::Category::Data => error.to_string(),
        _ => format!("malformed JSON: {error}"),
    };
    // The problem is the body's, not a field's: the violation names the body.
    let details = ErrorDetails::with_bad_request_violation(BODY_FIELD, &description);
    tonic::Status::with_error_details(
        tonic::Code::InvalidArgument,
        format!("invalid JSON body: {description}"),
        details,
    )
}

/// The field a violation of the whole request body names.
pub(crate) const BODY_FIELD: &str = "body";

/// Reads a JSON body within the bounds above; an error says which bound and where.
pub(crate) fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let mut budget = MAX_VALUES;
    let value = Bounded {
        budget: &mut budget,
        path: &mut String::new(),
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// One value being read, with the budget of values left and its path for messages.
struct Bounded<'a> {
    budget: &'a mut usize,
    path: &'a mut String,
}

impl Bounded<'_> {
    fn spend<E: de::Error>(&mut self) -> Result<(), E> {
        match self.budget.checked_sub(1) {
            Some(left) => {
                *self.budget = left;
                Ok(())
            }
            None => Err(E::custom(format!(
                "the body holds more than {MAX_VALUES} values, more than any request has"
            ))),
        }
    }

    fn child(&mut self) -> Bounded<'_> {
        Bounded {
            budget: self.budget,
            path: self.path,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(mut self, value: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(mut self, value: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(mut self, value: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(mut self, value: f64) -> Result<Value, E> {
        self.spend()?;
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(mut self, value: &str) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(mut self, value: String) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(value))
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut items: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut list = Vec::new();
        while let Some(item) = items.next_element_seed(self.child())? {
            if list.len() == MAX_LIST_ITEMS {
                let at = if self.path.is_empty() {
                    "the body"
                } else {
                    self.path.as_str()
                };
                return Err(de::Error::custom(format!(
                    "{at}: a list of more than {MAX_LIST_ITEMS} items, more than any request has"
                )));
            }
            list.push(item);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut entries: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut map = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            self.spend()?;
            let parent = self.path.len();
            if parent > 0 {
                self.path.push('.');
            }
            self.path.push_str(&crate::model::quoted(&key));
            let value = entries.next_value_seed(self.child())?;
            self.path.truncate(parent);
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_json_reads() {
        let text = br#"{"a": [1, -2, 3.5, "x", null, true, {"b": []}], "c": {}}"#;
        let expected: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(from_slice(text).unwrap(), expected);
        assert!(from_slice(b"{} trailing").is_err());
    }

    #[test]
    fn a_list_past_the_bound_is_refused_while_reading() {
        let items = vec!["{}"; MAX_LIST_ITEMS + 1].join(",");
        let text = format!(r#"{{"vpcPrefixes": [{items}]}}"#);
        let error = from_slice(text.as_bytes()).unwrap_err().to_string();
        assert!(
            error.starts_with("vpcPrefixes: a list of more than 1024"),
            "{error}"
        );
        let within = vec!["{}"; MAX_LIST_ITEMS].join(",");
        assert!(from_slice(format!("[{within}]").as_bytes()).is_ok());
    }

    #[test]
    fn a_body_of_too_many_values_is_refused() {
        let keys: Vec<String> = (0..MAX_VALUES).map(|i| format!("\"k{i}\": 1")).collect();
        let text = format!("{{{}}}", keys.join(","));
        let error = from_slice(text.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("more than 100000 values"), "{error}");
    }
}
