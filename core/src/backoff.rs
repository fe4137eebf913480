//! Backoff: how long to wait before each retry. Pure delay math.
//!
//! A [`Backoff`] is a validated [`Strategy`] (fixed, linear, exponential or
//! decorrelated jitter) with a [`Jitter`] mode (none, full, equal). Randomness
//! comes from an injected [`Rng`], so a seed fixes every delay.
//!
//! Retries are numbered from 1: `attempt` is the number of calls made so far, and
//! the delay for `attempt` is the wait before call `attempt + 1`. With `initial`
//! 1 s and `multiplier` 2, the exponential delays for attempts 1, 2, 3, 4 are
//! 1 s, 2 s, 4 s, 8 s. Attempt 0 is treated as 1.
//!
//! Every delay is total: for any attempt up to `u32::MAX`, any previous delay and
//! any generator it is a finite duration within `0..=`[`Backoff::max_delay`]; the
//! arithmetic saturates, and the only floating-point operations (the exponential's
//! powers) are IEEE multiplications that give the same bits everywhere.
//!
//! Decorrelated jitter depends on the delay before it, not on the attempt number:
//! a [`BackoffState`] carries it from one call of [`Backoff::next_delay`] to the
//! next, and [`Backoff::iter`] wraps both in an iterator.

use core::time::Duration;

use crate::error::ConfigError;
use crate::math::{powi, scale_nanos};
use crate::rng::{Rng, between};
use crate::time::duration_nanos;

/// How the delays grow from one retry to the next, before jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "snake_case", deny_unknown_fields)
)]
pub enum Strategy {
    /// The same delay every time: 1 s, 1 s, 1 s...
    Fixed {
        /// The delay.
        delay: Duration,
    },
    /// `initial_delay + increment * (attempt - 1)`, capped at `max_delay`: 1 s, 2 s, 3 s...
    Linear {
        /// The first delay.
        initial_delay: Duration,
        /// Added for each further attempt.
        increment: Duration,
        /// The cap (at least `initial_delay`).
        max_delay: Duration,
    },
    /// `initial_delay * multiplier^(attempt - 1)`, capped at `max_delay`: 1 s, 2 s, 4 s...
    Exponential {
        /// The first delay (more than zero).
        initial_delay: Duration,
        /// The growth factor (finite, at least 1).
        multiplier: f64,
        /// The cap (at least `initial_delay`).
        max_delay: Duration,
    },
    /// AWS's decorrelated jitter: `min(max_delay, random(base_delay, 3 *
    /// previous))`, with `previous` the delay before (`base_delay` for the
    /// first). Random by itself.
    DecorrelatedJitter {
        /// The smallest delay and the first `previous` (more than zero).
        base_delay: Duration,
        /// The cap (at least `base_delay`).
        max_delay: Duration,
    },
}

impl Default for Strategy {
    /// Exponential from 1 s, doubling, up to 30 s: a retry policy's default.
    fn default() -> Self {
        Backoff::DEFAULT.strategy()
    }
}

impl Strategy {
    /// `fixed`, `linear`, `exponential` or `decorrelated_jitter`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Strategy::Fixed { .. } => "fixed",
            Strategy::Linear { .. } => "linear",
            Strategy::Exponential { .. } => "exponential",
            Strategy::DecorrelatedJitter { .. } => "decorrelated_jitter",
        }
    }
}

/// Randomness applied on top of a strategy's delay `d`; the result never exceeds
/// `d`, so never the strategy's maximum either.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Jitter {
    /// `d` itself; draws nothing from the generator.
    #[default]
    None,
    /// `random(0, d)`: spreads retries the most.
    Full,
    /// `d/2 + random(0, d/2)` (exactly `between(d / 2, d)`, rounding `d / 2` down):
    /// keeps at least half the delay.
    Equal,
}

impl Jitter {
    /// `none`, `full` or `equal`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
        }
    }

    /// The mode named `name` (as in [`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<Jitter> {
        [Jitter::None, Jitter::Full, Jitter::Equal]
            .into_iter()
            .find(|jitter| jitter.as_str() == name)
    }

    /// `nanos` with this jitter applied.
    #[inline]
    fn apply<R: Rng + ?Sized>(self, nanos: u64, rng: &mut R) -> u64 {
        match self {
            Jitter::None => nanos,
            Jitter::Full => between(rng, 0, nanos),
            Jitter::Equal => between(rng, nanos / 2, nanos),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fixed,
    Linear,
    Exponential,
    Decorrelated,
}

/// A validated backoff: a [`Strategy`] and a [`Jitter`] mode.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::backoff::{Backoff, BackoffState, Jitter};
/// use seawall_core::rng::SplitMix64;
///
/// let backoff = Backoff::exponential(Duration::from_secs(1), 2.0, Duration::from_secs(5)).unwrap();
/// let mut rng = SplitMix64::new(42);
/// let secs: Vec<u64> = backoff.iter(&mut rng).take(5).map(|d| d.as_secs()).collect();
/// assert_eq!(secs, [1, 2, 4, 5, 5]);
///
/// // Full jitter: a seed fixes the sequence, every delay stays within the cap.
/// let jittered = backoff.with_jitter(Jitter::Full);
/// let mut state = BackoffState::new();
/// let mut rng = SplitMix64::new(42);
/// let first = jittered.next_delay(&mut state, &mut rng);
/// assert!(first <= Duration::from_secs(1));
/// assert_eq!(first, jittered.iter(SplitMix64::new(42)).next().unwrap());
///
/// let error = Backoff::exponential(Duration::from_secs(1), 0.5, Duration::from_secs(5)).unwrap_err();
/// assert_eq!(error.to_string(), "invalid multiplier: must be at least 1.0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    kind: Kind,
    jitter: Jitter,
    /// Fixed: the delay; Linear, Exponential: the first delay; Decorrelated:
    /// the base delay.
    initial: u64,
    /// Linear only.
    increment: u64,
    max: u64,
    /// Exponential only.
    multiplier: f64,
}

impl Backoff {
    /// The default of a retry policy: exponential from 1 s, doubling, capped at
    /// 30 s, without jitter.
    pub const DEFAULT: Backoff =
        match Backoff::exponential(Duration::from_secs(1), 2.0, Duration::from_secs(30)) {
            Ok(backoff) => backoff,
            Err(_) => panic!("the default backoff is valid"),
        };

    /// Validates `strategy` and builds a backoff with `jitter`.
    ///
    /// Errors name the offending field: `initial_delay` or `base_delay` of zero
    /// (for the exponential and decorrelated strategies, which could never grow
    /// from it), `multiplier` below 1 or not finite, `max_delay` below
    /// `initial_delay` or `base_delay`.
    pub const fn new(strategy: Strategy, jitter: Jitter) -> Result<Backoff, ConfigError> {
        let mut backoff = Backoff {
            kind: Kind::Fixed,
            jitter,
            initial: 0,
            increment: 0,
            max: 0,
            multiplier: 1.0,
        };
        match strategy {
            Strategy::Fixed { delay } => {
                backoff.initial = duration_nanos(delay);
                backoff.max = backoff.initial;
            }
            Strategy::Linear {
                initial_delay,
                increment,
                max_delay,
            } => {
                backoff.kind = Kind::Linear;
                backoff.initial = duration_nanos(initial_delay);
                backoff.increment = duration_nanos(increment);
                backoff.max = duration_nanos(max_delay);
                if backoff.max < backoff.initial {
                    return Err(ConfigError::new(
                        "max_delay",
                        "must not be below initial_delay",
                    ));
                }
            }
            Strategy::Exponential {
                initial_delay,
                multiplier,
                max_delay,
            } => {
                backoff.kind = Kind::Exponential;
                backoff.initial = duration_nanos(initial_delay);
                backoff.max = duration_nanos(max_delay);
                if backoff.initial == 0 {
                    return Err(ConfigError::new(
                        "initial_delay",
                        "must be greater than zero",
                    ));
                }
                if !multiplier.is_finite() {
                    return Err(ConfigError::new("multiplier", "must be a finite number"));
                }
                if multiplier < 1.0 {
                    return Err(ConfigError::new("multiplier", "must be at least 1.0"));
                }
                if backoff.max < backoff.initial {
                    return Err(ConfigError::new(
                        "max_delay",
                        "must not be below initial_delay",
                    ));
                }
                backoff.multiplier = multiplier;
            }
            Strategy::DecorrelatedJitter {
                base_delay,
                max_delay,
            } => {
                backoff.kind = Kind::Decorrelated;
                backoff.initial = duration_nanos(base_delay);
                backoff.max = duration_nanos(max_delay);
                if backoff.initial == 0 {
                    return Err(ConfigError::new("base_delay", "must be greater than zero"));
                }
                if backoff.max < backoff.initial {
                    return Err(ConfigError::new(
                        "max_delay",
                        "must not be below base_delay",
                    ));
                }
            }
        }
        Ok(backoff)
    }

    /// The same `delay` every time, without jitter.
    pub const fn fixed(delay: Duration) -> Backoff {
        match Backoff::new(Strategy::Fixed { delay }, Jitter::None) {
            Ok(backoff) => backoff,
            Err(_) => unreachable!(),
        }
    }

    /// `initial_delay + increment * (attempt - 1)` capped at `max_delay`,
    /// without jitter.
    pub const fn linear(
        initial_delay: Duration,
        increment: Duration,
        max_delay: Duration,
    ) -> Result<Backoff, ConfigError> {
        Backoff::new(
            Strategy::Linear {
                initial_delay,
                increment,
                max_delay,
            },
            Jitter::None,
        )
    }

    /// `initial_delay * multiplier^(attempt - 1)` capped at `max_delay`,
    /// without jitter.
    pub const fn exponential(
        initial_delay: Duration,
        multiplier: f64,
        max_delay: Duration,
    ) -> Result<Backoff, ConfigError> {
        Backoff::new(
            Strategy::Exponential {
                initial_delay,
                multiplier,
                max_delay,
            },
            Jitter::None,
        )
    }

    /// Decorrelated jitter from `base_delay`, capped at `max_delay`.
    pub const fn decorrelated_jitter(
        base_delay: Duration,
        max_delay: Duration,
    ) -> Result<Backoff, ConfigError> {
        Backoff::new(
            Strategy::DecorrelatedJitter {
                base_delay,
                max_delay,
            },
            Jitter::None,
        )
    }

    /// This backoff with `jitter` applied to each delay (on decorrelated jitter
    /// it applies on top of the strategy's own randomness).
    pub const fn with_jitter(mut self, jitter: Jitter) -> Backoff {
        self.jitter = jitter;
        self
    }

    /// The strategy, as it was given (durations saturated at `u64::MAX` ns).
    pub const fn strategy(&self) -> Strategy {
        let d = Duration::from_nanos;
        match self.kind {
            Kind::Fixed => Strategy::Fixed {
                delay: d(self.initial),
            },
            Kind::Linear => Strategy::Linear {
                initial_delay: d(self.initial),
                increment: d(self.increment),
                max_delay: d(self.max),
            },
            Kind::Exponential => Strategy::Exponential {
                initial_delay: d(self.initial),
                multiplier: self.multiplier,
                max_delay: d(self.max),
            },
            Kind::Decorrelated => Strategy::DecorrelatedJitter {
                base_delay: d(self.initial),
                max_delay: d(self.max),
            },
        }
    }

    /// The jitter mode.
    pub const fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The longest delay this backoff can give.
    pub const fn max_delay(&self) -> Duration {
        Duration::from_nanos(self.max)
    }

    /// The strategy's delay for `attempt`, before jitter. For decorrelated
    /// jitter, which has no such delay, the upper end of the range it draws
    /// from when every draw so far was the largest: `min(max, base * 3^attempt)`.
    pub const fn base_delay(&self, attempt: u32) -> Duration {
        Duration::from_nanos(match self.kind {
            Kind::Decorrelated => {
                let top = scale_nanos(self.initial, powi(3.0, attempt_index(attempt) + 1));
                if top > self.max { self.max } else { top }
            }
            _ => self.base_nanos(attempt),
        })
    }

    /// The delay for `attempt`, given the `previous` delay (used only by
    /// decorrelated jitter, where a `previous` below `base` counts as `base`).
    /// Draws at most two words from `rng`: the decorrelated draw, then the jitter.
    #[inline]
    pub fn delay<R: Rng + ?Sized>(
        &self,
        attempt: u32,
        previous: Duration,
        rng: &mut R,
    ) -> Duration {
        Duration::from_nanos(self.draw(attempt, duration_nanos(previous), rng).1)
    }

    /// The delay that follows `state`, which it then advances.
    #[inline]
    pub fn next_delay<R: Rng + ?Sized>(&self, state: &mut BackoffState, rng: &mut R) -> Duration {
        state.attempt = state.attempt.saturating_add(1);
        let (strategy, jittered) = self.draw(state.attempt, state.previous, rng);
        // Decorrelated jitter grows from the strategy's own draw, not from the
        // jittered delay: a jitter mode must not drag the sequence down.
        state.previous = match self.kind {
            Kind::Decorrelated => strategy,
            _ => jittered,
        };
        Duration::from_nanos(jittered)
    }

    /// The strategy's delay and the delay after jitter, in nanoseconds.
    #[inline]
    fn draw<R: Rng + ?Sized>(&self, attempt: u32, previous: u64, rng: &mut R) -> (u64, u64) {
        let nanos = match self.kind {
            Kind::Decorrelated => {
                let previous = previous.max(self.initial);
                between(rng, self.initial, previous.saturating_mul(3)).min(self.max)
            }
            _ => self.base_nanos(attempt),
        };
        (nanos, self.jitter.apply(nanos, rng))
    }

    /// The delays for attempts 1, 2, 3... drawn from `rng`: an endless iterator.
    pub fn iter<R: Rng>(&self, rng: R) -> Delays<R> {
        Delays {
            backoff: *self,
            state: BackoffState::new(),
            rng,
        }
    }

    #[inline]
    const fn base_nanos(&self, attempt: u32) -> u64 {
        let index = attempt_index(attempt);
        match self.kind {
            Kind::Fixed | Kind::Decorrelated => self.initial,
            Kind::Linear => {
                let grown = self
                    .initial
                    .saturating_add(self.increment.saturating_mul(index as u64));
                if grown > self.max { self.max } else { grown }
            }
            Kind::Exponential => {
                if index == 0 || self.multiplier == 1.0 {
                    return self.initial;
                }
                let grown = scale_nanos(self.initial, powi(self.multiplier, index));
                if grown > self.max { self.max } else { grown }
            }
        }
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// `attempt - 1`, with attempt 0 counted as 1.
const fn attempt_index(attempt: u32) -> u32 {
    attempt.saturating_sub(1)
}

/// Where one call's sequence of delays stands: the attempts made and the delay
/// before. Small and `Copy`, kept by the caller (one per logical call).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BackoffState {
    attempt: u32,
    previous: u64,
}

impl BackoffState {
    /// The state before the first delay.
    pub const fn new() -> Self {
        Self {
            attempt: 0,
            previous: 0,
        }
    }

    /// A state resumed after `attempt` delays, the last of which was `previous`.
    pub const fn resume(attempt: u32, previous: Duration) -> Self {
        Self {
            attempt,
            previous: duration_nanos(previous),
        }
    }

    /// How many delays were taken from this state.
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay the next one grows from: the last delay taken (zero before the
    /// first), or, for decorrelated jitter under a jitter mode, the strategy's
    /// draw before that jitter.
    pub const fn previous(&self) -> Duration {
        Duration::from_nanos(self.previous)
    }
}

/// The endless sequence of delays of a [`Backoff`], from [`Backoff::iter`].
#[derive(Debug, Clone)]
pub struct Delays<R> {
    backoff: Backoff,
    state: BackoffState,
    rng: R,
}

impl<R> Delays<R> {
    /// Where the sequence stands.
    pub fn state(&self) -> BackoffState {
        self.state
    }
}

impl<R: Rng> Iterator for Delays<R> {
    type Item = Duration;

    #[inline]
    fn next(&mut self) -> Option<Duration> {
        Some(self.backoff.next_delay(&mut self.state, &mut self.rng))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn secs(backoff: Backoff, n: usize) -> [u64; 8] {
        let mut out = [0; 8];
        for (slot, delay) in out.iter_mut().zip(backoff.iter(SplitMix64::new(0))).take(n) {
            *slot = delay.as_secs();
        }
        out
    }

    #[test]
    fn fixed_linear_exponential_sequences() {
        assert_eq!(secs(Backoff::fixed(S(1)), 8), [1; 8]);
        let linear = Backoff::linear(S(1), S(1), S(5)).unwrap();
        assert_eq!(secs(linear, 8), [1, 2, 3, 4, 5, 5, 5, 5]);
        let linear = Backoff::linear(S(2), S(3), S(100)).unwrap();
        assert_eq!(secs(linear, 4), [2, 5, 8, 11, 0, 0, 0, 0]);
        let exponential = Backoff::exponential(S(1), 2.0, S(30)).unwrap();
        assert_eq!(secs(exponential, 8), [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(Backoff::DEFAULT, exponential);
        let no_growth = Backoff::exponential(S(3), 1.0, S(3)).unwrap();
        assert_eq!(secs(no_growth, 3), [3, 3, 3, 0, 0, 0, 0, 0]);
        let fractional = Backoff::exponential(MS(100), 1.5, S(1)).unwrap();
        let mut rng = SplitMix64::new(0);
        let ms: [u128; 6] =
            core::array::from_fn(|i| fractional.delay(i as u32 + 1, S(0), &mut rng).as_millis());
        assert_eq!(ms, [100, 150, 225, 337, 506, 759]);
    }

    #[test]
    fn attempt_zero_counts_as_one_and_huge_attempts_are_capped() {
        let mut rng = SplitMix64::new(0);
        for backoff in [
            Backoff::fixed(S(7)),
            Backoff::linear(S(1), S(1), S(7)).unwrap(),
            Backoff::exponential(S(1), 2.0, S(7)).unwrap(),
        ] {
            assert_eq!(
                backoff.delay(0, S(0), &mut rng),
                backoff.delay(1, S(0), &mut rng)
            );
            assert_eq!(backoff.delay(u32::MAX, S(0), &mut rng), S(7));
            assert_eq!(backoff.base_delay(u32::MAX), S(7));
        }
        let huge = Backoff::exponential(Duration::from_nanos(1), f64::MAX, Duration::MAX).unwrap();
        assert_eq!(
            huge.delay(u32::MAX, S(0), &mut rng),
            Duration::from_nanos(u64::MAX)
        );
        let huge = Backoff::linear(Duration::MAX, Duration::MAX, Duration::MAX).unwrap();
        assert_eq!(
            huge.delay(u32::MAX, S(0), &mut rng),
            Duration::from_nanos(u64::MAX)
        );
    }

    #[test]
    fn jitter_bounds() {
        let base = Backoff::exponential(MS(100), 2.0, S(10)).unwrap();
        let mut rng = SplitMix64::new(7);
        for attempt in 1..40 {
            let d = base.base_delay(attempt);
            let full = base
                .with_jitter(Jitter::Full)
                .delay(attempt, S(0), &mut rng);
            assert!(full <= d, "{full:?} > {d:?}");
            let equal = base
                .with_jitter(Jitter::Equal)
                .delay(attempt, S(0), &mut rng);
            assert!(
                equal <= d && equal >= d / 2,
                "{equal:?} outside [{d:?}/2, {d:?}]"
            );
        }
    }

    #[test]
    fn jitter_draws_exactly_one_word_or_none() {
        let backoff = Backoff::fixed(S(1));
        let mut rng = SplitMix64::new(3);
        backoff.delay(1, S(0), &mut rng);
        assert_eq!(rng, SplitMix64::new(3), "no jitter draws nothing");
        backoff.with_jitter(Jitter::Full).delay(1, S(0), &mut rng);
        let mut expected = SplitMix64::new(3);
        expected.next_u64();
        assert_eq!(rng, expected);
    }

    #[test]
    fn jittered_delays_are_exact_for_a_seed() {
        // Fixed for every binding: the scenarios check the same numbers.
        let backoff = Backoff::fixed(S(1)).with_jitter(Jitter::Full);
        let mut rng = SplitMix64::new(1234567);
        let x = 6457827717110365317u128;
        let expected = (x * 1_000_000_001) >> 64;
        assert_eq!(
            backoff.delay(1, S(0), &mut rng).as_nanos(),
            expected,
            "between(0, 1e9) from the first SplitMix64 output"
        );
    }

    #[test]
    fn decorrelated_jitter_grows_from_the_previous_delay() {
        let backoff = Backoff::decorrelated_jitter(MS(100), S(2)).unwrap();
        let mut state = BackoffState::new();
        let mut rng = SplitMix64::new(11);
        let mut previous = MS(100);
        for _ in 0..50 {
            let delay = backoff.next_delay(&mut state, &mut rng);
            assert!(delay >= MS(100) && delay <= S(2), "{delay:?}");
            assert!(delay <= previous * 3, "{delay:?} > 3 * {previous:?}");
            assert_eq!(state.previous(), delay);
            previous = delay;
        }
        assert_eq!(state.attempt(), 50);
        // Reached the cap within 50 draws; the cap is then the point mass.
        assert_eq!(backoff.base_delay(1), MS(300));
        assert_eq!(backoff.base_delay(10), S(2));
        // A previous delay below base counts as base.
        let first = backoff.delay(1, S(0), &mut SplitMix64::new(1));
        assert_eq!(first, backoff.delay(1, MS(1), &mut SplitMix64::new(1)));
        assert!(first >= MS(100) && first <= MS(300));
    }

    #[test]
    fn decorrelated_jitter_with_full_jitter_keeps_its_growth() {
        /// The words of the strategy's draws only: every other word.
        struct SkipJitter(SplitMix64);
        impl Rng for SkipJitter {
            fn next_u64(&mut self) -> u64 {
                let draw = self.0.next_u64();
                self.0.next_u64();
                draw
            }
        }
        let plain = Backoff::decorrelated_jitter(MS(10), S(1)).unwrap();
        let jittered = plain.with_jitter(Jitter::Full);
        let mut state = BackoffState::new();
        let mut rng = SplitMix64::new(5);
        let mut draws = plain.iter(SkipJitter(SplitMix64::new(5)));
        for _ in 0..20 {
            let delay = jittered.next_delay(&mut state, &mut rng);
            // The sequence grows exactly as without jitter...
            assert_eq!(state.previous(), draws.next().unwrap());
            // ...and the jitter only ever shortens a delay.
            assert!(delay <= state.previous(), "{delay:?} above its draw");
        }
    }

    #[test]
    fn resumed_state_continues_the_sequence() {
        let backoff = Backoff::decorrelated_jitter(MS(10), S(60)).unwrap();
        let mut delays = backoff.iter(SplitMix64::new(9));
        let first: [Duration; 3] = core::array::from_fn(|_| delays.next().unwrap());
        let state = delays.state();
        assert_eq!(state, BackoffState::resume(3, first[2]));
        let mut rng = SplitMix64::new(9);
        let mut replay = BackoffState::new();
        for expected in first {
            assert_eq!(backoff.next_delay(&mut replay, &mut rng), expected);
        }
        assert_eq!(replay, state);
    }

    #[test]
    fn every_invalid_field_is_named() {
        let field = |strategy| Backoff::new(strategy, Jitter::None).unwrap_err().field();
        assert_eq!(
            field(Strategy::Linear {
                initial_delay: S(2),
                increment: S(1),
                max_delay: S(1)
            }),
            "max_delay"
        );
        for (multiplier, expected) in [
            (0.99, "multiplier"),
            (-1.0, "multiplier"),
            (f64::NAN, "multiplier"),
            (f64::INFINITY, "multiplier"),
        ] {
            assert_eq!(
                field(Strategy::Exponential {
                    initial_delay: S(1),
                    multiplier,
                    max_delay: S(2)
                }),
                expected
            );
        }
        assert_eq!(
            field(Strategy::Exponential {
                initial_delay: S(0),
                multiplier: 2.0,
                max_delay: S(2)
            }),
            "initial_delay"
        );
        assert_eq!(
            field(Strategy::Exponential {
                initial_delay: S(3),
                multiplier: 2.0,
                max_delay: S(2)
            }),
            "max_delay"
        );
        assert_eq!(
            field(Strategy::DecorrelatedJitter {
                base_delay: S(0),
                max_delay: S(2)
            }),
            "base_delay"
        );
        assert_eq!(
            field(Strategy::DecorrelatedJitter {
                base_delay: S(3),
                max_delay: S(2)
            }),
            "max_delay"
        );
    }

    #[test]
    fn strategy_round_trips() {
        for strategy in [
            Strategy::Fixed { delay: S(1) },
            Strategy::Linear {
                initial_delay: S(1),
                increment: MS(500),
                max_delay: S(9),
            },
            Strategy::Exponential {
                initial_delay: MS(50),
                multiplier: 1.5,
                max_delay: S(9),
            },
            Strategy::DecorrelatedJitter {
                base_delay: MS(50),
                max_delay: S(9),
            },
        ] {
            let backoff = Backoff::new(strategy, Jitter::Equal).unwrap();
            assert_eq!(backoff.strategy(), strategy);
            assert_eq!(backoff.jitter(), Jitter::Equal);
            assert_eq!(Backoff::new(strategy, Jitter::Equal), Ok(backoff));
        }
        assert_eq!(Jitter::from_name("full"), Some(Jitter::Full));
        assert_eq!(Jitter::from_name("Full"), None);
        assert_eq!(Strategy::Fixed { delay: S(1) }.as_str(), "fixed");
    }
}
