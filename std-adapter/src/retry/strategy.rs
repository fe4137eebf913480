//! The retry strategies (fixed, linear, exponential), over the core's backoff.

use std::time::Duration;

use seawall_core::ConfigError;
use seawall_core::backoff::Strategy;

/// How the delay between attempts grows (before jitter).
///
/// ```
/// use std::time::Duration;
/// use seawall::{RetryPolicy, RetryStrategy};
///
/// let ms = Duration::from_millis;
/// let delays = |strategy| RetryPolicy { strategy, ..Default::default() }.preview_delays(4);
/// assert_eq!(delays(RetryStrategy::Fixed { delay: ms(100) }), [ms(100); 4]);
/// assert_eq!(
///     delays(RetryStrategy::Linear { initial_delay: ms(100), increment: ms(50), max_delay: ms(200) }),
///     [ms(100), ms(150), ms(200), ms(200)]
/// );
/// assert_eq!(
///     delays(RetryStrategy::Exponential { initial_delay: ms(100), max_delay: ms(500), multiplier: 2.0 }),
///     [ms(100), ms(200), ms(400), ms(500)]
/// );
/// // Decorrelated jitter is random by itself, between the base and the cap.
/// let jittered = delays(RetryStrategy::DecorrelatedJitter { base_delay: ms(100), max_delay: ms(500) });
/// assert!(jittered.iter().all(|d| (ms(100)..=ms(500)).contains(d)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RetryStrategy {
    /// `initial_delay * multiplier^(n - 1)`, capped at `max_delay`: 1 s, 2 s, 4 s, 8 s...
    Exponential {
        /// The first delay (more than zero).
        initial_delay: Duration,
        /// The cap (at least `initial_delay`).
        max_delay: Duration,
        /// The growth factor (finite, at least 1.0).
        multiplier: f64,
    },
    /// `initial_delay + increment * (n - 1)`, capped at `max_delay`: 1 s, 2 s, 3 s...
    Linear {
        /// The first delay (more than zero).
        initial_delay: Duration,
        /// Added for each further retry.
        increment: Duration,
        /// The cap (at least `initial_delay`).
        max_delay: Duration,
    },
    /// The same delay every time: 1 s, 1 s, 1 s...
    Fixed {
        /// The delay.
        delay: Duration,
    },
    /// AWS's decorrelated jitter: `min(max_delay, random(base_delay, 3 * previous))`.
    DecorrelatedJitter {
        /// The smallest delay (more than zero).
        base_delay: Duration,
        /// The cap (at least `base_delay`).
        max_delay: Duration,
    },
}

impl Default for RetryStrategy {
    /// Exponential from 1 s, doubling, up to 30 s.
    fn default() -> Self {
        RetryStrategy::Exponential {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
        }
    }
}

impl RetryStrategy {
    /// The core's strategy.
    pub fn to_core(&self) -> Strategy {
        match *self {
            RetryStrategy::Exponential {
                initial_delay,
                max_delay,
                multiplier,
            } => Strategy::Exponential {
                initial: initial_delay,
                multiplier,
                max: max_delay,
            },
            RetryStrategy::Linear {
                initial_delay,
                increment,
                max_delay,
            } => Strategy::Linear {
                initial: initial_delay,
                increment,
                max: max_delay,
            },
            RetryStrategy::Fixed { delay } => Strategy::Fixed { delay },
            RetryStrategy::DecorrelatedJitter {
                base_delay,
                max_delay,
            } => Strategy::DecorrelatedJitter {
                base: base_delay,
                max: max_delay,
            },
        }
    }
}

/// The same strategy in the adapter's words.
impl From<Strategy> for RetryStrategy {
    fn from(strategy: Strategy) -> Self {
        match strategy {
            Strategy::Exponential {
                initial,
                multiplier,
                max,
            } => RetryStrategy::Exponential {
                initial_delay: initial,
                max_delay: max,
                multiplier,
            },
            Strategy::Linear {
                initial,
                increment,
                max,
            } => RetryStrategy::Linear {
                initial_delay: initial,
                increment,
                max_delay: max,
            },
            Strategy::Fixed { delay } => RetryStrategy::Fixed { delay },
            Strategy::DecorrelatedJitter { base, max } => RetryStrategy::DecorrelatedJitter {
                base_delay: base,
                max_delay: max,
            },
        }
    }
}

/// Names the core's backoff errors with this module's field names.
pub(crate) fn rename(error: ConfigError) -> ConfigError {
    let field = match error.field() {
        "initial" => "initial_delay",
        "max" => "max_delay",
        "base" => "base_delay",
        other => other,
    };
    let reason = match error.reason() {
        "must not be below initial" => "must not be below initial_delay",
        "must not be below base" => "must not be below base_delay",
        other => other,
    };
    ConfigError::new(field, reason)
}
