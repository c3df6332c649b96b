//! Retries with exponential backoff and jitter, decided per RPC by its idempotency.

use std::time::Duration;

/// How failed calls are retried.
///
/// A call is attempted at most `max_attempts` times. Between attempts the client sleeps for
/// an exponentially growing backoff with jitter: attempt `n` waits between half and all of
/// `min(max_backoff, initial_backoff * multiplier^(n-1))`. No attempt starts after
/// `total_timeout` has passed since the first, and each attempt's deadline is capped by what
/// remains of it.
///
/// Only transient failures are retried (see [`Error::is_retryable`](crate::Error::is_retryable)),
/// and only for calls that are safe to repeat: reads, deletes and full-state updates always;
/// a gateway create because it carries a client-chosen id; a VPC create only when the request
/// never reached the server or a lookup by name shows the first attempt did not land.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// The most attempts per call, the first included. `1` disables retries.
    pub max_attempts: u32,
    /// The backoff before the second attempt.
    pub initial_backoff: Duration,
    /// The largest backoff.
    pub max_backoff: Duration,
    /// The factor by which the backoff grows after each attempt.
    pub multiplier: f64,
    /// The overall budget for all attempts of one call.
    pub total_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            multiplier: 2.0,
            total_timeout: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn no_retries() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff after failed attempt number `attempt` (1-based), given a uniform random
    /// number `random` in `[0, 1)`.
    pub fn backoff(&self, attempt: u32, random: f64) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let ceiling = self.initial_backoff.as_secs_f64() * self.multiplier.powi(exponent);
        let ceiling = ceiling.min(self.max_backoff.as_secs_f64());
        let jittered = ceiling * (0.5 + 0.5 * random.clamp(0.0, 1.0));
        Duration::try_from_secs_f64(jittered).unwrap_or(self.max_backoff)
    }
}

/// Whether an RPC may be sent again after a failure whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Repeating it has the same effect as sending it once.
    Idempotent,
    /// Repeating it could act twice; it is retried only when it never left the client.
    Unsafe,
}

/// What a call-specific recovery hook decided about a failed attempt.
pub(crate) enum Recovery<T> {
    /// Decide by the RPC's idempotency and the error.
    Default,
    /// Try again (subject to the attempt and time budget).
    Retry,
    /// The call succeeded after all, with this result.
    Done(T),
}

/// One RPC's identity and retry safety.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rpc {
    pub(crate) service: &'static str,
    pub(crate) method: &'static str,
    pub(crate) idempotency: Idempotency,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            multiplier: 2.0,
            ..RetryPolicy::default()
        };
        // With the top of the jitter range, the ceiling itself.
        let top = |n| policy.backoff(n, 1.0);
        assert_eq!(top(1), Duration::from_millis(100));
        assert_eq!(top(2), Duration::from_millis(200));
        assert_eq!(top(3), Duration::from_millis(400));
        assert_eq!(top(4), Duration::from_millis(800));
        assert_eq!(top(5), Duration::from_secs(1));
        assert_eq!(top(60), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_ceiling() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(2, 0.0), Duration::from_millis(100));
        for i in 0..100 {
            let random = f64::from(i) / 100.0;
            let backoff = policy.backoff(2, random);
            assert!(backoff >= Duration::from_millis(100), "{backoff:?}");
            assert!(backoff <= Duration::from_millis(200), "{backoff:?}");
        }
    }

    #[test]
    fn out_of_range_random_numbers_are_clamped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1, -5.0), Duration::from_millis(50));
        assert_eq!(policy.backoff(1, 9.0), Duration::from_millis(100));
    }
}
