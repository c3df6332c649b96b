//! Persistence: snapshots of the state as JSON (the control API's `GET`/`PUT
//! /_mock/v1/state` and `--seed`), and the redb state file of `--state-file`. Built on the
//! model alone.

pub mod snapshot;
mod state_file;

pub use state_file::PersistError;
pub(crate) use state_file::StateFile;
