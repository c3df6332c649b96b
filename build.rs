//! Compiles the protos under `proto/` without a system `protoc`.
//!
//! protox parses the files into a descriptor set; tonic-prost-build turns that into messages
//! (each with its `prost::Name`), with the `client` feature the client stubs, with the
//! `server` feature the server stubs. The
//! encoded descriptor set is written to `OUT_DIR`: server reflection, the contract test and
//! the JSON mapping (`src/json/`, through prost-reflect) read it. Each API package also gets
//! the JSON writers of its messages (`build/json_writers.rs`, `src/json/typed.rs`).

use std::{env, error::Error, fs, path::PathBuf};

#[path = "build/json_writers.rs"]
mod json_writers;

const PROTO_ROOT: &str = "proto";
const PROTO_FILES: &[&str] = &[
    "proto/coreweave/networking/v1beta1/vpc.proto",
    "proto/coreweave/inference/v1alpha1/gateway.proto",
];
const DESCRIPTOR_FILE: &str = "coreweave_descriptor.bin";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let descriptors = protox::compile(PROTO_FILES, [PROTO_ROOT])?;
    let encoded = prost::Message::encode_to_vec(&descriptors);
    fs::write(out_dir.join(DESCRIPTOR_FILE), &encoded)?;
    for (package, code) in json_writers::generate(&descriptors) {
        fs::write(out_dir.join(format!("{package}.json.rs")), code)?;
    }

    tonic_prost_build::configure()
        .build_client(env::var_os("CARGO_FEATURE_CLIENT").is_some())
        .build_server(env::var_os("CARGO_FEATURE_SERVER").is_some())
        // The two well-known types the API uses, with conversions of their own.
        .extern_path(".google.protobuf.FieldMask", "crate::proto::FieldMask")
        .extern_path(".google.protobuf.Timestamp", "crate::proto::Timestamp")
        .compile_fds_with_config(descriptors, type_names())?;
    Ok(())
}

/// Every message implements `prost::Name`, so the JSON mapping finds its descriptor.
fn type_names() -> tonic_prost_build::Config {
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    config
}
