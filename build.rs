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
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        // pbjson-types has no FieldMask with the canonical JSON form; ours is in src/field_mask.rs.
        .extern_path(".google.protobuf.FieldMask", "crate::proto::FieldMask")
        .compile_fds(descriptors)?;

    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .build(&[".coreweave"])?;
    Ok(())
}
