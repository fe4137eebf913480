//! What a process knows of its shared breaker: the last shared state it saw
//! (or its local fallback), and the Closed outcomes it has not reported yet.

use std::sync::Arc;

use seawall_core::breaker::State;
use seawall_core::time::Instant;

use super::seed::LocalBreaker;
use super::state::SharedState;

/// The view every call reads first (one `ArcSwap` load): replaced as a whole,
/// never changed in place.
pub(crate) enum View {
    /// Redis answers: the last shared state seen.
    Shared(Mirror),
    /// Redis does not answer and the policy is to fail open: a local breaker decides.
    Fallback(Arc<LocalBreaker>),
    /// Redis does not answer and the policy is to fail closed: every call is rejected.
    Unavailable,
}

impl View {
    /// The state a caller of `state()` sees.
    pub(crate) fn state(&self) -> State {
        match self {
            View::Shared(mirror) => mirror.shared.state,
            View::Fallback(local) => local.state(),
            View::Unavailable => State::Open,
        }
    }
}

/// The shared state as last read, with the local instants that make it usable
/// without Redis.
pub(crate) struct Mirror {
    pub(crate) shared: SharedState,
    /// Open: the end of the open duration, on the local clock (read from Redis
    /// as time remaining, so the two clocks never have to agree).
    pub(crate) deadline: Instant,
    /// HalfOpen: every probe slot was taken when last looked at; calls are
    /// rejected locally until the next sync instead of asking Redis each time.
    pub(crate) probes_full: bool,
}

impl Mirror {
    pub(crate) fn new(shared: SharedState, now: Instant, probes_full: bool) -> Self {
        Self {
            deadline: now + shared.open_remaining,
            shared,
            probes_full,
        }
    }

    /// Whether a success must be reported: it ends a run of failures that the
    /// fleet is counting.
    pub(crate) fn counts_failures(&self) -> bool {
        self.shared.state == State::Closed && self.shared.consecutive_failures > 0
    }
}

/// The Closed outcomes of one round that Redis has not heard of yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Batch {
    /// The round they belong to (`-1`: the state was not read yet).
    pub(crate) generation: i64,
    pub(crate) failures: u32,
    /// Failures since the last success in the batch.
    pub(crate) trailing: u32,
    /// The batch holds a success: the fleet's run of failures ended.
    pub(crate) reset: bool,
}

impl Batch {
    pub(crate) const fn new(generation: i64) -> Self {
        Self {
            generation,
            failures: 0,
            trailing: 0,
            reset: false,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.failures == 0 && !self.reset
    }

    pub(crate) fn failure(&mut self) {
        self.failures = self.failures.saturating_add(1);
        self.trailing = self.trailing.saturating_add(1);
    }

    pub(crate) fn success(&mut self) {
        self.trailing = 0;
        self.reset = true;
    }

    /// Takes the outcomes out, leaving an empty batch of `next` generation.
    pub(crate) fn take(&mut self, next: i64) -> Batch {
        std::mem::replace(self, Batch::new(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_remembers_the_run_after_its_last_success() {
        let mut batch = Batch::new(7);
        assert!(batch.is_empty());
        batch.failure();
        batch.failure();
        batch.success();
        batch.failure();
        assert_eq!(
            batch.take(8),
            Batch {
                generation: 7,
                failures: 3,
                trailing: 1,
                reset: true
            }
        );
        assert_eq!(batch, Batch::new(8));
    }
}
