//! `google.protobuf.FieldMask`, with paths accepted in either spelling.

/// `google.protobuf.FieldMask`. In JSON (see [`crate::json`]) it is one comma-separated
/// string of lowerCamelCase paths (`"vpcPrefixes,ingress.disablePublicServices"`).
///
/// Paths are kept in proto (snake_case) form; [`FieldMask::new`] accepts either spelling.
///
/// ```
/// use coreweave_api::proto::FieldMask;
///
/// let mask = FieldMask::new(["vpcPrefixes", "ingress.disable_public_services"]);
/// assert_eq!(mask.paths, ["vpc_prefixes", "ingress.disable_public_services"]);
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
