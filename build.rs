//! Compiles the protos under `proto/` without a system `protoc`.
//!
//! protox parses the files into a descriptor set; tonic-prost-build turns that into messages,
//! clients and (with the `server` feature) server stubs; pbjson-build adds serde impls that
//! follow the canonical proto3 JSON mapping. The encoded descriptor set is written to
//! `OUT_DIR` for server reflection and for the contract test, next to the descriptors of the
//! `google.rpc` error details (under `proto-deps/`), which reflection serves too.

use std::{env, error::Error, fs, path::PathBuf};

const PROTO_ROOT: &str = "proto";
const PROTO_FILES: &[&str] = &[
    "proto/coreweave/networking/v1beta1/vpc.proto",
    "proto/coreweave/inference/v1alpha1/gateway.proto",
];
const DESCRIPTOR_FILE: &str = "coreweave_descriptor.bin";
/// `google.rpc` error details, for reflection only (tonic-types has the Rust types).
const ERROR_DETAILS_ROOT: &str = "proto-deps";
const ERROR_DETAILS_FILE: &str = "google/rpc/error_details.proto";
const ERROR_DETAILS_DESCRIPTOR_FILE: &str = "error_details_descriptor.bin";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    println!("cargo:rerun-if-changed={ERROR_DETAILS_ROOT}");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let descriptors = protox::compile(PROTO_FILES, [PROTO_ROOT])?;
    let encoded = prost::Message::encode_to_vec(&descriptors);
    fs::write(out_dir.join(DESCRIPTOR_FILE), &encoded)?;

    let error_details = protox::compile([ERROR_DETAILS_FILE], [ERROR_DETAILS_ROOT])?;
    fs::write(
        out_dir.join(ERROR_DETAILS_DESCRIPTOR_FILE),
        prost::Message::encode_to_vec(&error_details),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(env::var_os("CARGO_FEATURE_SERVER").is_some())
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        // pbjson-types has no FieldMask with the canonical JSON form; ours is in src/proto.rs.
        .extern_path(".google.protobuf.FieldMask", "crate::proto::FieldMask")
        .compile_fds(descriptors)?;

    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .build(&[".coreweave"])?;
    Ok(())
}
