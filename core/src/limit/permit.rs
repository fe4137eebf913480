//! A call's place under the limit: recorded with its outcome, or given back
//! unrecorded when dropped.

use crate::time::{Clock, Instant};

use super::{AdaptiveLimiter, Outcome};

/// A place under an [`AdaptiveLimiter`], for one call. Record how the call
/// ended with [`success`](Self::success) or [`overload`](Self::overload);
/// dropped unrecorded (a cancelled call), it gives the place back and teaches
/// the limiter nothing.
#[must_use = "dropping the permit at once gives the place back unrecorded"]
#[derive(Debug)]
pub struct LimitPermit<'a> {
    limiter: &'a AdaptiveLimiter,
    ticket: Option<LimitTicket>,
}

impl<'a> LimitPermit<'a> {
    pub(super) fn new(limiter: &'a AdaptiveLimiter, ticket: LimitTicket) -> Self {
        Self {
            limiter,
            ticket: Some(ticket),
        }
    }

    /// When the call started.
    pub fn start(&self) -> Instant {
        self.ticket.as_ref().map_or(Instant::ZERO, |t| t.start)
    }

    /// The dependency answered: records the call's latency. Reads the clock.
    pub fn success<K: Clock + ?Sized>(self, clock: &K) {
        self.record(Outcome::Success, clock);
    }

    /// The call showed that the dependency is overloaded. Reads the clock.
    pub fn overload<K: Clock + ?Sized>(self, clock: &K) {
        self.record(Outcome::Overload, clock);
    }

    /// Records `outcome`. Reads the clock.
    pub fn record<K: Clock + ?Sized>(mut self, outcome: Outcome, clock: &K) {
        if let Some(ticket) = self.ticket.take() {
            self.limiter.record(ticket, outcome, clock);
        }
    }

    /// Turns the permit into an owned [`LimitTicket`], for
    /// [`AdaptiveLimiter::record`] or [`AdaptiveLimiter::release`] later.
    pub fn into_ticket(mut self) -> LimitTicket {
        match self.ticket.take() {
            Some(ticket) => ticket,
            None => unreachable!("a permit holds its ticket until it is consumed"),
        }
    }
}

impl Drop for LimitPermit<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.limiter.release(ticket);
        }
    }
}

/// A place under a limiter without a borrow of it, for adapters that hold the
/// limiter in an `Arc` (a tower response future, a Python context manager).
///
/// It must go back to the limiter that issued it exactly once, through
/// [`AdaptiveLimiter::record`] or [`AdaptiveLimiter::release`]; it is neither
/// `Copy` nor `Clone`. It has no `Drop`: an adapter wraps it in its own guard.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a ticket must be recorded or released, or its place stays taken"]
pub struct LimitTicket {
    pub(super) start: Instant,
    /// Calls in flight once this one was admitted.
    pub(super) in_flight: u32,
    /// The probe round it was admitted in (0: none).
    pub(super) round: u32,
}

impl LimitTicket {
    /// When the call started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// The calls in flight once this one was admitted (itself included).
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Whether the call was admitted during a baseline probe.
    pub fn is_probe(&self) -> bool {
        self.round != 0
    }
}
