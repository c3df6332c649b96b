//! Generates, for every message of the API's own packages, the code that writes it as proto3
//! JSON straight from its Rust struct (`impl WriteJson`, see `src/json/typed.rs`).
//!
//! The rules are the ones the JSON walk (`src/json/write.rs`) follows at run time, decided
//! here once per field: keys in the order the general path writes them (JSON names sorted),
//! defaults left out or written by the output mode, unset messages as `null`, oneof members
//! only when set, enums by name (a number the enum does not know as the number). A message
//! with a field these writers do not handle (floats, bytes, maps, a message of another
//! package) gets a writer that says so, and the caller takes the general path. The tests
//! check that these writers and the general path write the same bytes for every message.

use std::{collections::BTreeMap, fmt::Write};

use heck::{ToLowerCamelCase, ToSnakeCase, ToUpperCamelCase};
use prost_types::{
    field_descriptor_proto::{Label, Type},
    DescriptorProto, FieldDescriptorProto, FileDescriptorSet,
};

/// Packages whose messages get writers.
const API_PACKAGE_PREFIX: &str = "coreweave.";

/// The generated code of each API package, by package name.
pub(crate) fn generate(set: &FileDescriptorSet) -> BTreeMap<String, String> {
    let types = TypeIndex::of(set);
    let mut packages = BTreeMap::<String, String>::new();
    for file in &set.file {
        let package = file.package();
        if !package.starts_with(API_PACKAGE_PREFIX) {
            continue;
        }
        let code = packages.entry(package.to_owned()).or_default();
        for message in &file.message_type {
            write_message(&types, package, &[], message, code);
        }
    }
    for (package, code) in &mut packages {
        write_dispatch(&types, package, code);
    }
    packages
}

/// What a protobuf type name (`.coreweave.networking.v1beta1.VPC.Status`) is in Rust.
#[derive(Clone)]
struct RustType {
    package: String,
    /// The path from the package's module: `vpc::Status`.
    path: String,
    is_message: bool,
    is_map_entry: bool,
}

struct TypeIndex(BTreeMap<String, RustType>);

impl TypeIndex {
    fn of(set: &FileDescriptorSet) -> Self {
        let mut index = BTreeMap::new();
        for file in &set.file {
            let package = file.package();
            for message in &file.message_type {
                index_message(&mut index, package, &[], message);
            }
            for enumeration in &file.enum_type {
                index.insert(
                    format!(".{package}.{}", enumeration.name()),
                    RustType {
                        package: package.to_owned(),
                        path: rust_path(&[], enumeration.name()),
                        is_message: false,
                        is_map_entry: false,
                    },
                );
            }
        }
        Self(index)
    }

    fn get(&self, type_name: &str) -> Option<&RustType> {
        self.0.get(type_name)
    }
}

fn index_message(
    index: &mut BTreeMap<String, RustType>,
    package: &str,
    parents: &[&str],
    message: &DescriptorProto,
) {
    let proto_path: Vec<&str> = parents.iter().copied().chain([message.name()]).collect();
    index.insert(
        format!(".{package}.{}", proto_path.join(".")),
        RustType {
            package: package.to_owned(),
            path: rust_path(parents, message.name()),
            is_message: true,
            is_map_entry: message
                .options
                .as_ref()
                .is_some_and(|options| options.map_entry()),
        },
    );
    for nested in &message.nested_type {
        index_message(index, package, &proto_path, nested);
    }
    for enumeration in &message.enum_type {
        index.insert(
            format!(".{package}.{}.{}", proto_path.join("."), enumeration.name()),
            RustType {
                package: package.to_owned(),
                path: rust_path(&proto_path, enumeration.name()),
                is_message: false,
                is_map_entry: false,
            },
        );
    }
}

/// prost's name for a type nested in `parents`: `parent_module::TypeName`.
fn rust_path(parents: &[&str], name: &str) -> String {
    parents
        .iter()
        .map(|parent| snake(parent))
        .chain([upper_camel(name)])
        .collect::<Vec<_>>()
        .join("::")
}

/// prost's field and module names.
fn snake(name: &str) -> String {
    sanitize(name.to_snake_case())
}

/// prost's type and variant names.
fn upper_camel(name: &str) -> String {
    sanitize(name.to_upper_camel_case())
}

/// As prost escapes identifiers that are keywords.
fn sanitize(ident: String) -> String {
    match ident.as_str() {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" | "gen" => format!("r#{ident}"),
        "self" | "super" | "extern" | "crate" | "Self" => format!("{ident}_"),
        _ if ident.starts_with(|c: char| c.is_ascii_digit()) => format!("_{ident}"),
        _ => ident,
    }
}

/// How one field's value is written, decided from its type.
enum ValueKind {
    /// A method of `JsonOut` taking the value: `string`, `int32`, `bool`...
    Scalar(&'static str),
    /// An enum field (`i32`), written by name through the Rust enum at this path.
    Enum(String),
    /// A message, which writes itself.
    Message,
}

/// One field of a message, as the writer sees it.
struct FieldPlan {
    json_key: String,
    rust_name: String,
    kind: ValueKind,
    repeated: bool,
    /// For a member of a real oneof: the oneof's Rust field and the variant's path.
    oneof: Option<(String, String)>,
}

fn write_message(
    types: &TypeIndex,
    package: &str,
    parents: &[&str],
    message: &DescriptorProto,
    code: &mut String,
) {
    let proto_path: Vec<&str> = parents.iter().copied().chain([message.name()]).collect();
    let is_map_entry = message
        .options
        .as_ref()
        .is_some_and(|options| options.map_entry());
    if !is_map_entry {
        let rust = rust_path(parents, message.name());
        let full_name = format!("{package}.{}", proto_path.join("."));
        let plans: Option<Vec<FieldPlan>> = message
            .field
            .iter()
            .map(|field| field_plan(types, package, &proto_path, message, field))
            .collect();
        match plans {
            Some(mut plans) => {
                plans.sort_by(|a, b| a.json_key.cmp(&b.json_key));
                write_impl(&rust, &full_name, &plans, code);
            }
            None => write_unhandled_impl(&rust, &full_name, code),
        }
    }
    for nested in &message.nested_type {
        write_message(types, package, &proto_path, nested, code);
    }
}

/// The plan of one field; `None` when the writers do not handle its type.
fn field_plan(
    types: &TypeIndex,
    package: &str,
    proto_path: &[&str],
    message: &DescriptorProto,
    field: &FieldDescriptorProto,
) -> Option<FieldPlan> {
    let kind = match field.r#type() {
        Type::Bool => ValueKind::Scalar("bool"),
        Type::Int32 | Type::Sint32 | Type::Sfixed32 => ValueKind::Scalar("int32"),
        Type::Uint32 | Type::Fixed32 => ValueKind::Scalar("uint32"),
        Type::Int64 | Type::Sint64 | Type::Sfixed64 => ValueKind::Scalar("int64"),
        Type::Uint64 | Type::Fixed64 => ValueKind::Scalar("uint64"),
        Type::String => ValueKind::Scalar("string"),
        Type::Enum => {
            let target = types.get(field.type_name())?;
            (target.package == package).then(|| ValueKind::Enum(target.path.clone()))?
        }
        Type::Message => {
            let target = types.get(field.type_name())?;
            let known_elsewhere = matches!(
                field.type_name(),
                ".google.protobuf.Timestamp" | ".google.protobuf.FieldMask"
            );
            if target.is_map_entry || (target.package != package && !known_elsewhere) {
                return None;
            }
            ValueKind::Message
        }
        Type::Float | Type::Double | Type::Bytes | Type::Group => return None,
    };
    let json_name = match field.json_name.as_deref() {
        Some(name) => name.to_owned(),
        None => field.name().to_lower_camel_case(),
    };
    let real_oneof = field.oneof_index.filter(|_| !field.proto3_optional());
    // A proto3 `optional` field is an `Option` in Rust: left to the general path.
    if field.proto3_optional() {
        return None;
    }
    let oneof = match real_oneof {
        Some(index) => {
            let decl = message.oneof_decl.get(usize::try_from(index).ok()?)?;
            let module = proto_path.iter().map(|p| snake(p)).collect::<Vec<_>>();
            let variant = format!(
                "{}::{}::{}",
                module.join("::"),
                upper_camel(decl.name()),
                upper_camel(field.name())
            );
            Some((snake(decl.name()), variant))
        }
        None => None,
    };
    Some(FieldPlan {
        json_key: json_name,
        rust_name: snake(field.name()),
        kind,
        repeated: field.label() == Label::Repeated,
        oneof,
    })
}

fn write_unhandled_impl(rust: &str, full_name: &str, code: &mut String) {
    let _ = writeln!(
        code,
        "\n/// `{full_name}` has a field the generated writers do not handle.\n\
         impl crate::json::typed::WriteJson for {rust} {{\n\
         \x20   fn write_json(&self, _out: &mut crate::json::typed::JsonOut) -> Result<(), crate::json::typed::Unhandled> {{\n\
         \x20       Err(crate::json::typed::Unhandled)\n\
         \x20   }}\n}}"
    );
}

fn write_impl(rust: &str, full_name: &str, fields: &[FieldPlan], code: &mut String) {
    let _ = writeln!(
        code,
        "\n/// `{full_name}`.\n\
         #[allow(deprecated)] // deprecated fields are written all the same\n\
         impl crate::json::typed::WriteJson for {rust} {{\n\
         \x20   fn write_json(&self, out: &mut crate::json::typed::JsonOut) -> Result<(), crate::json::typed::Unhandled> {{\n\
         \x20       out.open();"
    );
    for field in fields {
        write_field(field, code);
    }
    code.push_str("        out.close();\n        Ok(())\n    }\n}\n");
}

/// The statements that write one field.
fn write_field(field: &FieldPlan, code: &mut String) {
    let key = format!("b\"\\\"{}\\\":\"", field.json_key);
    let name = &field.rust_name;
    if let Some((oneof, variant)) = &field.oneof {
        let _ = writeln!(
            code,
            "        if let Some({variant}(value)) = &self.{oneof} {{\n\
             \x20           out.key({key});\n\
             \x20           {}\n\
             \x20       }}",
            value_statement(&field.kind, "value")
        );
        return;
    }
    if field.repeated {
        let item = value_statement(&field.kind, "item");
        let _ = writeln!(
            code,
            "        if out.emits(!self.{name}.is_empty()) {{\n\
             \x20           out.key({key});\n\
             \x20           out.open_list();\n\
             \x20           for item in &self.{name} {{\n\
             \x20               out.item();\n\
             \x20               {item}\n\
             \x20           }}\n\
             \x20           out.close_list();\n\
             \x20       }}"
        );
        return;
    }
    match &field.kind {
        ValueKind::Message => {
            let _ = writeln!(
                code,
                "        match &self.{name} {{\n\
                 \x20           Some(value) => {{\n\
                 \x20               out.key({key});\n\
                 \x20               value.write_json(out)?;\n\
                 \x20           }}\n\
                 \x20           None if out.emits(false) => {{\n\
                 \x20               out.key({key});\n\
                 \x20               out.null();\n\
                 \x20           }}\n\
                 \x20           None => {{}}\n\
                 \x20       }}"
            );
        }
        kind => {
            let is_set = match kind {
                ValueKind::Scalar("string") => format!("!self.{name}.is_empty()"),
                ValueKind::Scalar("bool") => format!("self.{name}"),
                _ => format!("self.{name} != 0"),
            };
            let _ = writeln!(
                code,
                "        if out.emits({is_set}) {{\n\
                 \x20           out.key({key});\n\
                 \x20           {}\n\
                 \x20       }}",
                value_statement(kind, &format!("&self.{name}"))
            );
        }
    }
}

/// The statement that writes `value` (a reference to the field's value) of this kind.
fn value_statement(kind: &ValueKind, value: &str) -> String {
    match kind {
        ValueKind::Scalar("string") => format!("out.string({value})?;"),
        ValueKind::Scalar(method) => format!("out.{method}(*{value})?;"),
        ValueKind::Enum(path) => format!(
            "out.enumeration(*{value}, {path}::try_from(*{value}).ok().map(|known| known.as_str_name()))?;"
        ),
        ValueKind::Message => format!("{value}.write_json(out)?;"),
    }
}

/// `write_encoded`, for the tests: decodes a message of the package by its full name and
/// writes it with its generated writer.
fn write_dispatch(types: &TypeIndex, package: &str, code: &mut String) {
    let _ = writeln!(
        code,
        "\n/// Decodes `bytes` as the message `full_name` of this package and writes it as JSON;\n\
         /// `None` for a name that is not one of its messages.\n\
         #[cfg(test)]\n\
         pub(crate) fn write_encoded(full_name: &str, bytes: &[u8], output: crate::json::Output) -> Option<Result<Vec<u8>, crate::json::typed::Unhandled>> {{\n\
         \x20   match full_name {{"
    );
    let prefix = format!(".{package}.");
    for (name, rust) in &types.0 {
        let Some(local) = name.strip_prefix(&prefix) else {
            continue;
        };
        if rust.is_map_entry || !rust.is_message {
            continue;
        }
        let _ = writeln!(
            code,
            "        \"{package}.{local}\" => Some(crate::json::typed::decode_and_write::<{}>(bytes, output)),",
            rust.path
        );
    }
    code.push_str("        _ => None,\n    }\n}\n");
}
