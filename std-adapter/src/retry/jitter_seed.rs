//! Where a retry's jitter draws its random numbers from.

use std::fmt;
use std::sync::Arc;

use seawall_core::rng::{Rng, SharedSplitMix64, SplitMix64};

use super::random_seed;

/// Where a retry policy draws its jitter from: a seeded generator, shared by
/// every call of the policy and of its clones (so a seed fixes every delay, in
/// the order the calls draw them, as in every seawall binding), or a random
/// seed per call (the default).
///
/// ```
/// use std::time::Duration;
/// use seawall::{Jitter, RetryPolicy, JitterSeed};
///
/// let policy = RetryPolicy { jitter: Jitter::Full, seed: JitterSeed::new(7), ..Default::default() };
/// let again = RetryPolicy { jitter: Jitter::Full, seed: JitterSeed::new(7), ..Default::default() };
/// assert_eq!(policy.preview_delays(5), again.preview_delays(5));
/// assert!(policy.preview_delays(5).iter().all(|d| *d <= Duration::from_secs(30)));
/// ```
#[derive(Clone, Default)]
pub struct JitterSeed(Option<Arc<SharedSplitMix64>>);

impl JitterSeed {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        JitterSeed(Some(Arc::new(SharedSplitMix64::new(seed))))
    }

    /// A random seed for each call (the default).
    pub fn random() -> Self {
        JitterSeed(None)
    }

    /// The generator one call draws from.
    pub(crate) fn draw(&self) -> Draw<'_> {
        match &self.0 {
            Some(shared) => Draw::Shared(shared),
            None => Draw::Own(SplitMix64::new(random_seed())),
        }
    }
}

impl fmt::Debug for JitterSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(_) => f.write_str("JitterSeed(seeded)"),
            None => f.write_str("JitterSeed(random)"),
        }
    }
}

/// The generator of one call.
pub(crate) enum Draw<'a> {
    Shared(&'a SharedSplitMix64),
    Own(SplitMix64),
}

impl Rng for Draw<'_> {
    fn next_u64(&mut self) -> u64 {
        match self {
            Draw::Shared(shared) => shared.next(),
            Draw::Own(own) => own.next_u64(),
        }
    }
}
