//! How many calls each connection has in flight, so that the server, when every connection
//! slot is taken, closes only a connection that is doing nothing. The listener gives each
//! connection an [`InFlight`], and the connection's protocol router counts each call on it
//! while the call runs.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

/// The calls in flight on one connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Whether no call is in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }

    /// Counts a call until the returned guard is dropped.
    pub(crate) fn begin(&self) -> CallInFlight {
        self.0.fetch_add(1, Ordering::AcqRel);
        CallInFlight(self.clone())
    }
}

/// One call in flight; dropping it ends the call's count.
#[derive(Debug)]
pub(crate) struct CallInFlight(InFlight);

impl Drop for CallInFlight {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_idle_when_its_calls_have_ended() {
        let in_flight = InFlight::default();
        assert!(in_flight.is_idle());
        let first = in_flight.begin();
        let second = in_flight.clone().begin();
        drop(first);
        assert!(!in_flight.is_idle());
        drop(second);
        assert!(in_flight.is_idle());
    }
}
