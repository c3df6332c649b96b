//! The fastest way to write a message of the API as proto3 JSON: code generated at build
//! time from its descriptor (`build/json_writers.rs`), reading the Rust struct's fields
//! directly, with no encoding to walk and no plan to consult.
//!
//! The generated writers follow the walk's rules (`write.rs`) and share its primitives
//! (strings, numbers, timestamps, field masks), so both write the same bytes as the general
//! path; the tests check all three agree for every message. A message the writers do not
//! handle answers [`Unhandled`] and takes the walk or the general path.

use super::{write, Output};

pub(crate) use super::write::Unhandled;

/// A message with a generated JSON writer. Sealed: implemented by the generated code for
/// every message of the API and by hand for the two well-known types it uses.
pub trait WriteJson {
    /// Writes the message as a JSON object (or as its well-known type's JSON) into `out`.
    fn write_json(&self, out: &mut JsonOut) -> Result<(), Unhandled>;
}

/// Where the generated writers write: the text so far, the output mode, and whether the
/// object or list being written has a member yet.
pub struct JsonOut {
    text: Vec<u8>,
    output: Output,
    first: bool,
}

impl JsonOut {
    /// An empty text, with room for `capacity` bytes.
    pub(super) fn new(output: Output, capacity: usize) -> Self {
        Self {
            text: Vec::with_capacity(capacity),
            output,
            first: true,
        }
    }

    /// The text written.
    pub(super) fn into_text(self) -> Vec<u8> {
        self.text
    }

    /// Whether a field whose value is set (`is_set`) or at its default is written.
    #[inline]
    pub fn emits(&self, is_set: bool) -> bool {
        is_set || self.output == Output::EmitUnpopulated
    }

    /// `{`.
    #[inline]
    pub fn open(&mut self) {
        self.text.push(b'{');
        self.first = true;
    }

    /// `}`.
    #[inline]
    pub fn close(&mut self) {
        self.text.push(b'}');
        self.first = false;
    }

    /// `[`.
    #[inline]
    pub fn open_list(&mut self) {
        self.text.push(b'[');
        self.first = true;
    }

    /// `]`.
    #[inline]
    pub fn close_list(&mut self) {
        self.text.push(b']');
        self.first = false;
    }

    /// A comma unless this is the first member; then `key`, quoted and with its colon.
    #[inline]
    pub fn key(&mut self, key: &[u8]) {
        self.item();
        self.text.extend_from_slice(key);
    }

    /// A comma unless this is the first item.
    #[inline]
    pub fn item(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.text.push(b',');
        }
    }

    /// `null`.
    pub fn null(&mut self) {
        self.text.extend_from_slice(b"null");
    }

    /// A string, escaped.
    pub fn string(&mut self, value: &str) -> Result<(), Unhandled> {
        write::write_string(value, &mut self.text)
    }

    /// `true` or `false`.
    pub fn bool(&mut self, value: bool) -> Result<(), Unhandled> {
        self.text
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    /// A 32-bit integer, as a number.
    pub fn int32(&mut self, value: i32) -> Result<(), Unhandled> {
        write::write_integer(value, &mut self.text);
        Ok(())
    }

    /// An unsigned 32-bit integer, as a number.
    pub fn uint32(&mut self, value: u32) -> Result<(), Unhandled> {
        write::write_integer(value, &mut self.text);
        Ok(())
    }

    /// A 64-bit integer, as a string.
    pub fn int64(&mut self, value: i64) -> Result<(), Unhandled> {
        write::write_quoted_integer(value, &mut self.text);
        Ok(())
    }

    /// An unsigned 64-bit integer, as a string.
    pub fn uint64(&mut self, value: u64) -> Result<(), Unhandled> {
        write::write_quoted_integer(value, &mut self.text);
        Ok(())
    }

    /// An enum value: its name when the enum knows the number (`name`), else the number.
    pub fn enumeration(&mut self, number: i32, name: Option<&str>) -> Result<(), Unhandled> {
        match name {
            Some(name) => self.string(name),
            None => self.int32(number),
        }
    }
}

impl WriteJson for crate::proto::Timestamp {
    fn write_json(&self, out: &mut JsonOut) -> Result<(), Unhandled> {
        write::write_time(self.seconds, self.nanos, &mut out.text)
    }
}

impl WriteJson for crate::proto::FieldMask {
    fn write_json(&self, out: &mut JsonOut) -> Result<(), Unhandled> {
        write::write_mask_paths(self.paths.iter().map(String::as_str), &mut out.text)
    }
}

/// Writes `message` with its generated writer.
pub(super) fn write<T: WriteJson>(message: &T, output: Output) -> Result<Vec<u8>, Unhandled> {
    let mut out = JsonOut::new(output, 1024);
    message.write_json(&mut out)?;
    Ok(out.into_text())
}

/// Decodes `bytes` as `T` and writes it with its generated writer (for the tests, which
/// reach every message of the pool by name).
#[cfg(test)]
pub(crate) fn decode_and_write<T: WriteJson + prost::Message + Default>(
    bytes: &[u8],
    output: Output,
) -> Result<Vec<u8>, Unhandled> {
    let message = T::decode(bytes).map_err(|_| Unhandled)?;
    write(&message, output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::samples::variants;
    use crate::proto::{inference::v1alpha1 as inference, networking::v1beta1 as networking};
    use prost::Message;

    /// The generated writer of the message `full_name`, run on its encoding.
    fn generated(full_name: &str, bytes: &[u8], output: Output) -> Result<Vec<u8>, Unhandled> {
        networking::write_encoded(full_name, bytes, output)
            .or_else(|| inference::write_encoded(full_name, bytes, output))
            .unwrap_or_else(|| panic!("{full_name} has no generated writer"))
    }

    #[test]
    fn generated_writers_write_what_the_general_path_writes_for_every_api_message() {
        let pool = super::super::pool().unwrap();
        let mut compared = 0;
        for message in pool.all_messages() {
            let name = message.full_name();
            if !name.starts_with("coreweave.") {
                continue;
            }
            for (variant, dynamic) in variants(&message) {
                let bytes = dynamic.encode_to_vec();
                for output in [Output::Canonical, Output::EmitUnpopulated] {
                    let general = super::super::encode_in_general(name, &dynamic, output).unwrap();
                    let written = generated(name, &bytes, output)
                        .unwrap_or_else(|_| panic!("{name} must have a working writer"));
                    assert_eq!(
                        String::from_utf8_lossy(&written),
                        String::from_utf8_lossy(&general),
                        "{name}, variant {variant}, {output:?}"
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 100, "{compared}");
    }

    #[test]
    fn a_timestamp_out_of_json_range_is_left_to_the_general_path() {
        let vpc = networking::Vpc {
            created_at: Some(crate::proto::Timestamp {
                seconds: 253_402_300_800,
                nanos: 0,
            }),
            ..Default::default()
        };
        assert_eq!(write(&vpc, Output::Canonical), Err(Unhandled));
        // The public path still answers, by the general path's rules.
        let general = super::super::to_vec(&vpc, Output::Canonical);
        let by_hand = super::super::encode_in_general(
            "coreweave.networking.v1beta1.VPC",
            &vpc,
            Output::Canonical,
        );
        assert_eq!(general, by_hand);
    }
}
