//! What `try_acquire` hands out: a permit to call, or a rejection that says when
//! to try again.

use core::fmt;
use core::ops::Deref;
use core::time::Duration;

use super::{BreakerConfig, CircuitBreaker, NoWindow, Transition, Window};
use crate::time::Clock;

/// How a call ended, as far as the breaker is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Outcome {
    /// The call succeeded.
    Success,
    /// The call failed in a way that counts against the dependency.
    Failure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Admitted in Closed: counts towards the trip rule.
    Closed,
    /// A half-open probe: holds one of the probe slots.
    Probe,
    /// Admitted while disabled: only counted.
    Disabled,
}

/// The raw content of a permit: the generation it was issued in and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raw {
    pub(crate) generation: u32,
    pub(crate) kind: Kind,
    pub(crate) transition: Option<Transition>,
}

/// A permit without a borrow of its breaker, for adapters that keep the breaker
/// behind an `Arc` and need an owned guard (a tower response future, a Python
/// context manager).
///
/// A ticket must go back to the breaker that issued it exactly once, through
/// [`CircuitBreaker::record`] or [`CircuitBreaker::release`]; it is neither
/// `Copy` nor `Clone`, so it cannot be recorded twice. Unlike a [`Permit`] it
/// has no `Drop`: an adapter wraps it in its own guard that releases it.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a ticket must be recorded or released, or its probe slot stays taken"]
pub struct Ticket {
    pub(crate) raw: Raw,
}

impl Ticket {
    /// The transition that acquiring this ticket caused (Open to HalfOpen), if any.
    pub fn transition(&self) -> Option<Transition> {
        self.raw.transition
    }

    /// Whether this ticket holds a half-open probe slot.
    pub fn is_probe(&self) -> bool {
        self.raw.kind == Kind::Probe
    }
}

/// Leave to make one call, borrowed from a breaker.
///
/// Record how the call ended with [`success`](Self::success),
/// [`failure`](Self::failure) or [`record`](Self::record); each returns the
/// transition it caused. A permit dropped without an outcome (the call was
/// cancelled, or its error does not count) is released: it frees its probe slot
/// and counts as neither success nor failure.
#[must_use = "a permit dropped at once is released without an outcome"]
pub struct Permit<'a, C = &'static BreakerConfig, W = NoWindow>
where
    C: Deref<Target = BreakerConfig>,
    W: Window,
{
    pub(crate) breaker: &'a CircuitBreaker<C, W>,
    pub(crate) raw: Raw,
}

impl<'a, C: Deref<Target = BreakerConfig>, W: Window> Permit<'a, C, W> {
    /// The transition that acquiring this permit caused (Open to HalfOpen), if any.
    pub fn transition(&self) -> Option<Transition> {
        self.raw.transition
    }

    /// Whether this permit holds a half-open probe slot.
    pub fn is_probe(&self) -> bool {
        self.raw.kind == Kind::Probe
    }

    /// Records a success.
    #[inline]
    pub fn success<K: Clock + ?Sized>(self, clock: &K) -> Option<Transition> {
        self.record(Outcome::Success, None, clock)
    }

    /// Records a failure.
    #[inline]
    pub fn failure<K: Clock + ?Sized>(self, clock: &K) -> Option<Transition> {
        self.record(Outcome::Failure, None, clock)
    }

    /// Records `outcome`; with a `latency`, a call longer than the configured
    /// `slow_call_duration` also counts as slow.
    #[inline]
    pub fn record<K: Clock + ?Sized>(
        self,
        outcome: Outcome,
        latency: Option<Duration>,
        clock: &K,
    ) -> Option<Transition> {
        let (breaker, raw) = self.into_parts();
        breaker.record_raw(raw, outcome, latency, clock)
    }

    /// Releases the permit without an outcome (what dropping it does).
    pub fn release(self) {
        drop(self)
    }

    /// Turns the permit into an owned [`Ticket`], to be recorded or released
    /// through the breaker later.
    pub fn into_ticket(self) -> Ticket {
        Ticket {
            raw: self.into_parts().1,
        }
    }

    fn into_parts(self) -> (&'a CircuitBreaker<C, W>, Raw) {
        let parts = (self.breaker, self.raw);
        core::mem::forget(self);
        parts
    }
}

impl<C: Deref<Target = BreakerConfig>, W: Window> Drop for Permit<'_, C, W> {
    fn drop(&mut self) {
        self.breaker.release_raw(self.raw);
    }
}

impl<C: Deref<Target = BreakerConfig>, W: Window> fmt::Debug for Permit<'_, C, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("raw", &self.raw)
            .finish_non_exhaustive()
    }
}

/// Why a call was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum RejectReason {
    /// The breaker is open.
    Open,
    /// The breaker is half-open and every probe slot is taken.
    HalfOpenFull,
    /// The breaker was forced open by hand.
    ForcedOpen,
}

impl RejectReason {
    /// `open`, `half_open_full` or `forced_open`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::Open => "open",
            RejectReason::HalfOpenFull => "half_open_full",
            RejectReason::ForcedOpen => "forced_open",
        }
    }
}

/// A call not let through: why, and when the next try may be admitted.
///
/// A rejection is an outcome, not a failure of the breaker; adapters turn it
/// into their ecosystem's error (`CircuitOpenError` in Python).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejection {
    pub(crate) reason: RejectReason,
    /// Nanoseconds: the `Duration` is built only when asked for, which keeps
    /// 64-bit division out of firmware that never asks.
    pub(crate) retry_after: Option<u64>,
    pub(crate) transition: Option<Transition>,
}

impl Rejection {
    /// A rejection for `reason`, admitting a call again after `retry_after`:
    /// for adapters whose decision was taken elsewhere (a breaker shared
    /// through Redis). Breakers of this crate make their own.
    pub const fn new(reason: RejectReason, retry_after: Option<Duration>) -> Self {
        let retry_after = match retry_after {
            Some(after) => Some(crate::time::duration_nanos(after)),
            None => None,
        };
        Self {
            reason,
            retry_after,
            transition: None,
        }
    }

    /// Why the call was rejected.
    pub fn reason(&self) -> RejectReason {
        self.reason
    }

    /// How long until the breaker admits a call again: the rest of the open
    /// duration. `None` when no time can be promised: forced open, or half-open
    /// with every probe slot taken.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after.map(Duration::from_nanos)
    }

    /// [`retry_after`](Self::retry_after) in nanoseconds.
    pub fn retry_after_nanos(&self) -> Option<u64> {
        self.retry_after
    }

    /// The transition that this call caused while being rejected (HalfOpen back
    /// to Open when no probe answered within `max_wait_in_half_open`), if any.
    pub fn transition(&self) -> Option<Transition> {
        self.transition
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            RejectReason::Open => f.write_str("circuit breaker is open")?,
            RejectReason::HalfOpenFull => {
                f.write_str("circuit breaker is half-open and its probe calls are taken")?
            }
            RejectReason::ForcedOpen => f.write_str("circuit breaker is forced open")?,
        }
        if let Some(after) = self.retry_after() {
            write!(f, "; retry after {after:?}")?;
        }
        Ok(())
    }
}

impl core::error::Error for Rejection {}
