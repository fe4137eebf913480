//! Assembling a [`Policy`].

use std::time::Duration;

use seawall_core::ConfigError;

use super::{Policy, Retry};
use crate::breaker::{CircuitBreaker, ErrorsAreFailures};
use crate::bulkhead::Bulkhead;
use crate::fallback::NoFallback;
use crate::rate_limit::RateLimiter;
use crate::retry::RetryPolicy;

/// Builds a [`Policy`]. The order in which the policies are given does not
/// matter: they always nest in the order of the [module
/// documentation](super).
#[derive(Debug)]
pub struct PolicyBuilder<K = ErrorsAreFailures, Fb = NoFallback> {
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    breaker: Option<CircuitBreaker<K>>,
    classifier: K,
    rate_limiter: Option<RateLimiter>,
    bulkhead: Option<Bulkhead>,
    fallback: Fb,
}

impl PolicyBuilder {
    pub(super) fn new() -> Self {
        Self {
            timeout: None,
            retry: None,
            breaker: None,
            classifier: ErrorsAreFailures,
            rate_limiter: None,
            bulkhead: None,
            fallback: NoFallback,
        }
    }
}

impl<K, Fb> PolicyBuilder<K, Fb> {
    /// Limits each attempt to `limit`.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Retries failed attempts as `policy` says (validated by
    /// [`build`](Self::build)).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Limits the rate of attempts.
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Limits the attempts in flight.
    pub fn bulkhead(mut self, bulkhead: Bulkhead) -> Self {
        self.bulkhead = Some(bulkhead);
        self
    }

    /// Passes every attempt through `breaker`, whose classifier then decides
    /// what a failure is for the retry too.
    pub fn circuit_breaker<K2: Clone>(self, breaker: CircuitBreaker<K2>) -> PolicyBuilder<K2, Fb> {
        PolicyBuilder {
            timeout: self.timeout,
            retry: self.retry,
            classifier: breaker.classifier().clone(),
            breaker: Some(breaker),
            rate_limiter: self.rate_limiter,
            bulkhead: self.bulkhead,
            fallback: self.fallback,
        }
    }

    /// Answers the final error with `fallback` (a
    /// [`FallbackValue`](crate::FallbackValue) or a
    /// [`FallbackFn`](crate::FallbackFn)).
    pub fn fallback<Fb2>(self, fallback: Fb2) -> PolicyBuilder<K, Fb2> {
        PolicyBuilder {
            timeout: self.timeout,
            retry: self.retry,
            breaker: self.breaker,
            classifier: self.classifier,
            rate_limiter: self.rate_limiter,
            bulkhead: self.bulkhead,
            fallback,
        }
    }

    /// Validates the retry policy and builds.
    pub fn build(self) -> Result<Policy<K, Fb>, ConfigError> {
        let retry = match self.retry {
            Some(source) => {
                source.validate()?;
                Some(Retry {
                    policy: source.to_core()?,
                    shared: source.shared(),
                    source,
                })
            }
            None => None,
        };
        Ok(Policy {
            timeout: self.timeout,
            retry,
            breaker: self.breaker,
            classifier: self.classifier,
            rate_limiter: self.rate_limiter,
            bulkhead: self.bulkhead,
            fallback: self.fallback,
        })
    }
}
