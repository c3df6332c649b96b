//! `--state-file`: the state kept across restarts, `kill -9` included, in a redb database.
//!
//! Each organization's state is one row: its snapshot (the format of `GET /_mock/v1/state`).
//! A mutating call writes its organization's row, in a durable transaction, before it is
//! answered, so no acknowledged change is lost. Writes are serialized, and each writes the
//! state as it is when the write starts, so a later write never drops an earlier call's
//! change.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
};

use redb::{Database, ReadableTable, TableDefinition};

use crate::{
    model::store::{OrgState, Store},
    model::OrgId,
    persist::snapshot::{self, SnapshotError},
};

/// The rows: organization id to its snapshot, as JSON.
const ORGANIZATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("organizations");
/// The file's own metadata, such as its format version.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The format version this mock writes and reads.
const FORMAT: u64 = 1;

/// A state file that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// The database could not be opened, read or written.
    #[error("state file {path}: {problem}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// A row does not hold a valid snapshot.
    #[error("state file {path}: organization {org}: {source}")]
    Snapshot {
        /// The file.
        path: PathBuf,
        /// The organization whose row is bad.
        org: String,
        /// What is wrong with it.
        source: SnapshotError,
    },
}

/// Runs `open`, turning a panic into its message, without the panic's report on stderr (the
/// error that names the file says it once).
fn quietly<T>(open: impl FnOnce() -> T) -> Result<T, String> {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(open));
    std::panic::set_hook(report);
    result.map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

/// An open state file.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    db: Database,
    /// Serializes writes (see the module docs).
    writing: Mutex<()>,
}

impl StateFile {
    /// Opens (or creates) the file and reads the state it holds. A file that is not a state
    /// file, is corrupt, or was written by a newer mock is an error, and is left as it is.
    pub(crate) fn open(path: &Path) -> Result<(Self, Vec<(OrgId, OrgState)>), PersistError> {
        let storage = |problem: String| PersistError::Storage {
            path: path.to_owned(),
            problem,
        };
        // An existing file is opened, never created over, so that a file that is not a state
        // file stays as it is. redb asserts on some truncated or corrupt files instead of
        // returning an error, so a panic while opening is that error too.
        let opened = quietly(|| {
            if path.exists() {
                Database::open(path)
            } else {
                Database::create(path)
            }
        });
        let db = match opened {
            Ok(result) => result.map_err(|e| storage(e.to_string()))?,
            Err(why) => {
                return Err(storage(format!(
                    "the file is truncated or corrupt ({why}); it was left as it is"
                )))
            }
        };
        let file = Self {
            path: path.to_owned(),
            db,
            writing: Mutex::new(()),
        };
        let orgs = match quietly(|| file.load()) {
            Ok(loaded) => loaded?,
            Err(why) => {
                return Err(storage(format!(
                    "the file is corrupt ({why}); it was left as it is"
                )))
            }
        };
        Ok((file, orgs))
    }

    fn storage(&self, problem: impl ToString) -> PersistError {
        PersistError::Storage {
            path: self.path.clone(),
            problem: problem.to_string(),
        }
    }

    /// Reads every organization, after checking (or, for a new file, writing) the format.
    fn load(&self) -> Result<Vec<(OrgId, OrgState)>, PersistError> {
        let txn = self.db.begin_write().map_err(|e| self.storage(e))?;
        let mut orgs = Vec::new();
        {
            let mut meta = txn.open_table(META).map_err(|e| self.storage(e))?;
            let format = meta
                .get("format")
                .map_err(|e| self.storage(e))?
                .map(|v| v.value());
            match format {
                Some(FORMAT) => {}
                Some(newer) => {
                    return Err(self.storage(format!(
                        "written in format {newer} by a newer coreweave-mock; this one reads format {FORMAT}"
                    )))
                }
                None => {
                    meta.insert("format", FORMAT).map_err(|e| self.storage(e))?;
                }
            }
            let table = txn.open_table(ORGANIZATIONS).map_err(|e| self.storage(e))?;
            for row in table.iter().map_err(|e| self.storage(e))? {
                let (key, value) = row.map_err(|e| self.storage(e))?;
                let org = key.value().to_owned();
                let bad = |source| PersistError::Snapshot {
                    path: self.path.clone(),
                    org: org.clone(),
                    source,
                };
                let json: serde_json::Value =
                    serde_json::from_slice(value.value()).map_err(|e| {
                        bad(SnapshotError {
                            path: "(row)".into(),
                            problem: e.to_string(),
                        })
                    })?;
                orgs.extend(snapshot::import(&json, None).map_err(bad)?);
            }
        }
        txn.commit().map_err(|e| self.storage(e))?;
        Ok(orgs)
    }

    /// Writes `org`'s state as it is now (removing its row when it owns nothing).
    pub(crate) fn save(&self, store: &Store, org: &OrgId) -> Result<(), PersistError> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let json = snapshot::export(store, Some(org));
        let bytes = serde_json::to_vec(&json).map_err(|e| self.storage(e))?;
        let txn = self.db.begin_write().map_err(|e| self.storage(e))?;
        {
            let mut table = txn.open_table(ORGANIZATIONS).map_err(|e| self.storage(e))?;
            table
                .insert(org.as_str(), bytes.as_slice())
                .map_err(|e| self.storage(e))?;
        }
        txn.commit().map_err(|e| self.storage(e))
    }

    /// Writes every organization in `org`'s scope (every organization, for `None`), dropping
    /// the rows of those that no longer exist.
    pub(crate) fn save_scope(
        &self,
        store: &Store,
        org: Option<&OrgId>,
    ) -> Result<(), PersistError> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let txn = self.db.begin_write().map_err(|e| self.storage(e))?;
        {
            let mut table = txn.open_table(ORGANIZATIONS).map_err(|e| self.storage(e))?;
            match org {
                Some(org) => {
                    table.remove(org.as_str()).map_err(|e| self.storage(e))?;
                }
                None => {
                    table.retain(|_, _| false).map_err(|e| self.storage(e))?;
                }
            }
            let rows = store.each_org(org, |id, _| id.clone());
            for id in rows {
                let json = snapshot::export(store, Some(&id));
                let bytes = serde_json::to_vec(&json).map_err(|e| self.storage(e))?;
                table
                    .insert(id.as_str(), bytes.as_slice())
                    .map_err(|e| self.storage(e))?;
            }
        }
        txn.commit().map_err(|e| self.storage(e))
    }
}
