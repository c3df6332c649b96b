//! Compiles the control plane's proto (`proto/coreweave/mock/v1/control.proto`) without a
//! system `protoc`, for the gRPC control service and its reflection.

use std::{env, error::Error, fs, path::PathBuf};

const PROTO_ROOT: &str = "proto";
const PROTO_FILE: &str = "proto/coreweave/mock/v1/control.proto";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let descriptors = protox::compile([PROTO_FILE], [PROTO_ROOT])?;
    fs::write(
        out_dir.join("control_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
