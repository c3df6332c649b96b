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
#![warn(missing_docs)]

mod auth;
mod clock;
mod connections;
mod context;
mod control;
mod control_grpc;
mod error;
mod faults;
mod gateway;
mod http;
mod journal;
mod lifecycle;
mod metrics;
mod persist;
mod server;
pub mod snapshot;
mod store;
mod validation;
mod vpc;
mod zones;

pub use auth::OrgId;
pub use clock::{Clock, ManualClock, SystemClock};
pub use connections::ConnectionLimits;
pub use context::{Limits, DEFAULT_QUOTA};
pub use control::{ClockView, Scope};
pub use coreweave_api::rpc::Method;
pub use faults::{Fault, FaultAction, FaultPlan, ForcedGatewayState, Methods};
pub use journal::{Call, CallFilter, Protocol, JOURNAL_CAPACITY};
pub use persist::PersistError;
pub use server::{
    MockError, MockServer, MockServerBuilder, DEFAULT_TRANSITION_DELAY, SHUTDOWN_GRACE,
};
pub use zones::Zone;

/// The hash map of the per-call lookups (organizations, resources, tokens): foldhash, seeded
/// per map, several times cheaper per lookup than the standard SipHash. The keys are bounded
/// in number (quotas, the token memory) and mostly made by the server.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A UUID as the API spells every id: lowercase and hyphenated.
pub(crate) fn uuid_text(id: uuid::Uuid) -> String {
    id.hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned()
}
