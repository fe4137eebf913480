//! The retry budget: gRPC's retry throttling, a token bucket shared by every call.

use crate::error::ConfigError;
use crate::sync::{AtomicU64, Ordering};

/// Tokens are counted in millionths, so a `token_ratio` of 0.1 is exact.
const MICRO: u64 = 1_000_000;

/// A token bucket that stops retries from multiplying the load during an outage,
/// in the style of gRPC retry throttling.
///
/// The bucket starts full, with `max_tokens`. Each retryable failure takes one
/// token ([`record_failure`](Self::record_failure)), each success returns
/// `token_ratio` of one ([`record_success`](Self::record_success)), and retries are
/// allowed only while more than half of `max_tokens` remain. With `token_ratio`
/// 0.1, retries stop once failures outnumber successes by more than ten to one
/// for a while, and resume as successes refill the bucket.
///
/// One budget is shared by all the calls to one dependency: it is `Sync`, and
/// every operation is a single atomic read-modify-write. The token count never
/// goes below zero nor above `max_tokens`.
///
/// ```
/// use seawall_core::retry::RetryBudget;
///
/// static BUDGET: RetryBudget = match RetryBudget::new(10, 0.5) {
///     Ok(budget) => budget,
///     Err(_) => panic!("invalid retry budget"),
/// };
/// for _ in 0..4 {
///     assert!(BUDGET.record_failure()); // 9, 8, 7, 6 tokens: more than 5
/// }
/// assert!(!BUDGET.record_failure()); // 5 tokens: not more than half
/// BUDGET.record_success();
/// assert_eq!(BUDGET.tokens(), 5.5);
/// assert!(BUDGET.allows_retry());
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    /// Millionths of a token.
    tokens: AtomicU64,
    max: u64,
    ratio: u64,
}

impl RetryBudget {
    loom_const_fn! {
        /// A full budget of `max_tokens` (at least 1) whose successes each return
        /// `token_ratio` of a token (in (0, 1], counted to the millionth).
        pub fn new(max_tokens: u32, token_ratio: f64) -> Result<Self, ConfigError> {
            if max_tokens == 0 {
                return Err(ConfigError::new("max_tokens", "must be at least 1"));
            }
            // Written so that NaN fails too.
            if !(token_ratio > 0.0 && token_ratio <= 1.0) {
                return Err(ConfigError::new("token_ratio", "must be a number in (0, 1]"));
            }
            let ratio = (token_ratio * MICRO as f64 + 0.5) as u64;
            let max = max_tokens as u64 * MICRO;
            Ok(Self {
                tokens: AtomicU64::new(max),
                max,
                ratio: if ratio == 0 { 1 } else { ratio },
            })
        }
    }

    /// The capacity of the bucket.
    pub const fn max_tokens(&self) -> u32 {
        (self.max / MICRO) as u32
    }

    /// The share of a token each success returns.
    pub const fn token_ratio(&self) -> f64 {
        self.ratio as f64 / MICRO as f64
    }

    /// The tokens left now (a multiple of a millionth).
    pub fn tokens(&self) -> f64 {
        self.tokens.load(Ordering::Acquire) as f64 / MICRO as f64
    }

    /// Whether a retry is allowed now: more than half of the tokens remain.
    pub fn allows_retry(&self) -> bool {
        self.above_half(self.tokens.load(Ordering::Acquire))
    }

    /// Takes one token for a retryable failure (none below zero), and answers
    /// whether a retry is still allowed after it.
    pub fn record_failure(&self) -> bool {
        let previous = self.update(|tokens| tokens.saturating_sub(MICRO));
        self.above_half(previous.saturating_sub(MICRO))
    }

    /// Takes one whole token if more than half of the tokens remain, and
    /// answers whether it did. This is what an extra attempt that no failure asked for
    /// (a hedge) costs: with `token_ratio` 0.1, hedges settle at one for ten
    /// successes when every call wants one.
    pub fn try_take(&self) -> bool {
        let mut current = self.tokens.load(Ordering::Acquire);
        loop {
            // A whole token: with `max_tokens` 1, more than half is not one.
            if !self.above_half(current) || current < MICRO {
                return false;
            }
            match self.tokens.compare_exchange_weak(
                current,
                current - MICRO,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// Returns `token_ratio` of a token for a success (none above `max_tokens`).
    pub fn record_success(&self) {
        let (ratio, max) = (self.ratio, self.max);
        self.update(|tokens| tokens.saturating_add(ratio).min(max));
    }

    /// Fills the bucket again.
    pub fn reset(&self) {
        self.tokens.store(self.max, Ordering::Release);
    }

    fn above_half(&self, tokens: u64) -> bool {
        // tokens > max / 2, without losing the half of an odd max.
        u128::from(tokens) * 2 > u128::from(self.max)
    }

    /// Applies `f` atomically; returns the value it replaced.
    fn update(&self, f: impl Fn(u64) -> u64) -> u64 {
        let mut current = self.tokens.load(Ordering::Acquire);
        loop {
            let next = f(current);
            if next == current {
                return current;
            }
            match self.tokens.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return current,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn failures_take_and_successes_return() {
        let budget = RetryBudget::new(4, 0.25).unwrap();
        assert_eq!(budget.max_tokens(), 4);
        assert_eq!(budget.token_ratio(), 0.25);
        assert_eq!(budget.tokens(), 4.0);
        assert!(budget.allows_retry());
        assert!(budget.record_failure()); // 3 > 2
        assert!(!budget.record_failure()); // 2 is not more than 2
        assert!(!budget.allows_retry());
        budget.record_success(); // 2.25
        assert!(budget.allows_retry());
        assert_eq!(budget.tokens(), 2.25);
        for _ in 0..10 {
            budget.record_failure();
        }
        assert_eq!(budget.tokens(), 0.0, "never below zero");
        for _ in 0..100 {
            budget.record_success();
        }
        assert_eq!(budget.tokens(), 4.0, "never above the maximum");
        budget.record_failure();
        budget.reset();
        assert_eq!(budget.tokens(), 4.0);
    }

    #[test]
    fn try_take_takes_only_above_half() {
        let budget = RetryBudget::new(4, 0.5).unwrap();
        assert!(budget.try_take()); // 3
        assert!(budget.try_take()); // 2
        assert!(!budget.try_take(), "2 is not more than half of 4");
        assert_eq!(budget.tokens(), 2.0, "a refusal takes nothing");
        budget.record_success(); // 2.5
        assert!(budget.try_take()); // 1.5
        assert_eq!(budget.tokens(), 1.5);
        assert!(!budget.try_take());
        let one = RetryBudget::new(1, 0.5).unwrap();
        assert!(one.try_take());
        one.record_success();
        assert!(
            !one.try_take(),
            "half a token is more than half, not a token"
        );
        one.record_success();
        assert!(one.try_take());
    }

    #[test]
    fn an_odd_maximum_keeps_its_half() {
        // 3 tokens: retries need more than 1.5.
        let budget = RetryBudget::new(3, 1.0).unwrap();
        assert!(budget.record_failure()); // 2
        assert!(!budget.record_failure()); // 1
        budget.record_success(); // 2
        assert!(budget.allows_retry());
        let one = RetryBudget::new(1, 1.0).unwrap();
        assert!(one.allows_retry());
        assert!(!one.record_failure());
    }

    #[test]
    fn tiny_ratios_still_return_something() {
        let budget = RetryBudget::new(2, 1e-9).unwrap();
        budget.record_failure();
        budget.record_success();
        assert_eq!(budget.tokens(), 1.000001);
        assert!(budget.allows_retry());
    }

    #[test]
    fn every_invalid_field_is_named() {
        assert_eq!(RetryBudget::new(0, 0.1).unwrap_err().field(), "max_tokens");
        for bad in [0.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
            let error = RetryBudget::new(10, bad).unwrap_err();
            assert_eq!(error.field(), "token_ratio");
            assert_eq!(error.reason(), "must be a number in (0, 1]");
        }
        assert!(RetryBudget::new(u32::MAX, 1.0).is_ok());
    }
}
