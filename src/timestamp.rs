//! `google.protobuf.Timestamp` with the canonical proto3 JSON form: RFC 3339 in UTC with a
//! `Z` suffix and 0, 3, 6 or 9 fractional digits (`"2023-11-07T05:31:56Z"`). pbjson-types
//! writes `+00:00` instead, which strict proto3 JSON readers reject.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};

/// A point in time, as seconds and nanoseconds since the Unix epoch.
///
/// ```
/// use coreweave_api::proto::Timestamp;
///
/// let t: Timestamp = serde_json::from_str(r#""2023-11-07T05:31:56.5+01:00""#)?;
/// assert_eq!(serde_json::to_string(&t)?, r#""2023-11-07T04:31:56.500Z""#);
/// # Ok::<(), serde_json::Error>(())
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

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let nanos = u32::try_from(self.nanos).map_err(serde::ser::Error::custom)?;
        let time = DateTime::<Utc>::from_timestamp(self.seconds, nanos)
            .ok_or_else(|| serde::ser::Error::custom(OutOfRange))?;
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let time = DateTime::parse_from_rfc3339(&text).map_err(|e| {
            serde::de::Error::custom(format!("{text:?} is not an RFC 3339 timestamp: {e}"))
        })?;
        Ok(Self {
            seconds: time.timestamp(),
            nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or_default(),
        })
    }
}

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

    #[test]
    fn json_is_canonical() {
        let whole = Timestamp {
            seconds: 1_699_335_116,
            nanos: 0,
        };
        assert_eq!(
            serde_json::to_string(&whole).unwrap(),
            r#""2023-11-07T05:31:56Z""#
        );
        let micros = Timestamp {
            seconds: 1_699_335_116,
            nanos: 123_456_000,
        };
        assert_eq!(
            serde_json::to_string(&micros).unwrap(),
            r#""2023-11-07T05:31:56.123456Z""#
        );
        assert!(serde_json::from_str::<Timestamp>(r#""yesterday""#).is_err());
    }
}
