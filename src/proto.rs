//! The code generated from `proto/` by `build.rs`, kept apart from hand-written code.
#![allow(missing_docs, clippy::all, clippy::pedantic, rustdoc::all)]

/// `coreweave.networking.v1beta1`: the VPC API.
pub mod networking {
    /// Messages, client and server of `coreweave.networking.v1beta1`.
    pub mod v1beta1 {
        include!(concat!(env!("OUT_DIR"), "/coreweave.networking.v1beta1.rs"));
        include!(concat!(
            env!("OUT_DIR"),
            "/coreweave.networking.v1beta1.json.rs"
        ));
    }
}

/// `coreweave.inference.v1alpha1`: the inference gateway API.
pub mod inference {
    /// Messages, client and server of `coreweave.inference.v1alpha1`.
    pub mod v1alpha1 {
        include!(concat!(env!("OUT_DIR"), "/coreweave.inference.v1alpha1.rs"));
        include!(concat!(
            env!("OUT_DIR"),
            "/coreweave.inference.v1alpha1.json.rs"
        ));
    }
}

/// The encoded `FileDescriptorSet` of every proto this crate was built from, imports included.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/coreweave_descriptor.bin"));

pub use crate::{
    field_mask::{camel_case_path, snake_case_path, FieldMask},
    timestamp::{OutOfRange, Timestamp},
};
