//! Breakers and rate limiters shared through Redis (feature `redis`), as the
//! registry holds them: the same reports, metrics and manual control as local
//! ones, with their own marks (`shared`, fallback, corrupt reads).

use seawall_core::Stats;
use seawall_core::breaker::{State, Transition, WindowTotals};

use super::breaker::{Erased, Shared};
use super::{AlreadyRegistered, BreakerEntry, PolicyKind, Registry, insert, read};
use crate::breaker::CircuitBreakerConfig;
use crate::events::Hooks;
use crate::redis::{SharedCircuitBreaker, SharedRateLimiter};

impl<K: Send + Sync + 'static> Erased for SharedCircuitBreaker<K> {
    fn name(&self) -> &str {
        SharedCircuitBreaker::name(self)
    }
    fn state(&self) -> State {
        SharedCircuitBreaker::state(self)
    }
    fn stats(&self) -> Stats {
        SharedCircuitBreaker::stats(self)
    }
    fn window_totals(&self) -> WindowTotals {
        SharedCircuitBreaker::window_totals(self)
    }
    fn config(&self) -> &CircuitBreakerConfig {
        SharedCircuitBreaker::config(self)
    }
    fn force_open(&self) -> Option<Transition> {
        self.in_background(|breaker| async move { breaker.force_open().await });
        None
    }
    fn disable(&self) -> Option<Transition> {
        self.in_background(|breaker| async move { breaker.disable().await });
        None
    }
    fn reset(&self) -> Option<Transition> {
        self.in_background(|breaker| async move { breaker.reset().await });
        None
    }
    fn hooks(&self) -> &Hooks {
        &self.inner.engine.hooks
    }
    fn is_shadow(&self) -> bool {
        false
    }
    fn shared(&self) -> Option<Shared> {
        Some(Shared {
            fallback: self.is_fallback(),
            corrupt_reads: self.corrupt_reads(),
        })
    }
}

impl Registry {
    /// Registers a breaker shared through Redis under its name: in reports
    /// and metrics as a local one (marked shared), controlled by name for the
    /// whole fleet.
    pub fn register_shared_breaker<K: Send + Sync + 'static>(
        &self,
        breaker: &SharedCircuitBreaker<K>,
    ) -> Result<(), AlreadyRegistered> {
        self.add_shared(breaker, false)
    }

    /// Registers a shared breaker as critical: while it is open, the
    /// [health](Self::health) status is unhealthy.
    pub fn register_critical_shared_breaker<K: Send + Sync + 'static>(
        &self,
        breaker: &SharedCircuitBreaker<K>,
    ) -> Result<(), AlreadyRegistered> {
        self.add_shared(breaker, true)
    }

    fn add_shared<K: Send + Sync + 'static>(
        &self,
        breaker: &SharedCircuitBreaker<K>,
        critical: bool,
    ) -> Result<(), AlreadyRegistered> {
        let handle = super::BreakerHandle::erased(std::sync::Arc::new(breaker.clone()));
        let shared = &*self.shared;
        let name = handle.name().to_owned();
        insert(&shared.breakers, PolicyKind::CircuitBreaker, &name, || {
            let track = super::breaker::track(&handle, &shared.clock, None);
            BreakerEntry::One {
                handle,
                track,
                critical,
            }
        })
    }

    /// Registers a rate limiter shared through Redis under `name` (names are
    /// shared with local rate limiters).
    pub fn register_shared_rate_limiter(
        &self,
        name: impl Into<String>,
        limiter: &SharedRateLimiter,
    ) -> Result<(), AlreadyRegistered> {
        let name = name.into();
        if read(&self.shared.rate_limiters).contains_key(&name) {
            return Err(AlreadyRegistered {
                kind: PolicyKind::RateLimiter,
                name,
            });
        }
        insert(
            &self.shared.shared_rate_limiters,
            PolicyKind::RateLimiter,
            &name,
            || limiter.clone(),
        )
    }

    /// The shared rate limiter registered as `name`.
    pub fn shared_rate_limiter(&self, name: &str) -> Option<SharedRateLimiter> {
        read(&self.shared.shared_rate_limiters).get(name).cloned()
    }

    /// Every shared rate limiter with its name, sorted by name.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn shared_rate_limiters(&self) -> Vec<(String, SharedRateLimiter)> {
        read(&self.shared.shared_rate_limiters)
            .iter()
            .map(|(n, l)| (n.clone(), l.clone()))
            .collect()
    }
}
