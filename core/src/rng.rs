//! Randomness for jitter and throttling: the [`Rng`] trait and the one generator
//! the core ships, [`SplitMix64`].
//!
//! The core never seeds itself: the caller injects a generator, so a seed fixes
//! every jittered delay and every throttling draw. The core only ever calls
//! [`Rng::next_u64`] and turns its words into numbers with [`between`] and
//! [`unit()`], two integer-exact recipes, so the same seed gives the same results on
//! every platform and in every binding.
//!
//! # SplitMix64, for other bindings
//!
//! [`SplitMix64`] is Steele, Lea and Flood's SplitMix64 (the seeding generator of
//! xoshiro and of `java.util.SplittableRandom`). With all arithmetic modulo 2^64:
//!
//! ```text
//! state = state + 0x9E3779B97F4A7C15
//! z = state
//! z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//! z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//! output z ^ (z >> 31)
//! ```
//!
//! Seeded with 1234567, its first outputs are 6457827717110365317,
//! 3203168211198807973 and 9817491932198370423.
//!
//! [`between`]`(low, high)` is `low + (x * (high - low + 1)) >> 64` on one output
//! `x`, in 128-bit arithmetic (Lemire's multiply-shift, without rejection: its bias
//! is below `span / 2^64`, nothing for delays); [`unit()`] is `(x >> 11) * 2^-53`.

use crate::sync::{AtomicU64, Ordering};

/// A source of uniformly distributed 64-bit words.
///
/// Implemented by [`SplitMix64`], by [`&SharedSplitMix64`](SharedSplitMix64), and
/// by any generator an adapter brings (for example a `rand` generator wrapped in
/// a newtype). Only `next_u64` is asked for; the core derives everything else from
/// it in a fixed way.
pub trait Rng {
    /// The next uniformly distributed 64-bit word.
    fn next_u64(&mut self) -> u64;
}

impl<R: Rng + ?Sized> Rng for &mut R {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        (**self).next_u64()
    }
}

/// A uniformly distributed integer in `low..=high` (`low` when `high < low`),
/// from exactly one word of `rng`.
#[inline]
pub fn between<R: Rng + ?Sized>(rng: &mut R, low: u64, high: u64) -> u64 {
    let x = rng.next_u64();
    if high <= low {
        return low;
    }
    let span = u128::from(high - low) + 1;
    low + ((u128::from(x) * span) >> 64) as u64
}

/// A uniformly distributed number in `[0, 1)`, from exactly one word of `rng`.
#[inline]
pub fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
    (rng.next_u64() >> 11) as f64 * SCALE
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: a tiny, fast, seedable generator with 64 bits of state.
///
/// Not for cryptography; ideal for jitter, where a seed must reproduce a run.
/// The algorithm is spelled out in the [module documentation](self) for bindings
/// that check their results against it.
///
/// ```
/// use seawall_core::rng::{Rng, SplitMix64};
///
/// let mut rng = SplitMix64::new(1234567);
/// assert_eq!(rng.next_u64(), 6457827717110365317);
/// let mut again = SplitMix64::new(1234567);
/// assert_eq!(again.next_u64(), 6457827717110365317);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed` (any value, zero included).
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The current state: a generator made with [`SplitMix64::new`] from it
    /// continues the same sequence.
    pub const fn state(&self) -> u64 {
        self.state
    }
}

impl Rng for SplitMix64 {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }
}

/// [`SplitMix64`] in one atomic, for a generator shared between threads.
///
/// SplitMix64's state only ever grows by a constant, so each draw is a single
/// `fetch_add`: no lock, no retry. Used from one thread, it gives exactly the
/// sequence of a [`SplitMix64`] with the same seed; used from several, each draw
/// still gets its own output of that sequence.
///
/// ```
/// use seawall_core::rng::{Rng, SharedSplitMix64, SplitMix64};
///
/// static RNG: SharedSplitMix64 = SharedSplitMix64::new(7);
/// let mut shared = &RNG;
/// let mut plain = SplitMix64::new(7);
/// assert_eq!(shared.next_u64(), plain.next_u64());
/// ```
#[derive(Debug, Default)]
pub struct SharedSplitMix64 {
    state: AtomicU64,
}

impl SharedSplitMix64 {
    loom_const_fn! {
        /// A shared generator seeded with `seed`.
        pub fn new(seed: u64) -> Self {
            Self { state: AtomicU64::new(seed) }
        }
    }

    /// Starts the sequence over from `seed`.
    pub fn reset(&self, seed: u64) {
        self.state.store(seed, Ordering::Relaxed);
    }

    /// The next output (what [`Rng::next_u64`] returns through a reference).
    #[inline]
    pub fn next(&self) -> u64 {
        mix(self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA))
    }
}

impl Rng for &SharedSplitMix64 {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.next()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_outputs() {
        // The reference C implementation (Vigna's splitmix64.c), seeded with 1234567.
        let mut rng = SplitMix64::new(1234567);
        let outputs: [u64; 5] = core::array::from_fn(|_| rng.next_u64());
        assert_eq!(
            outputs,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821,
            ]
        );
        let mut resumed = SplitMix64::new(SplitMix64::new(1234567).state());
        assert_eq!(resumed.next_u64(), 6457827717110365317);
    }

    #[test]
    fn the_shared_generator_gives_the_same_sequence() {
        let shared = SharedSplitMix64::new(99);
        let mut plain = SplitMix64::new(99);
        let mut by_ref = &shared;
        for _ in 0..10 {
            assert_eq!(by_ref.next_u64(), plain.next_u64());
        }
    }

    /// A generator that answers the words it is given.
    struct Words<'a>(&'a [u64]);
    impl Rng for Words<'_> {
        fn next_u64(&mut self) -> u64 {
            let (first, rest) = self.0.split_first().unwrap();
            self.0 = rest;
            *first
        }
    }

    #[test]
    fn between_spans_the_whole_range() {
        assert_eq!(between(&mut Words(&[0]), 10, 20), 10);
        assert_eq!(between(&mut Words(&[u64::MAX]), 10, 20), 20);
        assert_eq!(between(&mut Words(&[1 << 63]), 0, 9), 5);
        assert_eq!(between(&mut Words(&[u64::MAX]), 0, u64::MAX), u64::MAX);
        assert_eq!(between(&mut Words(&[12345]), 0, u64::MAX), 12345);
        // An empty or reversed range answers `low`, still using one word.
        let mut words = Words(&[7, 8]);
        assert_eq!(between(&mut words, 5, 5), 5);
        assert_eq!(between(&mut words, 9, 3), 9);
        assert!(words.0.is_empty());
    }

    #[test]
    fn unit_is_in_zero_one() {
        assert_eq!(unit(&mut Words(&[0])), 0.0);
        assert_eq!(unit(&mut Words(&[1 << 63])), 0.5);
        let top = unit(&mut Words(&[u64::MAX]));
        assert!(top < 1.0 && top > 0.999_999_999);
    }
}
