//! The fast way to write a message as proto3 JSON: from its protobuf encoding, walked with a
//! plan made once per message type from the descriptors, straight into bytes.
//!
//! The general path (prost-reflect) copies the message into a `DynamicMessage`, serializes
//! that into a `serde_json::Value` and then the value into text: about 100,000 instructions
//! for one VPC, two thirds of a whole REST GetVPC. This path writes the same bytes (keys in
//! the same order, the same numbers, times and names) for the kinds of field the API's
//! messages use, in about a tenth of that. For anything it does not handle (floats, bytes,
//! maps, well-known types other than Timestamp and FieldMask, input the general path would
//! refuse), it says so, and the caller takes the general path, whose answer is the
//! reference: the tests check that both write the same bytes for every message of the pool.

use std::{collections::HashMap, sync::OnceLock};

use prost_reflect::{Cardinality, DescriptorPool, Kind, MessageDescriptor};

use super::Output;

/// The walk could not write the message; the general path will, or will say why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unhandled;

/// Nested messages deeper than this are left to the general path.
const MAX_DEPTH: usize = 64;

/// Writes the message `full_name` encoded in `bytes` as JSON.
pub(super) fn write(
    pool: &'static DescriptorPool,
    full_name: &str,
    bytes: &[u8],
    output: Output,
) -> Result<Vec<u8>, Unhandled> {
    let plans = plans(pool);
    let plan = plans.index(full_name).ok_or(Unhandled)?;
    let mut out = Vec::with_capacity(bytes.len() * 2 + 64);
    plans.write_message(plan, bytes, output, &mut out, 0)?;
    Ok(out)
}

/// The plans of every message of the pool, made on first use.
fn plans(pool: &'static DescriptorPool) -> &'static Plans {
    static PLANS: OnceLock<Plans> = OnceLock::new();
    PLANS.get_or_init(|| Plans::of(pool))
}

/// Every message's plan, by index, and the indexes by full name.
struct Plans {
    plans: Vec<Plan>,
    by_name: HashMap<String, usize>,
}

/// How to write one message: its fields in the order the general path writes them (JSON
/// names sorted, as a `serde_json::Map` keeps them), and which field a number names.
struct Plan {
    shape: Shape,
    fields: Vec<Field>,
    /// The place in `fields` of each field number (small numbers only; `u16::MAX` for none).
    slot_of: Vec<u16>,
}

/// Messages with a JSON form of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Fields,
    Timestamp,
    FieldMask,
    Any,
    /// A well-known type or a feature this walk leaves to the general path.
    Unhandled,
}

struct Field {
    number: u32,
    /// `"jsonName":`, quoted and escaped.
    key: Vec<u8>,
    kind: FieldKind,
    repeated: bool,
    /// A member of a oneof (or a proto3 `optional`): written only when set.
    has_presence: bool,
}

#[derive(Clone)]
enum FieldKind {
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
    /// The names of the enum's values by number, and the name of zero.
    Enum(HashMap<i32, String>, String),
    Message(usize),
    /// Floats, bytes and maps: the general path writes them.
    Unhandled,
}

impl Plans {
    fn of(pool: &DescriptorPool) -> Self {
        let by_name: HashMap<String, usize> = pool
            .all_messages()
            .enumerate()
            .map(|(index, message)| (message.full_name().to_owned(), index))
            .collect();
        let plans = pool
            .all_messages()
            .map(|message| Plan::of(&message, &by_name))
            .collect();
        Self { plans, by_name }
    }

    fn index(&self, full_name: &str) -> Option<usize> {
        self.by_name.get(full_name).copied()
    }

    fn write_message(
        &self,
        index: usize,
        bytes: &[u8],
        output: Output,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Unhandled> {
        let plan = self.plans.get(index).ok_or(Unhandled)?;
        if depth > MAX_DEPTH {
            return Err(Unhandled);
        }
        match plan.shape {
            Shape::Fields => {
                out.push(b'{');
                self.write_fields(plan, bytes, output, out, depth, true)?;
                out.push(b'}');
                Ok(())
            }
            Shape::Timestamp => write_timestamp(bytes, out),
            Shape::FieldMask => write_field_mask(bytes, out),
            Shape::Any => self.write_any(bytes, output, out, depth),
            Shape::Unhandled => Err(Unhandled),
        }
    }

    /// Writes the fields of a message without its braces, after others when `first` is false.
    fn write_fields(
        &self,
        plan: &Plan,
        bytes: &[u8],
        output: Output,
        out: &mut Vec<u8>,
        depth: usize,
        mut first: bool,
    ) -> Result<(), Unhandled> {
        let values = read_fields(plan, bytes)?;
        for (slot, field) in plan.fields.iter().enumerate() {
            let mut found = values
                .iter()
                .filter(|value| usize::from(value.slot) == slot);
            let present = found.clone().next().is_some();
            if !present {
                if output == Output::Canonical || field.has_presence {
                    continue;
                }
                separate(out, &mut first);
                out.extend_from_slice(&field.key);
                write_default(field, out)?;
                continue;
            }
            separate(out, &mut first);
            out.extend_from_slice(&field.key);
            if field.repeated {
                out.push(b'[');
                let mut first_item = true;
                for value in found {
                    for item in value.items(&field.kind)? {
                        separate(out, &mut first_item);
                        self.write_value(&field.kind, item, output, out, depth)?;
                    }
                }
                out.push(b']');
            } else {
                // The last occurrence wins; a message sent twice would merge, which the
                // general path does.
                let count = found.clone().count();
                let last = found.by_ref().last().ok_or(Unhandled)?;
                if count > 1 && matches!(field.kind, FieldKind::Message(_)) {
                    return Err(Unhandled);
                }
                let item = last.single(&field.kind)?;
                self.write_value(&field.kind, item, output, out, depth)?;
            }
        }
        Ok(())
    }

    fn write_value(
        &self,
        kind: &FieldKind,
        item: Item<'_>,
        output: Output,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Unhandled> {
        match (kind, item) {
            (FieldKind::Message(index), Item::Bytes(bytes)) => {
                self.write_message(*index, bytes, output, out, depth + 1)
            }
            (FieldKind::String, Item::Bytes(bytes)) => {
                let text = std::str::from_utf8(bytes).map_err(|_| Unhandled)?;
                write_string(text, out)
            }
            (FieldKind::Enum(names, _), Item::Number(number)) => {
                // As i32, as protobuf reads an enum; an unknown number is written as such.
                let number = number as i32;
                match names.get(&number) {
                    Some(name) => write_string(name, out),
                    None => {
                        write_integer(number, out);
                        Ok(())
                    }
                }
            }
            (kind, Item::Number(raw)) => write_number(kind, raw, out),
            _ => Err(Unhandled),
        }
    }

    /// `{"@type": URL, ...the packed message's fields}`.
    fn write_any(
        &self,
        bytes: &[u8],
        output: Output,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), Unhandled> {
        let (mut type_url, mut value) = ("", &[][..]);
        let mut reader = Reader(bytes);
        while let Some((number, wire)) = reader.tag()? {
            match (number, wire) {
                (1, WireValue::Len(raw)) => {
                    type_url = std::str::from_utf8(raw).map_err(|_| Unhandled)?
                }
                (2, WireValue::Len(raw)) => value = raw,
                _ => return Err(Unhandled),
            }
        }
        let (_, name) = type_url.rsplit_once('/').ok_or(Unhandled)?;
        let index = self.index(name).ok_or(Unhandled)?;
        let plan = self.plans.get(index).ok_or(Unhandled)?;
        if plan.shape != Shape::Fields {
            return Err(Unhandled);
        }
        out.extend_from_slice(b"{\"@type\":");
        write_string(type_url, out)?;
        self.write_fields(plan, value, output, out, depth + 1, false)?;
        out.push(b'}');
        Ok(())
    }
}

impl Plan {
    fn of(message: &MessageDescriptor, by_name: &HashMap<String, usize>) -> Self {
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
                    kind_of(&field.kind(), by_name)
                };
                let mut key = Vec::new();
                let _ = serde_json::to_writer(&mut key, field.json_name());
                key.push(b':');
                Field {
                    number: field.number(),
                    key,
                    kind,
                    repeated: field.cardinality() == Cardinality::Repeated,
                    has_presence: field.containing_oneof().is_some(),
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
        Self {
            shape,
            fields,
            slot_of,
        }
    }
}

fn kind_of(kind: &Kind, by_name: &HashMap<String, usize>) -> FieldKind {
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
            let names = descriptor
                .values()
                .map(|value| (value.number(), value.name().to_owned()))
                .collect::<HashMap<_, _>>();
            let zero = descriptor.get_value(0).map(|value| value.name().to_owned());
            match zero {
                Some(zero) => FieldKind::Enum(names, zero),
                None => FieldKind::Unhandled,
            }
        }
        Kind::Message(descriptor) => by_name
            .get(descriptor.full_name())
            .map_or(FieldKind::Unhandled, |index| FieldKind::Message(*index)),
        Kind::Float | Kind::Double | Kind::Bytes => FieldKind::Unhandled,
    }
}

/// One field's value as read from the encoding.
#[derive(Debug, Clone, Copy)]
struct Read<'a> {
    slot: u16,
    wire: WireValue<'a>,
}

#[derive(Debug, Clone, Copy)]
enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

/// A value to write: a number (varint or fixed, as read) or bytes (a string or a message).
#[derive(Debug, Clone, Copy)]
enum Item<'a> {
    Number(u64),
    Bytes(&'a [u8]),
}

impl<'a> Read<'a> {
    fn single(&self, kind: &FieldKind) -> Result<Item<'a>, Unhandled> {
        match (self.wire, kind) {
            (WireValue::Len(bytes), FieldKind::String | FieldKind::Message(_)) => {
                Ok(Item::Bytes(bytes))
            }
            (WireValue::Varint(n), _) | (WireValue::Fixed64(n), _) => Ok(Item::Number(n)),
            (WireValue::Fixed32(n), _) => Ok(Item::Number(u64::from(n))),
            _ => Err(Unhandled),
        }
    }

    /// The items of a repeated field's occurrence: one, or a packed run of numbers.
    fn items(&self, kind: &FieldKind) -> Result<Vec<Item<'a>>, Unhandled> {
        match (self.wire, kind) {
            (WireValue::Len(bytes), FieldKind::String | FieldKind::Message(_)) => {
                Ok(vec![Item::Bytes(bytes)])
            }
            (WireValue::Len(packed), kind) => unpack(packed, kind),
            _ => Ok(vec![self.single(kind)?]),
        }
    }
}

fn unpack<'a>(mut packed: &'a [u8], kind: &FieldKind) -> Result<Vec<Item<'a>>, Unhandled> {
    let mut items = Vec::new();
    while !packed.is_empty() {
        let number = match kind {
            FieldKind::Fixed32 | FieldKind::SFixed32 => {
                let (raw, rest) = packed.split_first_chunk::<4>().ok_or(Unhandled)?;
                packed = rest;
                u64::from(u32::from_le_bytes(*raw))
            }
            FieldKind::Fixed64 | FieldKind::SFixed64 => {
                let (raw, rest) = packed.split_first_chunk::<8>().ok_or(Unhandled)?;
                packed = rest;
                u64::from_le_bytes(*raw)
            }
            _ => {
                let mut reader = Reader(packed);
                let number = reader.varint()?;
                packed = reader.0;
                number
            }
        };
        items.push(Item::Number(number));
    }
    Ok(items)
}

/// The fields present in `bytes`, in the order they were encoded; unknown ones skipped.
fn read_fields<'a>(plan: &Plan, bytes: &'a [u8]) -> Result<Vec<Read<'a>>, Unhandled> {
    let mut reader = Reader(bytes);
    let mut values = Vec::new();
    while let Some((number, wire)) = reader.tag()? {
        let slot = usize::try_from(number)
            .ok()
            .and_then(|number| plan.slot_of.get(number).copied())
            .filter(|slot| *slot != u16::MAX);
        match slot {
            Some(slot) => values.push(Read { slot, wire }),
            // A number above the table's reach may still be a field: the general path.
            None if plan.fields.iter().any(|f| f.number == number) => return Err(Unhandled),
            None => {}
        }
    }
    Ok(values)
}

/// A cursor over protobuf encoding.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, Unhandled> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.0.split_first().ok_or(Unhandled)?;
            self.0 = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Unhandled)
    }

    /// The next field's number and value; `None` at the end.
    fn tag(&mut self) -> Result<Option<(u32, WireValue<'a>)>, Unhandled> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| Unhandled)?;
        let value = match key & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => {
                let (raw, rest) = self.0.split_first_chunk::<8>().ok_or(Unhandled)?;
                self.0 = rest;
                WireValue::Fixed64(u64::from_le_bytes(*raw))
            }
            2 => {
                let length = usize::try_from(self.varint()?).map_err(|_| Unhandled)?;
                if length > self.0.len() {
                    return Err(Unhandled);
                }
                let (bytes, rest) = self.0.split_at(length);
                self.0 = rest;
                WireValue::Len(bytes)
            }
            5 => {
                let (raw, rest) = self.0.split_first_chunk::<4>().ok_or(Unhandled)?;
                self.0 = rest;
                WireValue::Fixed32(u32::from_le_bytes(*raw))
            }
            // Groups, or not protobuf at all.
            _ => return Err(Unhandled),
        };
        Ok(Some((number, value)))
    }
}

fn separate(out: &mut Vec<u8>, first: &mut bool) {
    if !std::mem::take(first) {
        out.push(b',');
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) -> Result<(), Unhandled> {
    serde_json::to_writer(out, text).map_err(|_| Unhandled)
}

fn write_integer(value: impl itoa::Integer, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// A 64-bit integer as proto3 JSON writes it: as a string.
fn write_quoted_integer(value: impl itoa::Integer, out: &mut Vec<u8>) {
    out.push(b'"');
    write_integer(value, out);
    out.push(b'"');
}

/// A number as the general path writes it: 64-bit integers as strings, the rest as numbers.
fn write_number(kind: &FieldKind, raw: u64, out: &mut Vec<u8>) -> Result<(), Unhandled> {
    // The casts read the wire's bits as protobuf defines each type.
    let zigzag = |n: u64| (n >> 1) as i64 ^ -((n & 1) as i64);
    match kind {
        FieldKind::Bool => out.extend_from_slice(if raw != 0 { b"true" } else { b"false" }),
        FieldKind::Int32 => write_integer(raw as i32, out),
        FieldKind::SInt32 => write_integer(zigzag(raw) as i32, out),
        FieldKind::UInt32 | FieldKind::Fixed32 => write_integer(raw as u32, out),
        FieldKind::SFixed32 => write_integer(raw as u32 as i32, out),
        FieldKind::Int64 | FieldKind::SFixed64 => write_quoted_integer(raw as i64, out),
        FieldKind::SInt64 => write_quoted_integer(zigzag(raw), out),
        FieldKind::UInt64 | FieldKind::Fixed64 => write_quoted_integer(raw, out),
        FieldKind::String | FieldKind::Enum(..) | FieldKind::Message(_) | FieldKind::Unhandled => {
            return Err(Unhandled)
        }
    }
    Ok(())
}

/// An unset field as the general path writes it with every field emitted.
fn write_default(field: &Field, out: &mut Vec<u8>) -> Result<(), Unhandled> {
    if field.repeated {
        out.extend_from_slice(b"[]");
        return Ok(());
    }
    match &field.kind {
        FieldKind::Message(_) => out.extend_from_slice(b"null"),
        FieldKind::String => out.extend_from_slice(b"\"\""),
        FieldKind::Enum(_, zero) => write_string(zero, out)?,
        kind => write_number(kind, 0, out)?,
    }
    Ok(())
}

/// The lowest and highest seconds a Timestamp's JSON holds: 0001-01-01 to 9999-12-31.
const TIMESTAMP_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// `"2026-12-06T22:43:32.376Z"`: RFC 3339 in UTC, with 0, 3, 6 or 9 digits of fraction, the
/// fewest that hold the nanoseconds (as `prost_types::Timestamp` displays it).
fn write_timestamp(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), Unhandled> {
    let (mut seconds, mut nanos) = (0i64, 0i32);
    let mut reader = Reader(bytes);
    while let Some((number, wire)) = reader.tag()? {
        match (number, wire) {
            (1, WireValue::Varint(raw)) => seconds = raw as i64,
            (2, WireValue::Varint(raw)) => nanos = raw as i32,
            _ => return Err(Unhandled),
        }
    }
    if !TIMESTAMP_SECONDS.contains(&seconds) || !(0..1_000_000_000).contains(&nanos) {
        return Err(Unhandled);
    }
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let mut text = [0u8; 32];
    let mut at = 0;
    let mut put = |value: i64, width: usize| {
        for place in (0..width).rev() {
            let digit = (value / 10i64.pow(place as u32)) % 10;
            text[at] = b'0' + digit as u8;
            at += 1;
        }
    };
    put(year, 4);
    put(month, 2);
    put(day, 2);
    put(of_day / 3600, 2);
    put(of_day / 60 % 60, 2);
    put(of_day % 60, 2);
    let digits = match nanos {
        0 => 0,
        n if n % 1_000_000 == 0 => 3,
        n if n % 1_000 == 0 => 6,
        _ => 9,
    };
    put(i64::from(nanos) / 10i64.pow(9 - digits as u32), digits);
    // YYYYMMDDhhmmss[fraction] -> "YYYY-MM-DDThh:mm:ss[.fraction]Z"
    out.push(b'"');
    out.extend_from_slice(&text[0..4]);
    out.push(b'-');
    out.extend_from_slice(&text[4..6]);
    out.push(b'-');
    out.extend_from_slice(&text[6..8]);
    out.push(b'T');
    out.extend_from_slice(&text[8..10]);
    out.push(b':');
    out.extend_from_slice(&text[10..12]);
    out.push(b':');
    out.extend_from_slice(&text[12..14]);
    if digits > 0 {
        out.push(b'.');
        out.extend_from_slice(&text[14..14 + digits]);
    }
    out.extend_from_slice(b"Z\"");
    Ok(())
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `"vpcPrefixes,ingress.disablePublicServices"`: the paths in camelCase, joined by commas.
fn write_field_mask(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), Unhandled> {
    let mut joined = String::new();
    let mut reader = Reader(bytes);
    while let Some((number, wire)) = reader.tag()? {
        let (1, WireValue::Len(raw)) = (number, wire) else {
            return Err(Unhandled);
        };
        let path = std::str::from_utf8(raw).map_err(|_| Unhandled)?;
        // Only paths that come back the same from camelCase; the general path refuses others.
        let round_trips = path.split('.').all(|part| {
            !part.bytes().any(|b| b.is_ascii_uppercase())
                && !part.ends_with('_')
                && part
                    .split('_')
                    .skip(1)
                    .all(|word| word.starts_with(|c: char| c.is_ascii_lowercase()))
        });
        if !round_trips {
            return Err(Unhandled);
        }
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(&crate::proto::camel_case_path(path));
    }
    write_string(&joined, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use prost_reflect::{DynamicMessage, FieldDescriptor, Value};

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

    fn sample_message(
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

    #[test]
    fn timestamps_read_as_prost_types_displays_them() {
        let seconds = [
            -62_135_596_800, // 0001-01-01T00:00:00Z
            253_402_300_799, // 9999-12-31T23:59:59Z
            -1,
            0,
            951_782_400,    // 2000-02-29
            -2_203_891_200, // 1900-03-01
            4_107_542_399,  // 2100-02-28T23:59:59Z
            1_765_060_000,
        ];
        for seconds in seconds {
            for nanos in [0, 1, 999_999_999, 120_000_000, 5_000] {
                let timestamp = prost_types::Timestamp { seconds, nanos };
                let mut out = Vec::new();
                write_timestamp(&timestamp.encode_to_vec(), &mut out).unwrap();
                assert_eq!(String::from_utf8(out).unwrap(), format!("\"{timestamp}\""));
            }
        }
        let beyond = prost_types::Timestamp {
            seconds: 253_402_300_800,
            nanos: 0,
        };
        assert_eq!(
            write_timestamp(&beyond.encode_to_vec(), &mut Vec::new()),
            Err(Unhandled)
        );
    }

    #[test]
    fn the_walk_writes_what_the_general_path_writes_for_every_message() {
        let pool = super::super::pool().unwrap();
        let mut walked = 0;
        for message in pool.all_messages() {
            for variant in 0..6 {
                let dynamic = match variant {
                    0 => DynamicMessage::new(message.clone()),
                    _ => match sample_message(&message, variant, 0) {
                        Some(dynamic) => dynamic,
                        None => continue,
                    },
                };
                let name = message.full_name();
                let bytes = dynamic.encode_to_vec();
                for output in [Output::Canonical, Output::EmitUnpopulated] {
                    let general = super::super::encode_in_general(name, &dynamic, output);
                    match (write(pool, name, &bytes, output), general) {
                        (Ok(fast), Ok(general)) => {
                            assert_eq!(
                                String::from_utf8_lossy(&fast),
                                String::from_utf8_lossy(&general),
                                "{name}, variant {variant}, {output:?}"
                            );
                            walked += 1;
                        }
                        (Ok(fast), Err(e)) => panic!(
                            "{name} {variant}: the walk wrote {} where the general path failed: {e}",
                            String::from_utf8_lossy(&fast)
                        ),
                        (Err(Unhandled), _) => assert!(
                            !name.starts_with("coreweave."),
                            "the API's own {name} (variant {variant}) must take the fast walk"
                        ),
                    }
                }
            }
        }
        assert!(walked > 100, "{walked}");
    }
}
