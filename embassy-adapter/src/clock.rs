//! The core's [`Clock`] over embassy-time, and exact conversions between the
//! two time scales.
//!
//! embassy-time counts ticks of the rate chosen by its `tick-hz-*` feature (1 MHz
//! by default, 32.768 kHz on many low-power chips); the core counts nanoseconds.
//! Converting ticks to nanoseconds rounds down and converting a duration to ticks
//! rounds up, so a sleep of the duration the core asks for never wakes before the
//! core's own deadline. Neither conversion overflows for any input: they
//! saturate at `u64::MAX` nanoseconds (584 years) and use only 64-bit
//! arithmetic, which Cortex-M does without a 128-bit division routine.

use core::time::Duration;

use embassy_time::TICK_HZ;
use seawall_core::time::{Clock, Instant};

const NANOS_PER_SEC: u64 = 1_000_000_000;

// `rem * NANOS_PER_SEC` below must fit a u64 for every remainder below the tick
// rate; embassy-time's fastest rate (5.24 GHz) is well inside this bound.
const _: () = assert!(TICK_HZ > 0 && TICK_HZ <= u64::MAX / NANOS_PER_SEC);

/// The core's [`Clock`] read from embassy-time's global time driver.
///
/// It has no state: every [`now`](Clock::now) reads
/// [`embassy_time::Instant::now`] and converts it to nanoseconds since the
/// driver's origin (usually boot).
///
/// ```
/// use seawall_embassy::EmbassyClock;
/// use seawall_embassy::core::time::Clock;
///
/// # fn needs_driver() {
/// let now = EmbassyClock.now();
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmbassyClock;

impl Clock for EmbassyClock {
    #[inline]
    fn now(&self) -> Instant {
        to_instant(embassy_time::Instant::now())
    }
}

/// The core instant for an embassy-time instant (nanoseconds, rounded down).
#[inline]
pub const fn to_instant(instant: embassy_time::Instant) -> Instant {
    Instant::from_nanos(ticks_to_nanos(instant.as_ticks(), TICK_HZ))
}

/// The embassy-time duration for a core duration, rounded up to whole ticks and
/// saturating at the longest embassy-time duration.
#[inline]
pub const fn to_embassy_duration(duration: Duration) -> embassy_time::Duration {
    embassy_time::Duration::from_ticks(duration_to_ticks(duration, TICK_HZ))
}

/// The core duration for an embassy-time duration (nanoseconds, rounded down).
#[inline]
pub const fn to_duration(duration: embassy_time::Duration) -> Duration {
    Duration::from_nanos(ticks_to_nanos(duration.as_ticks(), TICK_HZ))
}

/// `ticks` of a `hz` clock in nanoseconds, rounded down and saturating.
pub(crate) const fn ticks_to_nanos(ticks: u64, hz: u64) -> u64 {
    if NANOS_PER_SEC.is_multiple_of(hz) {
        // 1 kHz, 1 MHz, ...: one exact multiplication.
        return ticks.saturating_mul(NANOS_PER_SEC / hz);
    }
    // Whole seconds and the remainder separately: `ticks * 1e9` would overflow
    // after a few hours at 1 GHz, the remainder never does (see the assertion).
    let secs = ticks / hz;
    let rem = ticks % hz;
    secs.saturating_mul(NANOS_PER_SEC)
        .saturating_add(rem * NANOS_PER_SEC / hz)
}

/// `duration` in ticks of a `hz` clock, rounded up and saturating.
pub(crate) const fn duration_to_ticks(duration: Duration, hz: u64) -> u64 {
    let secs = duration.as_secs().saturating_mul(hz);
    let sub = duration.subsec_nanos() as u64;
    // `sub < 1e9` and `hz <= u64::MAX / 1e9`, so the product fits.
    secs.saturating_add((sub * hz).div_ceil(NANOS_PER_SEC))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: [u64; 7] = [
        1,
        1_000,
        32_768,
        1_000_000,
        16_000_000,
        1_000_000_000,
        5_242_880_000,
    ];

    #[test]
    fn ticks_convert_exactly_at_every_rate() {
        for hz in RATES {
            assert_eq!(ticks_to_nanos(0, hz), 0);
            assert_eq!(ticks_to_nanos(hz, hz), NANOS_PER_SEC, "{hz} Hz");
            assert_eq!(ticks_to_nanos(hz * 3600, hz), 3600 * NANOS_PER_SEC);
        }
        // 32.768 kHz: one tick is 30517.578125 ns, rounded down.
        assert_eq!(ticks_to_nanos(1, 32_768), 30_517);
        assert_eq!(ticks_to_nanos(32_768 + 3, 32_768), NANOS_PER_SEC + 91_552);
        assert_eq!(ticks_to_nanos(1, 5_242_880_000), 0);
        assert_eq!(ticks_to_nanos(6, 5_242_880_000), 1);
    }

    #[test]
    fn huge_tick_counts_saturate_instead_of_overflowing() {
        for hz in RATES {
            let nanos = ticks_to_nanos(u64::MAX, hz);
            if hz < NANOS_PER_SEC {
                assert_eq!(nanos, u64::MAX, "{hz} Hz");
            } else {
                // Faster than 1 GHz: u64::MAX ticks are fewer nanoseconds.
                assert_eq!(
                    nanos,
                    u64::MAX / hz * NANOS_PER_SEC + u64::MAX % hz * NANOS_PER_SEC / hz
                );
            }
        }
        // A day of 5.24 GHz ticks is 4.5e14 ticks: `ticks * 1e9` would overflow.
        let day = 86_400 * 5_242_880_000;
        assert_eq!(ticks_to_nanos(day, 5_242_880_000), 86_400 * NANOS_PER_SEC);
    }

    #[test]
    fn durations_round_up_to_whole_ticks() {
        assert_eq!(duration_to_ticks(Duration::ZERO, 32_768), 0);
        assert_eq!(duration_to_ticks(Duration::from_nanos(1), 32_768), 1);
        assert_eq!(duration_to_ticks(Duration::from_nanos(30_517), 32_768), 1);
        assert_eq!(duration_to_ticks(Duration::from_nanos(30_518), 32_768), 2);
        assert_eq!(duration_to_ticks(Duration::from_millis(10), 1_000), 10);
        assert_eq!(duration_to_ticks(Duration::from_micros(10_001), 1_000), 11);
        assert_eq!(duration_to_ticks(Duration::MAX, 32_768), u64::MAX);
        assert_eq!(duration_to_ticks(Duration::MAX, 1), u64::MAX);
        for hz in RATES {
            assert_eq!(duration_to_ticks(Duration::from_secs(7), hz), 7 * hz);
        }
    }

    #[test]
    fn a_sleep_never_ends_before_the_core_deadline() {
        // Sleeping `to_ticks(d)` from any tick must reach `start + d` in nanoseconds.
        for hz in [32_768, 1_000, 3, 5_242_880_000] {
            for start in [0, 1, 7, 32_767, 1 << 30] {
                for nanos in [1, 999, 30_517, 30_518, 1_000_000, 123_456_789] {
                    let d = Duration::from_nanos(nanos);
                    let end = start + duration_to_ticks(d, hz);
                    assert!(
                        ticks_to_nanos(end, hz) >= ticks_to_nanos(start, hz) + nanos,
                        "{hz} Hz from tick {start} for {nanos} ns"
                    );
                }
            }
        }
    }
}
