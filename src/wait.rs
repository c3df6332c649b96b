//! Waiters: poll a resource until it reaches a state, with jitter and a required maximum.

use std::{future::Future, time::Duration};

use tokio::time::Instant;

use crate::error::{Error, ErrorKind, LastSeen};

/// How long to wait, and how often to look.
///
/// A `Duration` converts into options with that maximum and the default poll interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// The longest the wait may take.
    pub max_wait: Duration,
    /// The pause between polls; each pause is jittered by up to ±20%.
    pub poll_interval: Duration,
}

impl WaitOptions {
    /// The default pause between polls.
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);

    /// Waits at most `max_wait`, polling at the default interval.
    pub fn new(max_wait: Duration) -> Self {
        Self {
            max_wait,
            poll_interval: Self::DEFAULT_POLL_INTERVAL,
        }
    }

    /// Sets the pause between polls.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }
}

impl From<Duration> for WaitOptions {
    fn from(max_wait: Duration) -> Self {
        Self::new(max_wait)
    }
}

/// What one poll saw.
pub(crate) enum Poll<T> {
    /// The wait is over.
    Done(T),
    /// Not yet; this is what was seen.
    Pending(LastSeen),
    /// A state the wait cannot end well from.
    Unexpected(String, LastSeen),
    /// The resource failed.
    Failed(String, LastSeen),
}

/// Polls until `poll` says done, fails, or `options.max_wait` passes.
pub(crate) async fn poll_until<T, F, Fut>(
    options: WaitOptions,
    target: &str,
    poll: F,
) -> Result<T, Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Poll<T>, Error>>,
{
    let deadline = Instant::now() + options.max_wait;
    loop {
        let last_seen = match poll().await? {
            Poll::Done(value) => return Ok(value),
            Poll::Pending(last_seen) => last_seen,
            Poll::Unexpected(why, last_seen) => {
                return Err(Error::new(ErrorKind::UnexpectedState, why).with_last_seen(last_seen))
            }
            Poll::Failed(why, last_seen) => {
                return Err(Error::new(ErrorKind::ResourceFailed, why).with_last_seen(last_seen))
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            let message = format!("gave up waiting for {target} after {:?}", options.max_wait);
            return Err(Error::new(ErrorKind::WaitTimeout, message).with_last_seen(last_seen));
        }
        tokio::time::sleep(jittered(options.poll_interval, fastrand::f64()).min(remaining)).await;
    }
}

/// `interval` scaled by a factor in `[0.8, 1.2)` drawn from `random` in `[0, 1)`.
pub(crate) fn jittered(interval: Duration, random: f64) -> Duration {
    interval.mul_f64(0.8 + 0.4 * random.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_within_twenty_percent() {
        let base = Duration::from_millis(1000);
        assert_eq!(jittered(base, 0.0), Duration::from_millis(800));
        assert_eq!(jittered(base, 0.5), Duration::from_millis(1000));
        assert!(jittered(base, 0.999) < Duration::from_millis(1200));
    }

    #[test]
    fn a_duration_is_a_maximum_with_the_default_interval() {
        let options = WaitOptions::from(Duration::from_secs(9));
        assert_eq!(options.max_wait, Duration::from_secs(9));
        assert_eq!(options.poll_interval, WaitOptions::DEFAULT_POLL_INTERVAL);
    }
}
