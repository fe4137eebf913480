//! Randomness addressed by what it is for, so that configurations compare fairly.
//!
//! Every random number of a run comes from the core's [`SplitMix64`], seeded by
//! a hash of the run's seed and of an address: which stream (arrivals, the
//! dependency, think times, backoff jitter) and which call and attempt. The
//! third attempt of call 1234 therefore meets the same dependency in every
//! configuration, whatever happened before it: two configurations differ only
//! by what their policies did (common random numbers), and a seed fixes every draw.

use seawall_core::rng::{SplitMix64, unit};

/// What a stream of draws is for.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    /// Open-loop arrival times.
    Arrivals = 1,
    /// The dependency's latency and outcome for one attempt.
    Dependency = 2,
    /// A closed-loop client's think time.
    Think = 3,
    /// A call's retry jitter.
    Backoff = 4,
}

/// The seed of a run, from which every stream is derived.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Draws {
    seed: u64,
}

impl Draws {
    pub(crate) fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The generator for `stream` at address `(a, b)`.
    #[inline]
    pub(crate) fn rng(self, stream: Stream, a: u64, b: u64) -> SplitMix64 {
        let mut h = mix(self.seed ^ (stream as u64).wrapping_mul(GAMMA));
        h = mix(h ^ a);
        h = mix(h.wrapping_add(GAMMA) ^ b);
        SplitMix64::new(h)
    }
}

/// A uniform number in `(0, 1]`: safe under a logarithm.
#[inline]
pub(crate) fn open_unit(rng: &mut SplitMix64) -> f64 {
    1.0 - unit(rng)
}

/// A draw from the standard normal distribution (Box-Muller, one of the pair).
#[inline]
pub(crate) fn normal(rng: &mut SplitMix64) -> f64 {
    let radius = (-2.0 * open_unit(rng).ln()).sqrt();
    radius * (core::f64::consts::TAU * unit(rng)).cos()
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finalizer: a bijection that spreads every input bit.
#[inline]
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
