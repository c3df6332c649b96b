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

/// Where a resource is in its lifecycle, as a waiter sees it.
#[allow(unreachable_pub)] // Public only for `Watched`; not nameable outside.
pub enum Phase {
    /// CREATING or UPDATING.
    Pending,
    /// A status this client does not know (read as UNSPECIFIED): keep waiting, whatever the
    /// wait is for, as the official Terraform provider does.
    Unknown,
    /// READY.
    Ready,
    /// DELETING.
    Deleting,
    /// FAILED or ERROR, with the reasons the resource gives.
    Failed(String),
}

/// What the waiters need of a VPC or a gateway.
#[allow(unreachable_pub)] // Public only to be a supertrait of `Resource`; not nameable outside.
pub trait Watched: Sized {
    /// What it is called in messages: `VPC`, `gateway`.
    const KIND: &'static str;
    /// Where it is in its lifecycle.
    fn phase(&self) -> Phase;
    /// Its status name, such as `STATUS_CREATING`.
    fn status_name(&self) -> &'static str;
    /// It, as a waiter error's last-seen resource.
    fn into_last_seen(self) -> LastSeen;
}

/// What a waiter waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    /// READY; a deleting, failed or missing resource ends the wait with an error.
    Ready,
    /// Gone: reads are NOT_FOUND.
    Deleted,
}

/// Polls `get_opt` (a read that gives `None` for NOT_FOUND) until the resource `id` meets
/// `condition`, fails, or `options.max_wait` passes. Returns the READY resource, or `None`
/// once it is deleted.
pub(crate) async fn wait_for<R, F, Fut>(
    condition: Condition,
    id: &str,
    options: WaitOptions,
    get_opt: F,
) -> Result<Option<R>, Error>
where
    R: Watched,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<R>, Error>>,
{
    let deadline = crate::retry::later(Instant::now(), options.max_wait);
    let target = match condition {
        Condition::Ready => "READY",
        Condition::Deleted => "deleted",
    };
    loop {
        let resource = match (condition, get_opt().await?) {
            (Condition::Deleted, None) => return Ok(None),
            (Condition::Ready, None) => {
                let message = format!(
                    "{} {id} was not found while waiting for it to be READY",
                    R::KIND
                );
                return Err(Error::new(ErrorKind::NotFound, message));
            }
            (_, Some(resource)) => resource,
        };
        let unexpected = |resource: R| {
            let message = format!(
                "{} {id} is {} while waiting for it to be {target}",
                R::KIND,
                resource.status_name()
            );
            Error::new(ErrorKind::UnexpectedState, message)
                .with_last_seen(resource.into_last_seen())
        };
        match (condition, resource.phase()) {
            (Condition::Ready, Phase::Ready) => return Ok(Some(resource)),
            (Condition::Ready, Phase::Pending)
            | (Condition::Deleted, Phase::Deleting)
            | (_, Phase::Unknown) => {}
            (Condition::Ready, Phase::Failed(reasons)) => {
                let message = format!("{} {id} is {}{reasons}", R::KIND, resource.status_name());
                return Err(Error::new(ErrorKind::ResourceFailed, message)
                    .with_last_seen(resource.into_last_seen()));
            }
            _ => return Err(unexpected(resource)),
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            let message = format!(
                "gave up waiting for {} {id} to be {target} after {:?}",
                R::KIND,
                options.max_wait
            );
            return Err(Error::new(ErrorKind::WaitTimeout, message)
                .with_last_seen(resource.into_last_seen()));
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
