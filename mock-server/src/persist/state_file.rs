//! `--state-file`: the state kept across restarts, `kill -9` included, in a redb database.
//!
//! Each VPC and gateway is one row, keyed `<organization>/<vpcs|gateways>/<id>`, holding its
//! snapshot entry (the format of `GET /_mock/v1/state`). A change writes the rows of the
//! resources it changed, in one durable transaction, before it is answered, so no acknowledged
//! change is lost; a change whose write fails is undone (see [`Store::change_org`]).
//!
//! A file that cannot be written, or that vanished from its path, makes the mock report
//! NOT_SERVING; [`StateFile::ensure_writable`], called before each change and every second by
//! the server, at most twice a second reopens (or recreates) it and writes the whole state again once it can.
//!
//! Format 1 (one row per organization, by mocks before 0.1.1) is read and rewritten as
//! format 2 when the file is opened.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError, RwLock},
    time::{Duration, Instant},
};

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use serde_json::Value;

use crate::{
    model::store::{OrgState, Store, Unsaved},
    model::OrgId,
    persist::snapshot::{self, SnapshotError},
};

/// Format 2's rows: `<organization>/<vpcs|gateways>/<id>` to the resource's snapshot entry.
const RESOURCES: TableDefinition<&str, &[u8]> = TableDefinition::new("resources");
/// Format 1's rows: organization id to its whole snapshot.
const ORGANIZATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("organizations");
/// The file's own metadata, such as its format version.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The format version this mock writes.
const FORMAT: u64 = 2;
/// How often, at most, a file that cannot be written is reopened and rewritten whole.
const RECOVERY_INTERVAL: Duration = Duration::from_millis(500);

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

/// Which file a path named when it was opened, to notice when it no longer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    fn of(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path).ok()?;
        Some(Self {
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }
}

/// The database as it is now: open and writable, or why not.
#[derive(Debug)]
struct Handle {
    /// `None` once a write failed, so that the file is reopened from scratch.
    db: Option<Database>,
    /// The file `db` is.
    identity: Option<FileIdentity>,
    /// Why the file cannot be written, since the last failure.
    problem: Option<String>,
}

/// A failure of the database, as its message (redb's own errors are large to return).
#[derive(Debug)]
struct DbError(String);

impl<E: Into<redb::Error>> From<E> for DbError {
    fn from(error: E) -> Self {
        Self(error.into().to_string())
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A row to write: its key and its new value, or `None` to remove it.
type Row = (String, Option<Vec<u8>>);

/// An open state file.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    /// Writers share it (redb runs one write transaction at a time by itself); a failure and
    /// a recovery take it whole.
    handle: RwLock<Handle>,
    /// When recovery was last tried; one recovery at a time, at most one per
    /// [`RECOVERY_INTERVAL`].
    last_recovery: Mutex<Option<Instant>>,
}

impl StateFile {
    /// Opens (or creates) the file and reads the state it holds. A file that is not a state
    /// file, is corrupt, or was written by a newer mock is an error, and is left as it is.
    pub(crate) fn open(path: &Path) -> Result<(Self, Vec<(OrgId, OrgState)>), PersistError> {
        let db = open_database(path)?;
        let file = Self {
            path: path.to_owned(),
            handle: RwLock::new(Handle {
                db: None,
                identity: FileIdentity::of(path),
                problem: None,
            }),
            last_recovery: Mutex::new(None),
        };
        let orgs = match quietly(|| file.load(&db)) {
            Ok(loaded) => loaded?,
            Err(why) => {
                return Err(
                    file.storage(format!("the file is corrupt ({why}); it was left as it is"))
                )
            }
        };
        file.write_handle().db = Some(db);
        Ok((file, orgs))
    }

    fn storage(&self, problem: impl ToString) -> PersistError {
        PersistError::Storage {
            path: self.path.clone(),
            problem: problem.to_string(),
        }
    }

    fn write_handle(&self) -> std::sync::RwLockWriteGuard<'_, Handle> {
        self.handle.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads every organization, after checking (or, for a new file, writing) the format; a
    /// file in format 1 is rewritten in format 2.
    fn load(&self, db: &Database) -> Result<Vec<(OrgId, OrgState)>, PersistError> {
        let txn = db.begin_write().map_err(|e| self.storage(e))?;
        let format = {
            let meta = txn.open_table(META).map_err(|e| self.storage(e))?;
            let format = meta.get("format").map_err(|e| self.storage(e))?;
            format.map(|v| v.value())
        };
        let orgs = match format {
            None | Some(FORMAT) => self.read_resources(&txn)?,
            Some(1) => {
                let orgs = self.read_organizations(&txn)?;
                let rows: Vec<Row> = orgs
                    .iter()
                    .flat_map(|(org, state)| org_rows(org, state))
                    .collect();
                write_rows(&txn, &rows).map_err(|e| self.storage(e))?;
                txn.delete_table(ORGANIZATIONS)
                    .map_err(|e| self.storage(e))?;
                tracing::info!(path = %self.path.display(), "state file rewritten from format 1 to format 2");
                orgs
            }
            Some(newer) => {
                return Err(self.storage(format!(
                    "written in format {newer} by a newer coreweave-mock; this one reads formats 1 and {FORMAT}"
                )))
            }
        };
        {
            let mut meta = txn.open_table(META).map_err(|e| self.storage(e))?;
            meta.insert("format", FORMAT).map_err(|e| self.storage(e))?;
        }
        txn.commit().map_err(|e| self.storage(e))?;
        Ok(orgs)
    }

    /// Format 2: a row per resource, grouped into organizations.
    fn read_resources(
        &self,
        txn: &WriteTransaction,
    ) -> Result<Vec<(OrgId, OrgState)>, PersistError> {
        let table = txn.open_table(RESOURCES).map_err(|e| self.storage(e))?;
        let mut grouped: std::collections::BTreeMap<String, (Vec<Value>, Vec<Value>)> =
            std::collections::BTreeMap::new();
        for row in table.iter().map_err(|e| self.storage(e))? {
            let (key, value) = row.map_err(|e| self.storage(e))?;
            let key = key.value();
            let bad_row = |problem: String| PersistError::Snapshot {
                path: self.path.clone(),
                org: key.split('/').next().unwrap_or_default().to_owned(),
                source: SnapshotError {
                    path: format!("(row {key})"),
                    problem,
                },
            };
            let mut parts = key.splitn(3, '/');
            let (Some(org), Some(kind)) = (parts.next(), parts.next()) else {
                return Err(bad_row("not a resource's key".into()));
            };
            let entry: Value =
                serde_json::from_slice(value.value()).map_err(|e| bad_row(e.to_string()))?;
            let (vpcs, gateways) = grouped.entry(org.to_owned()).or_default();
            match kind {
                "vpcs" => vpcs.push(entry),
                "gateways" => gateways.push(entry),
                _ => return Err(bad_row(format!("unknown kind {kind:?}"))),
            }
        }
        let mut orgs = Vec::with_capacity(grouped.len());
        for (org, (vpcs, gateways)) in grouped {
            let bad = |source| PersistError::Snapshot {
                path: self.path.clone(),
                org: org.clone(),
                source,
            };
            let id = OrgId::parse(&org).ok_or_else(|| {
                bad(SnapshotError {
                    path: "(row)".into(),
                    problem: "not an organization id".into(),
                })
            })?;
            let snapshot = snapshot::org_snapshot(&id, vpcs, gateways);
            orgs.extend(snapshot::import(&snapshot, None).map_err(bad)?);
        }
        Ok(orgs)
    }

    /// Format 1: a whole snapshot per organization.
    fn read_organizations(
        &self,
        txn: &WriteTransaction,
    ) -> Result<Vec<(OrgId, OrgState)>, PersistError> {
        let table = txn.open_table(ORGANIZATIONS).map_err(|e| self.storage(e))?;
        let mut orgs = Vec::new();
        for row in table.iter().map_err(|e| self.storage(e))? {
            let (key, value) = row.map_err(|e| self.storage(e))?;
            let org = key.value().to_owned();
            let bad = |source| PersistError::Snapshot {
                path: self.path.clone(),
                org: org.clone(),
                source,
            };
            let json: Value = serde_json::from_slice(value.value()).map_err(|e| {
                bad(SnapshotError {
                    path: "(row)".into(),
                    problem: e.to_string(),
                })
            })?;
            orgs.extend(snapshot::import(&json, None).map_err(bad)?);
        }
        Ok(orgs)
    }

    /// Why the file cannot be written now, if it cannot: a write failed since the last
    /// recovery, or the file vanished from its path.
    pub(crate) fn problem(&self) -> Option<String> {
        let handle = self.handle.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(problem) = &handle.problem {
            return Some(problem.clone());
        }
        (FileIdentity::of(&self.path) != handle.identity).then(|| {
            format!(
                "state file {} vanished from its path (removed, moved or replaced)",
                self.path.display()
            )
        })
    }

    /// Makes sure the file can be written: when it cannot ([`problem`](Self::problem)),
    /// reopens it (creating it again if it vanished) and writes the whole of `store` to it.
    /// Errs while that is still impossible.
    pub(crate) fn ensure_writable(&self, store: &Store) -> Result<(), PersistError> {
        if self.problem().is_none() {
            return Ok(());
        }
        let mut last_attempt = self
            .last_recovery
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(problem) = self.problem() else {
            return Ok(()); // another call recovered it meanwhile
        };
        if last_attempt.is_some_and(|at| at.elapsed() < RECOVERY_INTERVAL) {
            return Err(self.storage(problem));
        }
        *last_attempt = Some(Instant::now());
        let db = {
            let mut handle = self.write_handle();
            handle.db = None; // releases the file's lock, so that it can be opened again
            open_database(&self.path)?
        };
        // With no database in the handle, every write fails (and is undone) until this one
        // is in place, so the state read here holds every acknowledged change. It is read
        // without the handle: a write holds its organization's lock while it uses the handle.
        let rows: Vec<Row> = store.each_org(None, org_rows).concat();
        let rewritten = (|| {
            let txn = db.begin_write()?;
            txn.delete_table(RESOURCES)?;
            txn.delete_table(ORGANIZATIONS)?;
            txn.open_table(META)?.insert("format", FORMAT)?;
            write_rows(&txn, &rows)?;
            txn.commit()?;
            Ok::<_, DbError>(())
        })();
        rewritten.map_err(|e| self.storage(e))?;
        *self.write_handle() = Handle {
            db: Some(db),
            identity: FileIdentity::of(&self.path),
            problem: None,
        };
        tracing::warn!(
            path = %self.path.display(),
            resources = rows.len(),
            after = %problem,
            "state file is writable again: wrote the whole state to it"
        );
        Ok(())
    }

    /// Writes the resources `unsaved` names, as they are now in `state`, in one durable
    /// transaction. A failure marks the file as not writable until
    /// [`ensure_writable`](Self::ensure_writable) recovers it.
    pub(crate) fn save_changes(
        &self,
        org: &OrgId,
        state: &OrgState,
        unsaved: &Unsaved,
    ) -> Result<(), PersistError> {
        let vpcs = unsaved.vpc_ids().map(|id| {
            let entry = state.vpcs.stored(id).map(snapshot::vpc_entry);
            row(org, "vpcs", id, entry.as_ref())
        });
        let gateways = unsaved.gateway_ids().map(|id| {
            let entry = state.gateways.stored(id).map(snapshot::gateway_entry);
            row(org, "gateways", id, entry.as_ref())
        });
        let rows: Vec<Row> = vpcs.chain(gateways).collect();
        self.write(|txn| write_rows(txn, &rows))
    }

    /// Writes every organization in `org`'s scope (every organization, for `None`) as it is
    /// in `store`, removing the rows of resources that no longer exist.
    pub(crate) fn save_scope(
        &self,
        store: &Store,
        org: Option<&OrgId>,
    ) -> Result<(), PersistError> {
        let rows: Vec<Row> = store.each_org(org, org_rows).concat();
        self.write(|txn| {
            let mut table = txn.open_table(RESOURCES)?;
            match org {
                // Every key of the organization starts `<org>/`; `0` follows `/`.
                Some(org) => {
                    let (from, to) = (format!("{org}/"), format!("{org}0"));
                    table.retain_in(from.as_str()..to.as_str(), |_, _| false)?;
                }
                None => table.retain(|_, _| false)?,
            }
            drop(table);
            write_rows(txn, &rows)
        })
    }

    /// Runs `work` in one durable transaction; a failure marks the file as not writable.
    fn write(
        &self,
        work: impl FnOnce(&WriteTransaction) -> Result<(), DbError>,
    ) -> Result<(), PersistError> {
        let result = {
            let handle = self.handle.read().unwrap_or_else(PoisonError::into_inner);
            match (&handle.problem, &handle.db) {
                (Some(problem), _) => return Err(self.storage(problem)),
                (None, None) => return Err(self.storage("the file is not open")),
                (None, Some(db)) => (|| {
                    let txn = db.begin_write()?;
                    work(&txn)?;
                    txn.commit()?;
                    Ok::<_, DbError>(())
                })(),
            }
        };
        result.map_err(|e| {
            let problem = format!("cannot be written: {e}");
            tracing::error!(path = %self.path.display(), %problem, "state file write failed; changes are refused until it can be written again");
            let mut handle = self.write_handle();
            handle.problem = Some(problem.clone());
            handle.db = None;
            self.storage(problem)
        })
    }
}

/// Opens the file at `path`, or creates it when there is none. An existing file is opened,
/// never created over, so that a file that is not a state file stays as it is. redb asserts
/// on some truncated or corrupt files instead of returning an error, so a panic while opening
/// is that error too.
fn open_database(path: &Path) -> Result<Database, PersistError> {
    let storage = |problem: String| PersistError::Storage {
        path: path.to_owned(),
        problem,
    };
    let opened = quietly(|| {
        if path.exists() {
            Database::open(path)
        } else {
            Database::create(path)
        }
    });
    match opened {
        Ok(result) => result.map_err(|e| storage(e.to_string())),
        Err(why) => Err(storage(format!(
            "the file is truncated or corrupt ({why}); it was left as it is"
        ))),
    }
}

/// The row of resource `id` of `org`: its entry, or a removal when it is gone.
fn row(org: &OrgId, kind: &str, id: uuid::Uuid, entry: Option<&Value>) -> Row {
    // Writing a JSON value as bytes cannot fail.
    let bytes = entry.map(|entry| serde_json::to_vec(entry).unwrap_or_default());
    (format!("{org}/{kind}/{}", id.hyphenated()), bytes)
}

/// The rows of every resource `org` holds.
fn org_rows(org: &OrgId, state: &OrgState) -> Vec<Row> {
    let vpcs = state
        .vpcs
        .entries()
        .map(|(id, tracked)| row(org, "vpcs", id, Some(&snapshot::vpc_entry(tracked))));
    let gateways = state
        .gateways
        .entries()
        .map(|(id, tracked)| row(org, "gateways", id, Some(&snapshot::gateway_entry(tracked))));
    vpcs.chain(gateways).collect()
}

fn write_rows(txn: &WriteTransaction, rows: &[Row]) -> Result<(), DbError> {
    let mut table = txn.open_table(RESOURCES)?;
    for (key, value) in rows {
        match value {
            Some(bytes) => table.insert(key.as_str(), bytes.as_slice())?,
            None => table.remove(key.as_str())?,
        };
    }
    Ok(())
}
