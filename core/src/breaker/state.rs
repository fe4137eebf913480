//! The breaker's states, and the one atomic word that holds the current one.

use core::fmt;

use super::rules::{Manual, Phase, Snapshot};
use crate::time::Instant;

/// The state of a circuit breaker.
///
/// ```text
///            failure threshold or rate reached
///   Closed ─────────────────────────────────────▶ Open
///     ▲                                            │ open duration elapsed,
///     │ success_threshold probes succeed            │ next call becomes a probe
///     │                                            ▼
///     └──────────────────────────────────────── HalfOpen
///                 a probe fails, or no probe answers ──▶ Open (longer, if growing)
///
///   ForcedOpen, Disabled: entered and left only by force_open, disable and reset.
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[repr(u8)]
pub enum State {
    /// Calls go through; outcomes are counted towards the trip rule.
    #[default]
    Closed,
    /// Calls are rejected until the open duration has elapsed.
    Open,
    /// A limited number of probe calls test whether the dependency recovered.
    HalfOpen,
    /// Opened by hand: every call is rejected until `reset` (or `disable`).
    ForcedOpen,
    /// Switched off by hand: every call goes through and is counted, nothing trips.
    Disabled,
}

impl State {
    /// Every state, in declaration order.
    pub const ALL: [State; 5] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::Disabled,
    ];

    /// The state's name in snake_case, as the metrics and the Python package spell
    /// it: `closed`, `open`, `half_open`, `forced_open`, `disabled`.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
        }
    }

    /// The state named by [`as_str`](Self::as_str).
    pub fn from_name(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of state, as returned by the call that caused it: the breaker's
/// event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.from, self.to)
    }
}

/// A manual operation requested while the breaker was opening, applied by the
/// thread that is opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Pending {
    None = 0,
    ForceOpen = 1,
    Disable = 2,
    Reset = 3,
}

impl Pending {
    pub(crate) const fn of(op: Manual) -> Pending {
        match op {
            Manual::ForceOpen => Pending::ForceOpen,
            Manual::Disable => Pending::Disable,
            Manual::Reset => Pending::Reset,
        }
    }
}

/// The internal tag: the public states plus `Opening`, the short moment in
/// which the thread that tripped the breaker writes the Open deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Tag {
    Closed = 0,
    Opening = 1,
    Open = 2,
    HalfOpen = 3,
    ForcedOpen = 4,
    Disabled = 5,
}

const TAG_BITS: u32 = 3;
const PENDING_SHIFT: u32 = TAG_BITS;
const GEN_SHIFT: u32 = PENDING_SHIFT + 2;
/// The generation keeps 32 bits (it wraps, as rounds are only compared).
pub(crate) const GEN_MASK: u64 = u32::MAX as u64;
const PAYLOAD_SHIFT: u32 = GEN_SHIFT + 32;
const TRIPS_BITS: u32 = 7;
const COUNT_BITS: u32 = 10;
const INFLIGHT_SHIFT: u32 = PAYLOAD_SHIFT + TRIPS_BITS;
const SUCCESS_SHIFT: u32 = INFLIGHT_SHIFT + COUNT_BITS;
const FAILURES_MASK: u64 = (1 << 27) - 1;
const TRIPS_MASK: u64 = (1 << TRIPS_BITS) - 1;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// The whole state of a breaker but its instants in one `u64`, so every
/// transition is one CAS.
///
/// ```text
/// bits  0..3   tag
/// bits  3..5   pending manual operation (Opening only)
/// bits  5..37  generation: +1 on every transition; permits of an older
///              generation are stale, and it is the transition counter
/// bits 37..64  payload:
///              Closed          consecutive failures (27 bits)
///              Opening, Open   consecutive trips (7 bits)
///              HalfOpen        trips (7) | probes in flight (10) | successes (10)
/// ```
///
/// The instants (Open's deadline, HalfOpen's last activity) live in the
/// breaker's second word; the slow probes of a round in its window (only a
/// breaker with a window applies the slow-call rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u64);

impl Word {
    #[inline(always)]
    const fn pack(tag: Tag, generation: u64, payload: u64) -> Word {
        Word(tag as u64 | ((generation & GEN_MASK) << GEN_SHIFT) | (payload << PAYLOAD_SHIFT))
    }

    pub(crate) const fn closed(generation: u64, failures: u32) -> Word {
        Word::pack(Tag::Closed, generation, failures as u64 & FAILURES_MASK)
    }

    pub(crate) const fn opening(generation: u64, trips: u32) -> Word {
        Word::pack(Tag::Opening, generation, trips as u64 & TRIPS_MASK)
    }

    pub(crate) const fn open(generation: u64, trips: u32) -> Word {
        Word::pack(Tag::Open, generation, trips as u64 & TRIPS_MASK)
    }

    pub(crate) const fn half_open(
        generation: u64,
        trips: u32,
        inflight: u32,
        successes: u32,
    ) -> Word {
        Word::pack(
            Tag::HalfOpen,
            generation,
            (trips as u64 & TRIPS_MASK)
                | ((inflight as u64 & COUNT_MASK) << TRIPS_BITS)
                | ((successes as u64 & COUNT_MASK) << (TRIPS_BITS + COUNT_BITS)),
        )
    }

    pub(crate) const fn forced_open(generation: u64) -> Word {
        Word::pack(Tag::ForcedOpen, generation, 0)
    }

    pub(crate) const fn disabled(generation: u64) -> Word {
        Word::pack(Tag::Disabled, generation, 0)
    }

    /// The word of `s` (Open as `Open`: the caller writes the deadline).
    pub(crate) const fn of(s: &Snapshot) -> Word {
        match s.phase {
            Phase::Closed { failures } => Word::closed(s.generation, failures),
            Phase::Open { trips, .. } => Word::open(s.generation, trips),
            Phase::HalfOpen {
                trips,
                probes,
                successes,
                ..
            } => Word::half_open(s.generation, trips, probes, successes),
            Phase::ForcedOpen => Word::forced_open(s.generation),
            Phase::Disabled => Word::disabled(s.generation),
        }
    }

    /// The snapshot of a Closed word.
    #[inline(always)]
    pub(crate) const fn as_closed(self) -> Snapshot {
        Snapshot {
            generation: self.generation(),
            phase: Phase::Closed {
                failures: self.failures(),
            },
        }
    }

    /// The snapshot of an Open (or Opening) word, whose deadline is `until`.
    #[inline(always)]
    pub(crate) const fn as_open(self, until: Instant) -> Snapshot {
        Snapshot {
            generation: self.generation(),
            phase: Phase::Open {
                trips: self.trips(),
                until,
            },
        }
    }

    /// The snapshot this word holds, with `instant` (called only for Open and
    /// HalfOpen) for its deadline or last activity, and `slow` (HalfOpen only)
    /// for its slow probes. `Opening` reads as Open.
    #[inline(always)]
    pub(crate) fn snapshot(
        self,
        instant: impl FnOnce() -> Instant,
        slow: impl FnOnce(u64) -> u32,
    ) -> Snapshot {
        let phase = match self.tag() {
            Tag::Closed => Phase::Closed {
                failures: self.failures(),
            },
            Tag::Opening | Tag::Open => Phase::Open {
                trips: self.trips(),
                until: instant(),
            },
            Tag::HalfOpen => Phase::HalfOpen {
                trips: self.trips(),
                probes: self.inflight(),
                successes: self.successes(),
                slow: slow(self.generation()),
                active: instant(),
            },
            Tag::ForcedOpen => Phase::ForcedOpen,
            Tag::Disabled => Phase::Disabled,
        };
        Snapshot {
            generation: self.generation(),
            phase,
        }
    }

    #[inline(always)]
    pub(crate) const fn tag(self) -> Tag {
        match self.0 & ((1 << TAG_BITS) - 1) {
            0 => Tag::Closed,
            1 => Tag::Opening,
            2 => Tag::Open,
            3 => Tag::HalfOpen,
            4 => Tag::ForcedOpen,
            _ => Tag::Disabled,
        }
    }

    pub(crate) const fn pending(self) -> Pending {
        match (self.0 >> PENDING_SHIFT) & 0b11 {
            0 => Pending::None,
            1 => Pending::ForceOpen,
            2 => Pending::Disable,
            _ => Pending::Reset,
        }
    }

    pub(crate) const fn with_pending(self, pending: Pending) -> Word {
        Word((self.0 & !(0b11 << PENDING_SHIFT)) | ((pending as u64) << PENDING_SHIFT))
    }

    #[inline(always)]
    pub(crate) const fn generation(self) -> u64 {
        (self.0 >> GEN_SHIFT) & GEN_MASK
    }

    pub(crate) const fn failures(self) -> u32 {
        ((self.0 >> PAYLOAD_SHIFT) & FAILURES_MASK) as u32
    }

    pub(crate) const fn trips(self) -> u32 {
        ((self.0 >> PAYLOAD_SHIFT) & TRIPS_MASK) as u32
    }

    pub(crate) const fn inflight(self) -> u32 {
        ((self.0 >> INFLIGHT_SHIFT) & COUNT_MASK) as u32
    }

    pub(crate) const fn successes(self) -> u32 {
        ((self.0 >> SUCCESS_SHIFT) & COUNT_MASK) as u32
    }

    /// The state as users see it: `Opening` is already Open.
    pub(crate) const fn state(self) -> State {
        match self.tag() {
            Tag::Closed => State::Closed,
            Tag::Opening | Tag::Open => State::Open,
            Tag::HalfOpen => State::HalfOpen,
            Tag::ForcedOpen => State::ForcedOpen,
            Tag::Disabled => State::Disabled,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fields_do_not_overlap() {
        let w = Word::half_open(u64::MAX, 127, 1023, 1023);
        assert_eq!(w.tag(), Tag::HalfOpen);
        assert_eq!(w.generation(), GEN_MASK);
        assert_eq!((w.trips(), w.inflight(), w.successes()), (127, 1023, 1023));
        assert_eq!(w.pending(), Pending::None);
        let w = Word::half_open(7, 3, 2, 1);
        assert_eq!(
            (w.generation(), w.trips(), w.inflight(), w.successes()),
            (7, 3, 2, 1)
        );
        // The generation wraps at 32 bits, as the permits' do.
        assert_eq!(Word::half_open(GEN_MASK + 8, 3, 2, 1).generation(), 7);

        let c = Word::closed(u64::MAX, (1 << 27) - 1);
        assert_eq!(c.tag(), Tag::Closed);
        assert_eq!(c.failures(), (1 << 27) - 1);
        assert_eq!(c.generation(), GEN_MASK);

        let o = Word::opening(9, 127).with_pending(Pending::Reset);
        assert_eq!(
            (o.tag(), o.pending(), o.generation(), o.trips()),
            (Tag::Opening, Pending::Reset, 9, 127)
        );
        assert_eq!(o.with_pending(Pending::None), Word::opening(9, 127));
        assert_eq!(o.state(), State::Open);
    }

    #[test]
    fn names_round_trip() {
        for state in State::ALL {
            assert_eq!(State::from_name(state.as_str()), Some(state));
        }
        assert_eq!(State::from_name("ajar"), None);
    }
}
