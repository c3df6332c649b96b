//! Compiles the protos under `proto/` without a system `protoc`.
//!
//! protox parses the files into a descriptor set; tonic-prost-build turns that into messages,
//! clients and (with the `server` feature) server stubs; pbjson-build adds serde impls that
//! follow the canonical proto3 JSON mapping. The encoded descriptor set is written to
//! `OUT_DIR` for server reflection and for the contract test.

use std::{env, error::Error, fs, path::PathBuf};

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

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(env::var_os("CARGO_FEATURE_SERVER").is_some())
        // The two well-known types the API uses, with their canonical proto3 JSON forms
        // (pbjson-types writes timestamps with `+00:00` and masks as objects).
        .extern_path(".google.protobuf.FieldMask", "crate::proto::FieldMask")
        .extern_path(".google.protobuf.Timestamp", "crate::proto::Timestamp")
        .compile_fds(descriptors)?;

    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .build(&[".coreweave"])?;
    Ok(())
}
