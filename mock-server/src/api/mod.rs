//! The API: what each RPC of the VPC and gateway services does, and the rules a request must
//! follow. The services are the generated gRPC traits, implemented once; every protocol
//! (gRPC, gRPC-Web, Connect, REST) calls these same implementations through the pipeline.
//! A snapshot's resources are held to the same rules.

pub(crate) mod gateway;
mod journaled;
pub(crate) mod overview;
pub(crate) mod snapshot;
pub(crate) mod validation;
pub(crate) mod vpc;
