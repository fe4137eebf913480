//! An owned place under an adaptive limit.

use std::sync::Arc;

use seawall_core::limit::{AdaptiveLimiter as CoreLimiter, LimitTicket, Outcome};

use crate::clock::TokioClock;

/// A place under an [`AdaptiveLimiter`](super::AdaptiveLimiter): record how
/// the call ended with [`success`](Self::success) or
/// [`overload`](Self::overload); dropped unrecorded (a cancelled call), it gives
/// the place back and teaches nothing.
#[must_use = "a permit dropped at once gives its place back unrecorded"]
pub struct LimiterPermit {
    core: Arc<CoreLimiter>,
    ticket: Option<LimitTicket>,
}

impl LimiterPermit {
    pub(super) fn new(core: Arc<CoreLimiter>, ticket: LimitTicket) -> Self {
        Self {
            core,
            ticket: Some(ticket),
        }
    }

    /// The dependency answered: its latency teaches the limit.
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// The call showed that the dependency is overloaded (a timeout, a 429 or
    /// 503, a refused connection).
    pub fn overload(self) {
        self.record(Outcome::Overload);
    }

    /// Records `outcome`.
    pub fn record(mut self, outcome: Outcome) {
        if let Some(ticket) = self.ticket.take() {
            self.core.record(ticket, outcome, &TokioClock);
        }
    }

    /// Gives the place back without an outcome (what dropping the permit does).
    pub fn release(self) {}
}

impl Drop for LimiterPermit {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.core.release(ticket);
        }
    }
}

impl std::fmt::Debug for LimiterPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimiterPermit").finish_non_exhaustive()
    }
}
