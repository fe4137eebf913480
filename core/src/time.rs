//! Time as the core sees it: an [`Instant`] on a monotonic scale, the [`Clock`]
//! that adapters implement, and a [`ManualClock`] for tests.
//!
//! The core never reads a clock by itself. Each decision that depends on time
//! takes a `&impl Clock` and reads it only when it must: a call in the Closed
//! state of a consecutive-failure breaker reads no clock at all. An [`Instant`] is
//! itself a [`Clock`] that always answers the same time, so a caller that already
//! knows the time passes `&now`.
//!
//! Durations are [`core::time::Duration`]. Arithmetic saturates instead of
//! panicking, and time that goes backwards is tolerated everywhere: an elapsed
//! time is never negative, it is zero.

use core::ops::{Add, Sub};
use core::time::Duration;

use crate::sync::{AtomicU64, Ordering};

/// A point in time: nanoseconds since an origin chosen by the clock.
///
/// The origin means nothing on its own (process start, boot, zero in tests);
/// only differences between instants of the same clock do. `u64` nanoseconds
/// cover 584 years, and all arithmetic saturates.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Instant {
    nanos: u64,
}

impl Instant {
    /// The origin of the clock's scale.
    pub const ZERO: Instant = Instant { nanos: 0 };
    /// The latest representable instant.
    pub const MAX: Instant = Instant { nanos: u64::MAX };

    /// The instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Self { nanos }
    }

    /// The instant `micros` microseconds after the origin (saturating).
    pub const fn from_micros(micros: u64) -> Self {
        Self::from_nanos(micros.saturating_mul(1_000))
    }

    /// The instant `millis` milliseconds after the origin (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Self::from_nanos(millis.saturating_mul(1_000_000))
    }

    /// The instant `secs` seconds after the origin (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Self::from_nanos(secs.saturating_mul(1_000_000_000))
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// The time elapsed since the origin.
    pub const fn since_origin(self) -> Duration {
        Duration::from_nanos(self.nanos)
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later.
    pub const fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        match self.nanos.checked_sub(earlier.nanos) {
            Some(nanos) => Some(Duration::from_nanos(nanos)),
            None => None,
        }
    }

    /// `self + duration`, or `None` past [`Instant::MAX`].
    pub const fn checked_add(self, duration: Duration) -> Option<Instant> {
        let d = duration.as_nanos();
        if d > u64::MAX as u128 {
            return None;
        }
        match self.nanos.checked_add(d as u64) {
            Some(nanos) => Some(Instant { nanos }),
            None => None,
        }
    }

    /// `self + duration`, stopping at [`Instant::MAX`].
    pub const fn saturating_add(self, duration: Duration) -> Instant {
        Instant {
            nanos: self.nanos.saturating_add(duration_nanos(duration)),
        }
    }

    /// `self - duration`, stopping at [`Instant::ZERO`].
    pub const fn saturating_sub(self, duration: Duration) -> Instant {
        Instant {
            nanos: self.nanos.saturating_sub(duration_nanos(duration)),
        }
    }
}

/// Saturating: `instant + duration` never panics.
impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

/// Saturating: `instant - duration` never panics.
impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, rhs: Duration) -> Instant {
        self.saturating_sub(rhs)
    }
}

/// Saturating: `later - earlier` is zero when `earlier` is in fact later.
impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// A duration in whole nanoseconds, saturating at `u64::MAX` (584 years).
pub(crate) const fn duration_nanos(duration: Duration) -> u64 {
    let nanos = duration.as_nanos();
    if nanos > u64::MAX as u128 {
        u64::MAX
    } else {
        nanos as u64
    }
}

/// A source of the current time.
///
/// Adapters implement it over their runtime's monotonic clock (tokio's
/// `Instant`, embassy-time, Python's `time.monotonic_ns`); tests use
/// [`ManualClock`]. The core calls [`Clock::now`] only when a decision needs it.
///
/// A clock must be monotonic: [`Instant`]s on one scale, whose origin the clock
/// chooses. A clock that goes backwards never makes the core panic or corrupt
/// its state, but its decisions are only as good as its time.
///
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use seawall_core::time::{Clock, Instant};
///
/// /// A free-running 1 MHz hardware timer (here, a counter the example sets).
/// struct Timer1Mhz(AtomicU64);
///
/// impl Clock for Timer1Mhz {
///     fn now(&self) -> Instant {
///         Instant::from_nanos(self.0.load(Ordering::Relaxed).saturating_mul(1_000))
///     }
/// }
///
/// let timer = Timer1Mhz(AtomicU64::new(2_500));
/// assert_eq!(timer.now(), Instant::from_nanos(2_500_000));
/// ```
pub trait Clock {
    /// The current time.
    fn now(&self) -> Instant;
}

/// An instant is a clock stopped at that instant: pass `&now` when the time is
/// already known.
impl Clock for Instant {
    #[inline]
    fn now(&self) -> Instant {
        *self
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    #[inline]
    fn now(&self) -> Instant {
        (**self).now()
    }
}

/// A clock that moves only when told to: the test clock of every binding.
///
/// It is `Sync` (one atomic), so one clock can drive many threads.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::time::{Clock, Instant, ManualClock};
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_millis(1500));
/// assert_eq!(clock.now(), Instant::from_millis(1500));
/// clock.set(Instant::from_secs(1)); // going backwards is allowed
/// assert_eq!(clock.now(), Instant::from_secs(1));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    loom_const_fn! {
        /// A clock at [`Instant::ZERO`].
        pub fn new() -> Self {
            Self::starting_at(Instant::ZERO)
        }
    }

    loom_const_fn! {
        /// A clock at `start`.
        pub fn starting_at(start: Instant) -> Self {
            Self { nanos: AtomicU64::new(start.nanos) }
        }
    }

    /// Moves the clock forward by `duration` (saturating at [`Instant::MAX`]).
    pub fn advance(&self, duration: Duration) {
        let step = duration_nanos(duration);
        // A CAS loop rather than fetch_add so the clock saturates, never wraps.
        let mut current = self.nanos.load(Ordering::Acquire);
        loop {
            let next = current.saturating_add(step);
            match self.nanos.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Sets the clock to `instant`, forwards or backwards.
    pub fn set(&self, instant: Instant) {
        self.nanos.store(instant.nanos, Ordering::Release);
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::from_nanos(self.nanos.load(Ordering::Acquire))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(
            Instant::from_secs(1) - Instant::from_secs(2),
            Duration::ZERO
        );
        assert_eq!(
            Instant::from_secs(1).checked_duration_since(Instant::from_secs(2)),
            None
        );
        assert_eq!(Instant::ZERO.checked_add(Duration::MAX), None);
        assert_eq!(Instant::from_secs(u64::MAX), Instant::MAX);
        assert_eq!(
            Instant::from_secs(3).saturating_duration_since(Instant::from_secs(1)),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::starting_at(Instant::from_secs(5));
        assert_eq!(clock.now(), Instant::from_secs(5));
        clock.advance(Duration::from_millis(250));
        assert_eq!(clock.now(), Instant::from_millis(5_250));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), Instant::MAX);
        clock.set(Instant::from_secs(1));
        assert_eq!(clock.now(), Instant::from_secs(1));
    }

    #[test]
    fn an_instant_is_a_stopped_clock() {
        let now = Instant::from_millis(42);
        assert_eq!(now.now(), now);
        assert_eq!(Clock::now(&&now), now);
    }
}
