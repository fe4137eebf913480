//! `tracing` events of circuit breakers (feature `tracing`).
//!
//! Every event has the target `seawall::circuit_breaker` and the breaker's
//! name in the field `breaker`:
//!
//! | event | level | fields |
//! |---|---|---|
//! | opened (to `open` or `forced_open`) | WARN | `breaker`, `from`, `to` |
//! | closed (to `closed`) | INFO | `breaker`, `from`, `to` |
//! | other transitions (to `half_open`, `disabled`) | INFO | `breaker`, `from`, `to` |
//! | a call rejected | DEBUG | `breaker`, `reason`, `retry_after_ms`, `suppressed` |
//! | a shared breaker's state in Redis was corrupt (and repaired) | WARN | `breaker`, `fields` |
//!
//! Rejections come in floods while a breaker is open, so at most one event per
//! breaker per second is emitted; `suppressed` counts the rejections since the
//! previous event that had none. With DEBUG off for the target, a rejection
//! costs only tracing's check of the callsite.

use std::sync::atomic::{AtomicU64, Ordering};

use seawall_core::breaker::{Rejection, State, Transition};
use seawall_core::time::Clock;

/// The target of every breaker event.
pub(crate) const TARGET: &str = "seawall::circuit_breaker";

/// The shortest time between two rejection events of one breaker.
const REJECTION_EVERY: u64 = 1_000_000_000;

/// Emits the event of `transition`.
pub(crate) fn transition(name: &str, transition: Transition) {
    let from = transition.from.as_str();
    let to = transition.to.as_str();
    match transition.to {
        State::Open | State::ForcedOpen => {
            tracing::warn!(target: TARGET, breaker = name, from, to, "circuit breaker opened");
        }
        State::Closed => {
            tracing::info!(target: TARGET, breaker = name, from, to, "circuit breaker closed");
        }
        State::HalfOpen | State::Disabled => {
            tracing::info!(target: TARGET, breaker = name, from, to, "circuit breaker changed state");
        }
    }
}

/// Emits the event of a shared breaker whose state in Redis held corrupt
/// values in `fields` (read as defaults, and written back repaired).
#[cfg(feature = "redis")]
pub(crate) fn corrupt(name: &str, fields: &[&str]) {
    let fields = fields.join(",");
    tracing::warn!(
        target: TARGET,
        breaker = name,
        fields,
        "shared circuit breaker state in Redis was corrupt; repaired"
    );
}

/// Rate-limits the rejection events of one breaker.
#[derive(Debug)]
pub(crate) struct RejectionLog {
    /// The time (nanoseconds on the breaker's clock) from which the next event
    /// may be emitted.
    next: AtomicU64,
    /// Rejections left unreported since the last event.
    suppressed: AtomicU64,
}

impl RejectionLog {
    pub(crate) fn new() -> Self {
        Self {
            next: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// A call of breaker `name` was rejected: an event, unless one was
    /// emitted less than a second ago (by `clock`).
    #[inline]
    pub(crate) fn rejected<K: Clock + ?Sized>(&self, name: &str, rejection: &Rejection, clock: &K) {
        if tracing::enabled!(target: TARGET, tracing::Level::DEBUG) {
            self.rejected_slow(name, rejection, clock.now().as_nanos());
        }
    }

    #[cold]
    fn rejected_slow(&self, name: &str, rejection: &Rejection, now: u64) {
        let next = self.next.load(Ordering::Relaxed);
        // A deadline further than one period ahead means the clock went back:
        // let this event through rather than stay silent until it catches up.
        let quiet = now < next && next - now <= REJECTION_EVERY;
        if quiet
            || self
                .next
                .compare_exchange(
                    next,
                    now.saturating_add(REJECTION_EVERY),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
        let retry_after_ms = rejection.retry_after().map(|d| d.as_millis() as u64);
        tracing::debug!(
            target: TARGET,
            breaker = name,
            reason = rejection.reason().as_str(),
            retry_after_ms,
            suppressed,
            "circuit breaker rejected a call"
        );
    }
}
