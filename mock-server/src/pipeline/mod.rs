//! The pipeline: what every API call goes through, whatever protocol brought it. The shared
//! state ([`MockState`]), admission (size limit, authentication), scripted and steered
//! faults, the journal of calls (with what it keeps of each request), the metrics, and a
//! call's [`Answer`], made at once unless the call must wait.
//!
//! Built on the model and the state file; the API services run inside it.

pub(crate) mod answer;
pub(crate) mod auth;
pub(crate) mod faults;
pub(crate) mod journal;
pub(crate) mod metrics;
pub(crate) mod recorded;
mod state;

pub(crate) use answer::Answer;
pub(crate) use state::MockState;
pub use state::{Limits, DEFAULT_QUOTA};
