//! `google.protobuf.Timestamp`, with conversions to and from `SystemTime`.

use std::time::{Duration, SystemTime};

/// A point in time, as seconds and nanoseconds since the Unix epoch. In JSON (see
/// [`crate::json`]) it is an RFC 3339 string in UTC, such as `"2023-11-07T05:31:56Z"`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use coreweave_api::proto::Timestamp;
///
/// let t = Timestamp::from(SystemTime::UNIX_EPOCH + Duration::from_millis(1500));
/// assert_eq!((t.seconds, t.nanos), (1, 500_000_000));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Message)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second, 0 to 999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        let (seconds, nanos) = match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => (
                i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
                after.subsec_nanos(),
            ),
            Err(before) => {
                let before = before.duration();
                let mut seconds = -i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                let mut nanos = before.subsec_nanos();
                if nanos > 0 {
                    seconds -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                (seconds, nanos)
            }
        };
        Self {
            seconds,
            nanos: i32::try_from(nanos).unwrap_or_default(),
        }
    }
}

impl TryFrom<Timestamp> for SystemTime {
    type Error = OutOfRange;

    fn try_from(timestamp: Timestamp) -> Result<Self, Self::Error> {
        let nanos = u32::try_from(timestamp.nanos).map_err(|_| OutOfRange)?;
        let since_epoch = Duration::new(timestamp.seconds.unsigned_abs(), 0);
        let whole = if timestamp.seconds >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(since_epoch)
        } else {
            SystemTime::UNIX_EPOCH.checked_sub(since_epoch)
        };
        whole
            .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
            .ok_or(OutOfRange)
    }
}

/// A timestamp outside the range a `SystemTime` or RFC 3339 can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timestamp out of range")]
pub struct OutOfRange;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_system_time() {
        let now = SystemTime::now();
        assert_eq!(SystemTime::try_from(Timestamp::from(now)).unwrap(), now);
        let before_epoch = SystemTime::UNIX_EPOCH - Duration::from_millis(1500);
        let timestamp = Timestamp::from(before_epoch);
        assert_eq!((timestamp.seconds, timestamp.nanos), (-2, 500_000_000));
        assert_eq!(SystemTime::try_from(timestamp).unwrap(), before_epoch);
    }
}
