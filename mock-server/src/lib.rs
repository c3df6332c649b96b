//! An in-memory mock of CoreWeave's VPC and inference gateway management APIs.
//!
//! It behaves like the real service: real CRUD state per organization, every validation rule
//! with `google.rpc` error details, the CREATING/UPDATING/DELETING lifecycle, bearer auth,
//! gRPC health and server reflection, and the same API over REST/JSON, Connect and gRPC-Web on
//! the same port. Start it in-process on port 0 from a test, or run the
//! `coreweave-mock` binary.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use coreweave_mock::{Fault, Method, MockServer};
//!
//! let server = MockServer::builder()
//!     .fault(Fault::fail(Method::GetVpc, 1, tonic::Code::Unavailable))
//!     .start()
//!     .await?;
//! assert!(server.endpoint().starts_with("http://127.0.0.1:"));
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs, unreachable_pub)]

#[doc = include_str!("../docs/control-api.md")]
pub mod control_api {}

// The wings, lowest first; each imports only those above it in this list.
mod api;
mod control;
mod model;
mod persist;
mod pipeline;
mod protocol;
mod server;

pub use control::{
    ClockView, Count, Difference, Expectation, NearMiss, Scope, VerifyError, MAX_NEAR_MISSES,
};
pub use coreweave_api::rpc::Method;
pub use model::{
    clock::{Clock, ManualClock, SystemClock},
    lifecycle::ForcedGatewayState,
    zones::Zone,
    OrgId,
};
pub use persist::{snapshot, PersistError};
pub use pipeline::{
    faults::{
        Fault, FaultAction, FaultPlan, Methods, TooManyFaults, MAX_FAULTS, MAX_FAULTS_PER_ORG,
    },
    journal::{Call, CallFilter, Protocol, JOURNAL_CAPACITY},
    recorded::{Violation, MAX_REQUEST_JSON_BYTES},
    Limits, DEFAULT_QUOTA,
};
pub use server::{
    connections::ConnectionLimits, MockError, MockServer, MockServerBuilder,
    DEFAULT_TRANSITION_DELAY, SHUTDOWN_GRACE,
};
/// The gRPC status codes scripted faults answer with (tonic's), so that a test needs no
/// `tonic` dependency of its own.
pub use tonic::Code;
