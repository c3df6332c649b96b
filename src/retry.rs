//! Retries with exponential backoff and jitter, decided per RPC by its idempotency.

use std::{future::Future, time::Duration};

use tokio::time::Instant;

use crate::{
    error::{Error, ErrorKind},
    rpc::Idempotency,
};

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

/// What to do about a failed attempt.
pub(crate) enum Decision<T> {
    /// Give up with the attempt's error.
    Stop,
    /// Try again, if the attempt and time budget allow.
    Retry,
    /// The call succeeded after all, with this result.
    Done(T),
}

/// Runs `attempt` until it succeeds, `decide` stops it, or `policy`'s budget runs out.
///
/// Plain code over its inputs: `attempt` gets the attempt number and the time left in the
/// budget; `random` draws the jitter; time is Tokio's, so tests pause it. Between attempts
/// it sleeps the policy's backoff, or the server's `Retry-After` when that is longer.
pub(crate) async fn run<T, A, AFut, D, DFut>(
    policy: &RetryPolicy,
    method: &str,
    mut random: impl FnMut() -> f64,
    mut attempt: A,
    mut decide: D,
) -> Result<T, Error>
where
    A: FnMut(u32, Duration) -> AFut,
    AFut: Future<Output = Result<T, Error>>,
    D: FnMut(Error, u32) -> DFut,
    DFut: Future<Output = Result<(Decision<T>, Error), Error>>,
{
    let deadline = later(Instant::now(), policy.total_timeout);
    let mut number = 1;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let error = match attempt(number, remaining).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let error = match decide(error, number).await? {
            (Decision::Done(value), _) => return Ok(value),
            (Decision::Stop, error) => return Err(error),
            (Decision::Retry, error) => error,
        };
        if number >= policy.max_attempts {
            return Err(error);
        }
        let backoff = policy
            .backoff(number, random())
            .max(error.retry_after().unwrap_or_default());
        if backoff >= deadline.saturating_duration_since(Instant::now()) {
            return Err(Error::out_of_budget(
                method,
                number,
                policy.total_timeout,
                error,
            ));
        }
        tracing::debug!(attempt = number, ?backoff, error = %error, "retrying");
        tokio::time::sleep(backoff).await;
        number += 1;
    }
}

/// `instant` plus `duration`, or a time so far ahead that no wait reaches it when the sum
/// would overflow (a budget or wait of `Duration::MAX`, say).
pub(crate) fn later(instant: Instant, duration: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    instant
        .checked_add(duration)
        .or_else(|| instant.checked_add(FAR))
        .unwrap_or(instant)
}

/// Whether a failed attempt of an RPC of this idempotency may be repeated.
pub(crate) fn should_retry(idempotency: Idempotency, error: &Error) -> bool {
    match idempotency {
        Idempotency::Idempotent => error.is_retryable(),
        // The request never left the client, so it cannot have acted.
        Idempotency::Unsafe => error.kind() == ErrorKind::Connect,
    }
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

/// A per-call hook that may turn a failed attempt into a success or a retry.
pub(crate) trait AsyncRecover<T> {
    /// Decides what to do about `error` from attempt number `attempt`.
    fn recover(
        &self,
        error: &Error,
        attempt: u32,
    ) -> impl Future<Output = Result<Recovery<T>, Error>>;
}

/// No hook: decide by the RPC's idempotency.
pub(crate) struct NoRecovery;

impl<T> AsyncRecover<T> for NoRecovery {
    async fn recover(&self, _: &Error, _: u32) -> Result<Recovery<T>, Error> {
        Ok(Recovery::Default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

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

    fn unavailable() -> Error {
        Error::new(ErrorKind::Unavailable, "down")
    }

    fn quick_policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            multiplier: 2.0,
            total_timeout: Duration::from_secs(60),
        }
    }

    /// Runs the loop with an attempt that fails `failures` times, then succeeds; returns
    /// the outcome, the attempt numbers seen, and the virtual time it took.
    async fn drive(
        policy: RetryPolicy,
        failures: u32,
        make_error: fn() -> Error,
        decision: fn() -> Decision<u32>,
    ) -> (Result<u32, Error>, Vec<u32>, Duration) {
        let start = Instant::now();
        let mut seen = Vec::new();
        let result = run(
            &policy,
            "GetVPC",
            || 1.0,
            |n, _remaining| {
                seen.push(n);
                async move {
                    if n <= failures {
                        Err(make_error())
                    } else {
                        Ok(n)
                    }
                }
            },
            |error, _| async move { Ok((decision(), error)) },
        )
        .await;
        (result, seen, start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn retries_sleep_the_backoff_between_attempts() {
        let (result, seen, elapsed) =
            drive(quick_policy(), 2, unavailable, || Decision::Retry).await;
        assert_eq!(result.unwrap(), 3);
        assert_eq!(seen, [1, 2, 3]);
        assert_eq!(elapsed, Duration::from_millis(100 + 200));
    }

    #[tokio::test(start_paused = true)]
    async fn max_attempts_ends_with_the_last_error() {
        let (result, seen, _) = drive(quick_policy(), 10, unavailable, || Decision::Retry).await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Unavailable);
        assert_eq!(seen, [1, 2, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_gives_up_at_once() {
        let (result, seen, elapsed) =
            drive(quick_policy(), 10, unavailable, || Decision::Stop).await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Unavailable);
        assert_eq!((seen, elapsed), (vec![1], Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_stretches_the_backoff() {
        fn busy() -> Error {
            unavailable().with_retry_after(Some(Duration::from_secs(3)))
        }
        let (result, _, elapsed) = drive(quick_policy(), 1, busy, || Decision::Retry).await;
        assert_eq!(result.unwrap(), 2);
        assert_eq!(elapsed, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn running_out_of_time_is_its_own_kind() {
        let policy = RetryPolicy {
            total_timeout: Duration::from_millis(250),
            ..quick_policy()
        };
        let (result, seen, elapsed) = drive(policy, 10, unavailable, || Decision::Retry).await;
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::OutOfBudget);
        assert!(!error.is_timeout() && !error.is_retryable());
        assert!(error.to_string().contains("after 2 attempt(s)"), "{error}");
        let last = std::error::Error::source(&error).unwrap().to_string();
        assert_eq!(last, "UNAVAILABLE: down");
        // 100 ms, then a 200 ms backoff would pass the 250 ms budget.
        assert_eq!((seen, elapsed), (vec![1, 2], Duration::from_millis(100)));
    }

    #[test]
    fn out_of_range_random_numbers_are_clamped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1, -5.0), Duration::from_millis(50));
        assert_eq!(policy.backoff(1, 9.0), Duration::from_millis(100));
    }
}
