//! What the fast JSON paths know of each message type: its fields in the order the general
//! path writes them (JSON names sorted, as a `serde_json::Map` keeps them), which field a
//! number or a key names, and how each field's values look on the wire. Made once per process
//! from the descriptor pool.

use std::{collections::HashMap, hash::BuildHasherDefault, sync::OnceLock};

use prost_reflect::{Cardinality, DescriptorPool, Kind, MessageDescriptor};

/// The plans of every message of the pool, made on first use.
pub(super) fn plans(pool: &'static DescriptorPool) -> &'static Plans {
    static PLANS: OnceLock<Plans> = OnceLock::new();
    PLANS.get_or_init(|| Plans::of(pool))
}

/// Every message's plan, by index, and the indexes by full name.
pub(super) struct Plans {
    pub(super) plans: Vec<Plan>,
    by_name: HashMap<String, usize, BuildHasherDefault<Fnv>>,
}

/// FNV-1a: the names are a few dozen short strings known at start, and SipHash cost a
/// call about 1,700 instructions to look one up.
#[derive(Default)]
pub(super) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const PRIME: u64 = 0x0100_0000_01b3;
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(PRIME);
        }
        self.0 = hash;
    }
}

/// How to write one message: its fields in the order the general path writes them (JSON
/// names sorted, as a `serde_json::Map` keeps them), and which field a number names.
pub(super) struct Plan {
    pub(super) shape: Shape,
    pub(super) fields: Vec<Field>,
    /// The place in `fields` of each field number (small numbers only; `u16::MAX` for none).
    pub(super) slot_of: Vec<u16>,
    /// The place in `fields` of each JSON name and proto name.
    pub(super) slot_by_key: HashMap<String, u16, BuildHasherDefault<Fnv>>,
}

/// Messages with a JSON form of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Fields,
    Timestamp,
    FieldMask,
    Any,
    /// A well-known type or a feature this walk leaves to the general path.
    Unhandled,
}

pub(super) struct Field {
    pub(super) number: u32,
    /// `"jsonName":`, quoted and escaped.
    pub(super) key: Vec<u8>,
    pub(super) kind: FieldKind,
    pub(super) repeated: bool,
    /// Its oneof's place among the message's oneofs, for a member of one (or a proto3
    /// `optional`, whose oneof is synthetic): such a field is written only when set.
    pub(super) oneof: Option<usize>,
}

#[derive(Clone)]
pub(super) enum FieldKind {
    Bool,
    Int32,
    SInt32,
    UInt32,
    Int64,
    SInt64,
    UInt64,
    Fixed32,
    SFixed32,
    Fixed64,
    SFixed64,
    String,
    /// The enum's values: names by number, numbers by name, and the name of zero.
    Enum(EnumValues),
    Message(usize),
    /// Floats, bytes and maps: the general path writes them.
    Unhandled,
}

impl Plans {
    pub(super) fn of(pool: &DescriptorPool) -> Self {
        let by_name: HashMap<String, usize, BuildHasherDefault<Fnv>> = pool
            .all_messages()
            .enumerate()
            .map(|(index, message)| (message.full_name().to_owned(), index))
            .collect();
        let plans = pool
            .all_messages()
            .map(|message| Plan::of(&message, |name| by_name.get(name).copied()))
            .collect();
        Self { plans, by_name }
    }

    pub(super) fn index(&self, full_name: &str) -> Option<usize> {
        self.by_name.get(full_name).copied()
    }
}

impl Plan {
    fn of(message: &MessageDescriptor, index_of: impl Fn(&str) -> Option<usize> + Copy) -> Self {
        let shape = match message.full_name() {
            "google.protobuf.Timestamp" => Shape::Timestamp,
            "google.protobuf.FieldMask" => Shape::FieldMask,
            "google.protobuf.Any" => Shape::Any,
            _ if message.package_name() == "google.protobuf" => Shape::Unhandled,
            _ => Shape::Fields,
        };
        let mut fields: Vec<Field> = message
            .fields()
            .map(|field| {
                let kind = if field.is_map() {
                    FieldKind::Unhandled
                } else {
                    kind_of(&field.kind(), index_of)
                };
                let mut key = Vec::new();
                let _ = serde_json::to_writer(&mut key, field.json_name());
                key.push(b':');
                Field {
                    number: field.number(),
                    key,
                    kind,
                    repeated: field.cardinality() == Cardinality::Repeated,
                    oneof: field
                        .containing_oneof()
                        .and_then(|oneof| message.oneofs().position(|o| o.name() == oneof.name())),
                }
            })
            .collect();
        fields.sort_by(|a, b| a.key.cmp(&b.key));
        let shape = match fields
            .iter()
            .any(|f| matches!(f.kind, FieldKind::Unhandled))
        {
            true if shape == Shape::Fields => Shape::Unhandled,
            _ => shape,
        };
        let largest = fields.iter().map(|f| f.number).max().unwrap_or(0);
        let mut slot_of = vec![u16::MAX; usize::try_from(largest.min(1024)).unwrap_or(0) + 1];
        for (slot, field) in fields.iter().enumerate() {
            let number = usize::try_from(field.number).unwrap_or(usize::MAX);
            if let (Some(place), Ok(slot)) = (slot_of.get_mut(number), u16::try_from(slot)) {
                *place = slot;
            }
        }
        let mut slot_by_key = HashMap::default();
        for field in message.fields() {
            let slot = fields.iter().position(|f| f.number == field.number());
            if let Some(slot) = slot.and_then(|slot| u16::try_from(slot).ok()) {
                slot_by_key.insert(field.name().to_owned(), slot);
                slot_by_key.insert(field.json_name().to_owned(), slot);
            }
        }
        Self {
            shape,
            fields,
            slot_of,
            slot_by_key,
        }
    }
}

fn kind_of(kind: &Kind, index_of: impl Fn(&str) -> Option<usize>) -> FieldKind {
    match kind {
        Kind::Bool => FieldKind::Bool,
        Kind::Int32 => FieldKind::Int32,
        Kind::Sint32 => FieldKind::SInt32,
        Kind::Uint32 => FieldKind::UInt32,
        Kind::Int64 => FieldKind::Int64,
        Kind::Sint64 => FieldKind::SInt64,
        Kind::Uint64 => FieldKind::UInt64,
        Kind::Fixed32 => FieldKind::Fixed32,
        Kind::Sfixed32 => FieldKind::SFixed32,
        Kind::Fixed64 => FieldKind::Fixed64,
        Kind::Sfixed64 => FieldKind::SFixed64,
        Kind::String => FieldKind::String,
        Kind::Enum(descriptor) => {
            let names: HashMap<i32, String> = descriptor
                .values()
                .map(|value| (value.number(), value.name().to_owned()))
                .collect();
            let numbers = names.iter().map(|(n, name)| (name.clone(), *n)).collect();
            match descriptor.get_value(0) {
                Some(zero) => FieldKind::Enum(EnumValues {
                    names,
                    numbers,
                    zero: zero.name().to_owned(),
                }),
                None => FieldKind::Unhandled,
            }
        }
        Kind::Message(descriptor) => {
            index_of(descriptor.full_name()).map_or(FieldKind::Unhandled, FieldKind::Message)
        }
        Kind::Float | Kind::Double | Kind::Bytes => FieldKind::Unhandled,
    }
}

/// An enum's values, both ways.
#[derive(Clone)]
pub(super) struct EnumValues {
    pub(super) names: HashMap<i32, String>,
    pub(super) numbers: HashMap<String, i32, BuildHasherDefault<Fnv>>,
    pub(super) zero: String,
}
