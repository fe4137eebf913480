//! The retry strategies: the core's [`Strategy`] under the name `RetryStrategy`,
//! so a field added to the core is there at once, by the same name.

/// How the delay between attempts grows (before jitter): the core's
/// [`Strategy`], by the name this crate has always given it.
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
pub use seawall_core::backoff::Strategy as RetryStrategy;

#[cfg(doc)]
use seawall_core::backoff::Strategy;
