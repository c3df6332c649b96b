//! Time, injectable so that lifecycle tests are instant and deterministic.

use coreweave_api::proto::Timestamp;
use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Whether time moves only when advanced (a [`ManualClock`]).
    fn is_frozen(&self) -> bool {
        false
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share one time.
///
/// ```
/// use coreweave_mock::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let before = clock.now();
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now().duration_since(before).unwrap(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A manual clock that starts at the current wall-clock time.
    pub fn new() -> Self {
        Self::starting_at(SystemTime::now())
    }

    /// A manual clock that starts at `start`.
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_frozen(&self) -> bool {
        true
    }
}

/// The latest time the API can show: 9999-12-31T23:59:59Z, the end of what a protobuf
/// `Timestamp` (and RFC 3339) holds. No organization's time is moved past it.
pub(crate) fn latest() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799)
}

/// `time` moved ahead by `by`, or [`latest`] if that would pass it.
pub(crate) fn ahead(time: SystemTime, by: Duration) -> SystemTime {
    time.checked_add(by)
        .map_or_else(latest, |later| later.min(latest()))
}

/// An advance that would move time past [`latest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("moving time ahead by {by:?} would pass 9999-12-31T23:59:59Z, the latest time a timestamp can hold")]
pub(crate) struct PastTheLatestTime {
    /// The advance asked for.
    pub(crate) by: Duration,
}

/// Converts a time to the protobuf well-known `Timestamp`.
pub(crate) fn to_timestamp(time: SystemTime) -> Timestamp {
    Timestamp::from(time)
}

/// Converts a protobuf `Timestamp` to a time; `None` when it is out of range.
pub(crate) fn from_timestamp(timestamp: &Timestamp) -> Option<SystemTime> {
    SystemTime::try_from(*timestamp).ok()
}

/// How far each organization's time, and the whole server's, has been moved ahead of the
/// server's clock. Moving one organization's time never moves another's.
#[derive(Debug, Default)]
pub(crate) struct Offsets(Mutex<OffsetTable>);

#[derive(Debug, Default)]
struct OffsetTable {
    all: Duration,
    orgs: crate::model::Map<crate::model::OrgId, Duration>,
}

impl OffsetTable {
    fn of(&self, org: &crate::model::OrgId) -> Duration {
        let own = self.orgs.get(org).copied().unwrap_or_default();
        self.all.saturating_add(own)
    }
}

impl Offsets {
    /// The offset in force for `org`: the server's plus its own.
    pub(crate) fn of(&self, org: &crate::model::OrgId) -> Duration {
        let table = self.lock();
        table.of(org)
    }

    /// The server-wide offset.
    pub(crate) fn all(&self) -> Duration {
        self.lock().all
    }

    /// Moves `org`'s time (or, for `None`, everyone's) forward by `by`, unless that would
    /// move anyone's time, seen from the server's `now`, past [`latest`].
    pub(crate) fn advance(
        &self,
        org: Option<&crate::model::OrgId>,
        by: Duration,
        now: SystemTime,
    ) -> Result<(), PastTheLatestTime> {
        let mut table = self.lock();
        let furthest = match org {
            Some(org) => table.of(org),
            None => {
                let own = table.orgs.values().max().copied().unwrap_or_default();
                table.all.saturating_add(own)
            }
        };
        let reaches = furthest
            .checked_add(by)
            .and_then(|ahead| now.checked_add(ahead));
        if reaches.is_none_or(|time| time > latest()) {
            return Err(PastTheLatestTime { by });
        }
        let offset = match org {
            Some(org) => table.orgs.entry(org.clone()).or_default(),
            None => &mut table.all,
        };
        *offset = offset.saturating_add(by);
        Ok(())
    }

    /// Forgets `org`'s offset (or, for `None`, every offset).
    pub(crate) fn reset(&self, org: Option<&crate::model::OrgId>) {
        let mut table = self.lock();
        match org {
            Some(org) => {
                table.orgs.remove(org);
            }
            None => *table = OffsetTable::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetTable> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
