//! The status lifecycle (spec section 6), computed from timestamps.
//!
//! A resource remembers only when it last changed and what that change was. Its observed
//! state follows from the current time and the server's transition delay, so the server needs
//! no background task and an injected clock makes every transition instant in tests.

use std::time::{Duration, SystemTime};

use coreweave_api::inference::v1alpha1::Status as GatewayPhase;
use tonic::Status;

/// The longest message a forced state may carry, in characters.
pub(crate) const MAX_FORCED_MESSAGE_CHARS: usize = 1024;

/// The last change made to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// It was created.
    Creating,
    /// It was updated.
    Updating,
    /// It was deleted.
    Deleting,
}

/// What a read sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Still being created.
    Creating,
    /// Settled.
    Ready,
    /// An update is being applied.
    Updating,
    /// Being deleted; still readable.
    Deleting,
    /// Deleted and gone: reads are NOT_FOUND.
    Gone,
}

/// A state a gateway is forced into by the control API, such as FAILED, whatever its
/// lifecycle says: the mock's own lifecycle never fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForcedGatewayState {
    /// The status reads report: FAILED or ERROR.
    pub status: GatewayPhase,
    /// The message of its `Ready` condition.
    pub message: String,
}

impl ForcedGatewayState {
    /// A forced state from the control API's words: a status name (`STATUS_FAILED` or
    /// `STATUS_ERROR`) and a message of at most [`MAX_FORCED_MESSAGE_CHARS`] characters.
    pub(crate) fn parse(status: &str, message: &str) -> Result<Self, Status> {
        let status = match GatewayPhase::from_str_name(status) {
            Some(phase @ (GatewayPhase::Failed | GatewayPhase::Error)) => phase,
            _ => {
                let shown = coreweave_api::text::cut(status, 64);
                return Err(Status::invalid_argument(format!(
                    "status: {shown:?} cannot be forced; use STATUS_FAILED or STATUS_ERROR"
                )));
            }
        };
        if message.chars().count() > MAX_FORCED_MESSAGE_CHARS {
            return Err(Status::invalid_argument(format!(
                "message: longer than {MAX_FORCED_MESSAGE_CHARS} characters"
            )));
        }
        Ok(Self {
            status,
            message: message.to_owned(),
        })
    }
}

/// The timestamps and last change of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// When the resource was created; never changes.
    pub created_at: SystemTime,
    /// When the resource last changed; this is its `updated_at`.
    pub changed_at: SystemTime,
    /// What the last change was.
    pub phase: Phase,
    /// When it first became READY, once an earlier change is known to have settled.
    pub first_ready: Option<SystemTime>,
    /// Since when its transition has been held by the control API, if it is.
    pub held_since: Option<SystemTime>,
    /// How long its current transition was held before, which postpones its settling.
    pub held_for: Duration,
    /// The state a gateway's reads report instead of its lifecycle's, once forced.
    pub forced: Option<Box<ForcedGatewayState>>,
}

impl Lifecycle {
    /// A resource created at `now`.
    pub fn created(now: SystemTime) -> Self {
        Self {
            created_at: now,
            changed_at: now,
            phase: Phase::Creating,
            first_ready: None,
            held_since: None,
            held_for: Duration::ZERO,
            forced: None,
        }
    }

    /// Records an update at `now`. An update while CREATING supersedes the create: the
    /// resource becomes READY only when the update settles.
    pub fn update(&mut self, now: SystemTime, delay: Duration) {
        self.first_ready = self.ready_since(now, delay);
        self.changed_at = now.max(self.changed_at);
        self.phase = Phase::Updating;
        self.held_for = Duration::ZERO;
    }

    /// Records a delete at `now`.
    pub fn delete(&mut self, now: SystemTime, delay: Duration) {
        self.first_ready = self.ready_since(now, delay);
        self.changed_at = now.max(self.changed_at);
        self.phase = Phase::Deleting;
        self.held_for = Duration::ZERO;
    }

    /// Holds the transition in progress at `now` until [`release`](Self::release); a
    /// resource that has settled has nothing to hold, and is left as it is.
    pub fn hold(&mut self, now: SystemTime, delay: Duration) -> bool {
        if self.held_since.is_none() && now < self.settles_at(delay) {
            self.held_since = Some(now);
        }
        self.held_since.is_some()
    }

    /// Lets a held transition go on where it stopped.
    pub fn release(&mut self, now: SystemTime) {
        if let Some(since) = self.held_since.take() {
            self.held_for += now.duration_since(since).unwrap_or_default();
        }
    }

    /// When the resource first became READY, if it has by `now`.
    pub fn ready_since(&self, now: SystemTime, delay: Duration) -> Option<SystemTime> {
        let settles = self.settles_at(delay);
        self.first_ready.or(match self.phase {
            Phase::Creating | Phase::Updating if now >= settles => Some(settles),
            _ => None,
        })
    }

    /// When the last change settles (never, while it is held).
    pub fn settles_at(&self, delay: Duration) -> SystemTime {
        let never = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
        match self.held_since {
            Some(_) => never,
            None => delay
                .checked_add(self.held_for)
                .and_then(|wait| self.changed_at.checked_add(wait))
                .unwrap_or(never),
        }
    }

    /// Whether the resource has been READY at least once by `now`.
    pub fn has_been_ready(&self, now: SystemTime, delay: Duration) -> bool {
        self.ready_since(now, delay).is_some()
    }

    /// The transitional state the last change started; what the change's own response shows,
    /// even when the transition delay is zero.
    pub fn started(&self) -> Observed {
        match self.phase {
            Phase::Creating => Observed::Creating,
            Phase::Updating => Observed::Updating,
            Phase::Deleting => Observed::Deleting,
        }
    }

    /// The state a read at `now` sees.
    pub fn observe(&self, now: SystemTime, delay: Duration) -> Observed {
        let settled = now >= self.settles_at(delay);
        match (self.phase, settled) {
            (Phase::Creating, false) => Observed::Creating,
            (Phase::Updating, false) => Observed::Updating,
            (Phase::Deleting, false) => Observed::Deleting,
            (Phase::Creating | Phase::Updating, true) => Observed::Ready,
            (Phase::Deleting, true) => Observed::Gone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELAY: Duration = Duration::from_secs(1);

    #[test]
    fn create_update_delete_settle_after_the_delay() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut life = Lifecycle::created(t0);
        assert_eq!(life.observe(t0, DELAY), Observed::Creating);
        assert_eq!(life.observe(t0 + DELAY, DELAY), Observed::Ready);

        life.update(t0 + 2 * DELAY, DELAY);
        assert_eq!(life.observe(t0 + 2 * DELAY, DELAY), Observed::Updating);
        assert_eq!(life.observe(t0 + 3 * DELAY, DELAY), Observed::Ready);

        life.delete(t0 + 4 * DELAY, DELAY);
        assert_eq!(life.observe(t0 + 4 * DELAY, DELAY), Observed::Deleting);
        assert_eq!(life.observe(t0 + 5 * DELAY, DELAY), Observed::Gone);
        assert_eq!(life.created_at, t0);
    }

    #[test]
    fn an_update_while_creating_is_not_ready_until_it_settles() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut life = Lifecycle::created(t0);
        life.update(t0 + DELAY / 2, DELAY);
        // The create's own delay has passed, but the update superseded it.
        assert!(!life.has_been_ready(t0 + DELAY + DELAY / 4, DELAY));
        assert_eq!(
            life.observe(t0 + DELAY + DELAY / 4, DELAY),
            Observed::Updating
        );
        assert!(life.has_been_ready(t0 + DELAY + DELAY / 2, DELAY));
        // Once READY, later updates keep the first READY time.
        life.update(t0 + 3 * DELAY, DELAY);
        assert_eq!(
            life.ready_since(t0 + 3 * DELAY, DELAY),
            Some(t0 + DELAY + DELAY / 2)
        );
    }

    #[test]
    fn a_held_transition_waits_until_released() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut life = Lifecycle::created(t0);
        assert!(life.hold(t0 + DELAY / 2, DELAY));
        assert_eq!(life.observe(t0 + 10 * DELAY, DELAY), Observed::Creating);
        life.release(t0 + 10 * DELAY);
        // Half the delay was left when it was held.
        assert_eq!(life.observe(t0 + 10 * DELAY, DELAY), Observed::Creating);
        assert_eq!(
            life.observe(t0 + 10 * DELAY + DELAY / 2, DELAY),
            Observed::Ready
        );
        // A settled resource has nothing to hold.
        assert!(!life.hold(t0 + 20 * DELAY, DELAY));
    }

    #[test]
    fn zero_delay_settles_immediately() {
        let t0 = SystemTime::now();
        assert_eq!(
            Lifecycle::created(t0).observe(t0, Duration::ZERO),
            Observed::Ready
        );
    }
}
