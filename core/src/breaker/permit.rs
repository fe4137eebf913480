//! What `try_acquire` hands out: a permit to call, or a rejection that says when
//! to try again.

use core::fmt;
use core::ops::Deref;
use core::time::Duration;

use super::rules::PermitKind as Kind;
use super::state::GEN_MASK;
use super::{BreakerConfig, CircuitBreaker, NoWindow, State, Transition, Window};
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

/// The raw content of a permit, packed in one word so that it is written and
/// read whole (bytes written one at a time and read back as a word stall the
/// CPU on the hot path): the generation it was issued in (bits 0..32, of
/// which the breaker's word keeps 22), its
/// kind (32..34) and the transition acquiring it caused (34..41).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Raw(u64);

impl Raw {
    #[inline(always)]
    pub(crate) const fn new(generation: u64, kind: Kind, transition: Option<Transition>) -> Raw {
        Raw((generation & GEN_MASK) | (kind as u64) << 32 | (encode(transition) as u64) << 34)
    }

    #[inline(always)]
    pub(crate) const fn generation(self) -> u64 {
        self.0 & 0xFFFF_FFFF
    }

    #[inline(always)]
    pub(crate) const fn kind(self) -> Kind {
        match (self.0 >> 32) & 0b11 {
            0 => Kind::Closed,
            1 => Kind::Probe,
            _ => Kind::Disabled,
        }
    }

    #[inline(always)]
    pub(crate) const fn transition(self) -> Option<Transition> {
        decode((self.0 >> 34) as u16)
    }
}

/// An optional transition in 7 bits: a presence bit and two 3-bit states.
#[inline(always)]
const fn encode(transition: Option<Transition>) -> u16 {
    match transition {
        Some(t) => 1 | (t.from as u16) << 1 | (t.to as u16) << 4,
        None => 0,
    }
}

#[inline(always)]
const fn decode(bits: u16) -> Option<Transition> {
    if bits & 1 == 0 {
        return None;
    }
    Some(Transition {
        from: state(bits >> 1),
        to: state(bits >> 4),
    })
}

#[inline(always)]
const fn state(index: u16) -> State {
    State::ALL[(index & 0b111) as usize % State::ALL.len()]
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
    #[inline]
    pub fn transition(&self) -> Option<Transition> {
        self.raw.transition()
    }

    /// Whether this ticket holds a half-open probe slot.
    pub fn is_probe(&self) -> bool {
        self.raw.kind() == Kind::Probe
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
    #[inline]
    pub fn transition(&self) -> Option<Transition> {
        self.raw.transition()
    }

    /// Whether this permit holds a half-open probe slot.
    #[inline]
    pub fn is_probe(&self) -> bool {
        self.raw.kind() == Kind::Probe
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
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejection(u64);

/// The reason (bits 0..2), the transition (2..9, packed like a permit's) and
/// the retry-after in nanoseconds (9..64), in one word: a `Result` of a permit
/// or a rejection then travels in two registers, never through memory. The
/// `Duration` is built only when asked for, which also keeps 64-bit division
/// out of firmware that never asks.
const TIME_SHIFT: u32 = 9;
/// The retry-after field's all-ones value: no time promised.
const NO_TIME: u64 = u64::MAX >> TIME_SHIFT;

impl Rejection {
    /// A rejection for `reason`, admitting a call again after `retry_after`:
    /// for adapters whose decision was taken elsewhere (a breaker shared
    /// through Redis). Breakers of this crate make their own. A retry-after
    /// longer than 416 days is reported as 416 days.
    pub const fn new(reason: RejectReason, retry_after: Option<Duration>) -> Self {
        let nanos = match retry_after {
            Some(after) => Some(crate::time::duration_nanos(after)),
            None => None,
        };
        Self::packed(reason, nanos, None)
    }

    #[inline(always)]
    pub(crate) const fn packed(
        reason: RejectReason,
        retry_after: Option<u64>,
        transition: Option<Transition>,
    ) -> Self {
        let retry_after = match retry_after {
            // 2^55 ns (416 days) less one is as good as forever.
            Some(nanos) if nanos >= NO_TIME => NO_TIME - 1,
            Some(nanos) => nanos,
            None => NO_TIME,
        };
        Self(reason as u64 | (encode(transition) as u64) << 2 | retry_after << TIME_SHIFT)
    }

    /// Why the call was rejected.
    #[inline]
    pub fn reason(&self) -> RejectReason {
        match self.0 & 0b11 {
            0 => RejectReason::Open,
            1 => RejectReason::HalfOpenFull,
            _ => RejectReason::ForcedOpen,
        }
    }

    /// How long until the breaker admits a call again: the rest of the open
    /// duration. `None` when no time can be promised: forced open, or half-open
    /// with every probe slot taken.
    #[inline]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_nanos().map(Duration::from_nanos)
    }

    /// [`retry_after`](Self::retry_after) in nanoseconds.
    #[inline]
    pub fn retry_after_nanos(&self) -> Option<u64> {
        let nanos = self.0 >> TIME_SHIFT;
        (nanos != NO_TIME).then_some(nanos)
    }

    /// The transition that this call caused while being rejected (HalfOpen back
    /// to Open when no probe answered within `max_wait_in_half_open`), if any.
    #[inline]
    pub fn transition(&self) -> Option<Transition> {
        decode((self.0 >> 2) as u16)
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("reason", &self.reason())
            .field("retry_after", &self.retry_after())
            .field("transition", &self.transition())
            .finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
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
