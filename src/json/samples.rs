//! Messages with every field set, for the tests that hold the fast JSON paths to the general
//! one.

use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

/// A value for `field`, different for each `variant`, nested `depth` deep at most.
fn sample(field: &FieldDescriptor, variant: u32, depth: usize) -> Option<Value> {
    let one = |kind: &Kind| -> Option<Value> {
        Some(match kind {
            Kind::Bool => Value::Bool(variant.is_multiple_of(2)),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(-7 - variant as i32),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(4_000_000_000 + variant),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                Value::I64(-(1 << 40) - i64::from(variant))
            }
            Kind::Uint64 | Kind::Fixed64 => Value::U64(u64::MAX - u64::from(variant)),
            Kind::Float => Value::F32(1.5),
            Kind::Double => Value::F64(0.1),
            Kind::Bytes => Value::Bytes(vec![0, 255, 7].into()),
            Kind::String => Value::String(format!("a\"b\\c\n\u{e9}\u{1f600}\u{1}{variant}")),
            Kind::Enum(e) => {
                let values: Vec<i32> = e.values().map(|v| v.number()).collect();
                // The last known value, or one no value has.
                Value::EnumNumber(match variant % 3 {
                    2 => 1234,
                    _ => *values.last()?,
                })
            }
            Kind::Message(m) => Value::Message(sample_message(m, variant, depth + 1)?),
        })
    };
    if field.is_map() {
        return None;
    }
    let value = one(&field.kind())?;
    if field.is_list() {
        let second = one(&field.kind())?;
        return Some(Value::List(vec![value, second]));
    }
    Some(value)
}

pub(super) fn sample_message(
    message: &MessageDescriptor,
    variant: u32,
    depth: usize,
) -> Option<DynamicMessage> {
    if depth > 3 {
        return None;
    }
    let mut dynamic = DynamicMessage::new(message.clone());
    match message.full_name() {
        "google.protobuf.Timestamp" => {
            let nanos = [0, 1_000_000, 1_000, 1][variant as usize % 4];
            let timestamp = prost_types::Timestamp {
                seconds: 1_765_000_000 + i64::from(variant),
                nanos,
            };
            dynamic.transcode_from(&timestamp).ok()?;
            return Some(dynamic);
        }
        "google.protobuf.FieldMask" => {
            let paths = vec!["vpc_prefixes".to_owned(), "dhcp.dns.servers".to_owned()];
            dynamic
                .transcode_from(&prost_types::FieldMask { paths })
                .ok()?;
            return Some(dynamic);
        }
        "google.protobuf.Any" => {
            let info = tonic_types::pb::ResourceInfo {
                resource_type: "coreweave.networking.v1beta1.VPC".into(),
                resource_name: format!("vpc-{variant}"),
                owner: String::new(),
                description: "not found".into(),
            };
            let any = prost_types::Any {
                type_url: "type.googleapis.com/google.rpc.ResourceInfo".into(),
                value: info.encode_to_vec(),
            };
            dynamic.transcode_from(&any).ok()?;
            return Some(dynamic);
        }
        _ if message.package_name() == "google.protobuf" => return None,
        _ => {}
    }
    for field in message.fields() {
        // One member of each oneof: the variant's.
        if let Some(oneof) = field.containing_oneof() {
            let members: Vec<u32> = oneof.fields().map(|f| f.number()).collect();
            if members[variant as usize % members.len()] != field.number() {
                continue;
            }
        }
        if let Some(value) = sample(&field, variant, depth) {
            dynamic.set_field(&field, value);
        }
    }
    Some(dynamic)
}

/// The messages the differential tests write for `message`: the empty message (variant 0),
/// then every sample variant there is, each with its number.
pub(super) fn variants(
    message: &MessageDescriptor,
) -> impl Iterator<Item = (u32, DynamicMessage)> + '_ {
    let empty = std::iter::once((0, DynamicMessage::new(message.clone())));
    let samples =
        (1..6).filter_map(move |variant| Some((variant, sample_message(message, variant, 0)?)));
    empty.chain(samples)
}
