//! The fast way to read a message from proto3 JSON: the parsed value walked with the
//! message's plan straight into its protobuf encoding, which prost then decodes.
//!
//! It reads the plain JSON clients send: known keys (JSON or proto names), strings, booleans,
//! 32-bit integers, enum names, nested objects and lists. Anything else (an unknown key, a
//! `null`, two members of one oneof, a 64-bit integer, a well-known type, a value of the
//! wrong type) it leaves to the general path, which reads it or says exactly what is wrong:
//! for what it reads, the message is the one the general path makes (the tests check this
//! for every message of the pool).

use prost_reflect::DescriptorPool;
use serde_json::Value;

use super::{
    plan::{plans, Field, FieldKind, Plans, Shape},
    write::Unhandled,
};

/// Nested objects deeper than this are left to the general path.
const MAX_DEPTH: usize = 64;

/// The protobuf encoding of the message `full_name` that `value` describes.
pub(super) fn read(
    pool: &'static DescriptorPool,
    full_name: &str,
    value: &Value,
) -> Result<Vec<u8>, Unhandled> {
    let plans = plans(pool);
    let index = plans.index(full_name).ok_or(Unhandled)?;
    let mut out = Vec::new();
    plans.encode_object(index, value, &mut out, 0)?;
    Ok(out)
}

/// The protobuf encoding of the message `full_name` whose JSON is an object of these string
/// members (a REST request's path and query parameters): string fields only, each named once.
pub(super) fn read_strings<'a>(
    pool: &'static DescriptorPool,
    full_name: &str,
    members: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<u8>, Unhandled> {
    let plans = plans(pool);
    let plan = plans
        .index(full_name)
        .and_then(|index| plans.plans.get(index))
        .filter(|plan| plan.shape == Shape::Fields)
        .ok_or(Unhandled)?;
    let mut out = Vec::with_capacity(64);
    // The slots named so far, a bit each (a message of more than 64 fields: the general path).
    let mut slots_set = 0u64;
    for (key, text) in members {
        let slot = *plan.slot_by_key.get(key).ok_or(Unhandled)?;
        let field = plan.fields.get(usize::from(slot)).ok_or(Unhandled)?;
        let bit = 1u64.checked_shl(u32::from(slot)).ok_or(Unhandled)?;
        let plain_string =
            matches!(field.kind, FieldKind::String) && !field.repeated && field.oneof.is_none();
        if !plain_string || slots_set & bit != 0 {
            return Err(Unhandled);
        }
        slots_set |= bit;
        put_string(field.number, text, &mut out);
    }
    Ok(out)
}

impl Plans {
    fn encode_object(
        &self,
        index: usize,
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Unhandled> {
        let plan = self.plans.get(index).ok_or(Unhandled)?;
        let Value::Object(members) = value else {
            return Err(Unhandled);
        };
        if plan.shape != Shape::Fields || depth > MAX_DEPTH {
            return Err(Unhandled);
        }
        let mut oneofs_set: Vec<usize> = Vec::new();
        let mut slots_set: Vec<u16> = Vec::new();
        for (key, item) in members {
            let slot = *plan.slot_by_key.get(key).ok_or(Unhandled)?;
            // A field named twice (`vpcPrefixes` and `vpc_prefixes`) is the general path's.
            if slots_set.contains(&slot) {
                return Err(Unhandled);
            }
            slots_set.push(slot);
            let field = plan.fields.get(usize::from(slot)).ok_or(Unhandled)?;
            if let Some(oneof) = field.oneof {
                if oneofs_set.contains(&oneof) {
                    return Err(Unhandled);
                }
                oneofs_set.push(oneof);
            }
            match (field.repeated, item) {
                (true, Value::Array(items)) => {
                    for item in items {
                        self.encode_value(field, item, out, depth)?;
                    }
                }
                (true, _) => return Err(Unhandled),
                (false, item) => self.encode_value(field, item, out, depth)?,
            }
        }
        Ok(())
    }

    fn encode_value(
        &self,
        field: &Field,
        value: &Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Unhandled> {
        const VARINT: u32 = 0;
        const LEN: u32 = 2;
        let number = field.number;
        // The casts write each type's bits as protobuf encodes them.
        let varint = |value: u64, out: &mut Vec<u8>| {
            put_varint(u64::from(number << 3 | VARINT), out);
            put_varint(value, out);
        };
        match (&field.kind, value) {
            (FieldKind::String, Value::String(text)) => put_string(number, text, out),
            (FieldKind::Bool, Value::Bool(flag)) => varint(u64::from(*flag), out),
            (FieldKind::Int32, Value::Number(n)) => {
                let n = n
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or(Unhandled)?;
                varint(i64::from(n) as u64, out);
            }
            (FieldKind::SInt32, Value::Number(n)) => {
                let n = n
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or(Unhandled)?;
                varint(u64::from(((n << 1) ^ (n >> 31)) as u32), out);
            }
            (FieldKind::UInt32, Value::Number(n)) => {
                let n = n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(Unhandled)?;
                varint(u64::from(n), out);
            }
            (FieldKind::Enum(values), Value::String(name)) => {
                let n = values.numbers.get(name).ok_or(Unhandled)?;
                varint(i64::from(*n) as u64, out);
            }
            (FieldKind::Message(index), Value::Object(_)) => {
                let mut inner = Vec::new();
                self.encode_object(*index, value, &mut inner, depth + 1)?;
                put_varint(u64::from(number << 3 | LEN), out);
                put_varint(inner.len() as u64, out);
                out.extend_from_slice(&inner);
            }
            _ => return Err(Unhandled),
        }
        Ok(())
    }
}

/// A string field: its key (length-delimited), its length and its bytes.
fn put_string(number: u32, text: &str, out: &mut Vec<u8>) {
    const LEN: u32 = 2;
    put_varint(u64::from(number << 3 | LEN), out);
    put_varint(text.len() as u64, out);
    out.extend_from_slice(text.as_bytes());
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{samples::sample_message, Output, Unknown};
    use prost_reflect::DynamicMessage;

    #[test]
    fn the_walk_reads_what_the_general_path_reads_for_every_message() {
        let pool = super::super::pool().unwrap();
        let mut read_fast = 0;
        for message in pool.all_messages() {
            for variant in 0..6 {
                let Some(dynamic) = sample_message(&message, variant, 0) else {
                    continue;
                };
                let name = message.full_name();
                let text = super::super::encode_in_general(name, &dynamic, Output::Canonical);
                let Ok(text) = text else { continue };
                let value: Value = serde_json::from_slice(&text).unwrap();
                let general =
                    super::super::decode_dynamic(&message, value.clone(), Unknown::Report);
                if let Ok(bytes) = read(pool, name, &value) {
                    let fast = DynamicMessage::decode(message.clone(), bytes.as_slice()).unwrap();
                    let (general, _) = general.unwrap_or_else(|e| panic!("{name} {variant}: {e}"));
                    assert_eq!(fast, general, "{name}, variant {variant}: {value}");
                    read_fast += 1;
                }
            }
        }
        assert!(read_fast > 50, "{read_fast}");
    }

    #[test]
    fn proto_names_read_as_json_names_and_doubts_go_to_the_general_path() {
        use crate::networking::v1beta1::CreateVpcRequest;
        use prost::Message;
        let pool = super::super::pool().unwrap();
        let name = "coreweave.networking.v1beta1.CreateVPCRequest";
        let camel =
            serde_json::json!({"name": "a", "vpcPrefixes": [{"name": "p", "value": "10.0.0.0/8"}]});
        let snake = serde_json::json!({"name": "a", "vpc_prefixes": [{"name": "p", "value": "10.0.0.0/8"}]});
        let (camel, snake) = (
            read(pool, name, &camel).unwrap(),
            read(pool, name, &snake).unwrap(),
        );
        assert_eq!(camel, snake);
        assert_eq!(
            CreateVpcRequest::decode(camel.as_slice())
                .unwrap()
                .vpc_prefixes[0]
                .value,
            "10.0.0.0/8"
        );
        for doubtful in [
            serde_json::json!({"name": "a", "colour": "red"}),
            serde_json::json!({"name": null}),
            serde_json::json!({"name": 5}),
            serde_json::json!({"vpcPrefixes": {"name": "p"}}),
            serde_json::json!("not an object"),
            serde_json::json!({"vpcPrefixes": [], "vpc_prefixes": []}),
        ] {
            assert_eq!(read(pool, name, &doubtful), Err(Unhandled), "{doubtful}");
        }
    }

    #[test]
    fn string_members_read_as_their_object_and_doubts_go_to_the_general_path() {
        let pool = super::super::pool().unwrap();
        let name = "coreweave.networking.v1beta1.CreateVPCRequest";
        let members = [("name", "a"), ("zone", "US-EAST-04A")];
        let object = serde_json::json!({"name": "a", "zone": "US-EAST-04A"});
        assert_eq!(
            read_strings(pool, name, members),
            Ok(read(pool, name, &object).unwrap())
        );
        for doubtful in [
            &[("colour", "red")][..],
            &[("name", "a"), ("name", "b")],
            &[("name", "a"), ("vpcPrefixes", "10.0.0.0/8")],
        ] {
            assert_eq!(
                read_strings(pool, name, doubtful.iter().copied()),
                Err(Unhandled)
            );
        }
    }
}
