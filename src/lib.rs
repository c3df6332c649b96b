pub mod proto;

pub use proto::{inference, networking, FILE_DESCRIPTOR_SET};
