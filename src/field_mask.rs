//! `google.protobuf.FieldMask` with its canonical proto3 JSON form, which pbjson-types lacks.

/// `google.protobuf.FieldMask`, with the canonical proto3 JSON form: one comma-separated
/// string of lowerCamelCase paths (`"vpcPrefixes,ingress.disablePublicServices"`).
///
/// Paths are kept in proto (snake_case) form; the JSON reader accepts either spelling.
///
/// ```
/// use coreweave_api::proto::FieldMask;
///
/// let mask: FieldMask = serde_json::from_str(r#""vpcPrefixes,ingress.disablePublicServices""#)?;
/// assert_eq!(mask.paths, ["vpc_prefixes", "ingress.disable_public_services"]);
/// assert_eq!(serde_json::to_string(&mask)?, r#""vpcPrefixes,ingress.disablePublicServices""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
pub struct FieldMask {
    /// The field paths, in snake_case.
    #[prost(string, repeated, tag = "1")]
    pub paths: Vec<String>,
}

impl FieldMask {
    /// A mask of these paths, each converted to snake_case.
    pub fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            paths: paths
                .into_iter()
                .map(|p| snake_case_path(p.as_ref()))
                .collect(),
        }
    }
}

/// Converts a field path from lowerCamelCase (or snake_case) to snake_case.
pub fn snake_case_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.trim().chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Converts a field path from snake_case to lowerCamelCase.
pub fn camel_case_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

impl serde::Serialize for FieldMask {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let paths: Vec<String> = self.paths.iter().map(|p| camel_case_path(p)).collect();
        serializer.serialize_str(&paths.join(","))
    }
}

impl<'de> serde::Deserialize<'de> for FieldMask {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let joined = String::deserialize(deserializer)?;
        Ok(Self::new(
            joined.split(',').filter(|p| !p.trim().is_empty()),
        ))
    }
}
