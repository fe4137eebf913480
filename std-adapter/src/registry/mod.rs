//! A registry of named policies: list them, read them and control them by
//! name; the source of the [health report](crate::health) and of the
//! Prometheus metrics (`Registry::register_metrics`, feature `prometheus`).
//!
//! Registering a breaker subscribes the registry to its transitions (to note
//! when each state began and to count transitions by kind); registering a
//! retry policy installs a listener that counts how its calls end. Nothing is
//! added to the hot path of a call: the registry reads the counters the core
//! keeps anyway, when asked, except for the opt-in call-duration histograms
//! ([`RegistryBuilder::call_durations`]), which time every call of a breaker
//! registered afterwards.

mod breaker;
mod chaos;
mod durations;
mod retry;
#[cfg(feature = "redis")]
mod shared;

use std::collections::BTreeMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use seawall_core::Clock;

pub use breaker::BreakerHandle;
pub(crate) use breaker::{SharedClock, Track};
pub use durations::DEFAULT_BUCKETS;
pub use retry::RetryStats;

use crate::breaker::{CircuitBreaker, KeyedCircuitBreaker};
use crate::bulkhead::Bulkhead;
use crate::clock::TokioClock;
use crate::limit::AdaptiveLimiter;
use crate::rate_limit::RateLimiter;
use crate::retry::RetryPolicy;
use breaker::KeyedTracks;
use retry::RetryCounters;

/// The kinds of policy a [`Registry`] holds. Names are unique within a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyKind {
    /// A [`CircuitBreaker`] or a [`KeyedCircuitBreaker`].
    CircuitBreaker,
    /// A [`RetryPolicy`].
    Retry,
    /// A [`Bulkhead`].
    Bulkhead,
    /// A [`RateLimiter`].
    RateLimiter,
    /// An [`AdaptiveLimiter`].
    AdaptiveLimiter,
    /// A [`Hedge`](crate::Hedge).
    Hedge,
    /// A [`FaultInjector`](crate::FaultInjector).
    FaultInjector,
}

impl PolicyKind {
    /// The kind in snake_case: `circuit_breaker`, `retry`, `bulkhead`,
    /// `rate_limiter`, `adaptive_limiter`, `hedge`, `fault_injector`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PolicyKind::CircuitBreaker => "circuit_breaker",
            PolicyKind::Retry => "retry",
            PolicyKind::Bulkhead => "bulkhead",
            PolicyKind::RateLimiter => "rate_limiter",
            PolicyKind::AdaptiveLimiter => "adaptive_limiter",
            PolicyKind::Hedge => "hedge",
            PolicyKind::FaultInjector => "fault_injector",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy of the same kind is already registered under that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyRegistered {
    /// The kind of policy.
    pub kind: PolicyKind,
    /// The name taken.
    pub name: String,
}

impl fmt::Display for AlreadyRegistered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {} named {:?} is already registered",
            self.kind, self.name
        )
    }
}

impl std::error::Error for AlreadyRegistered {}

/// A breaker as registered: one breaker, or the breakers of a keyed one.
pub(crate) enum BreakerEntry {
    One {
        handle: BreakerHandle,
        track: Arc<Track>,
        critical: bool,
    },
    Keyed(KeyedTracks),
}

pub(crate) struct RetryEntry {
    pub(crate) policy: RetryPolicy,
    counters: Arc<RetryCounters>,
}

impl RetryEntry {
    pub(crate) fn stats(&self) -> RetryStats {
        self.counters.stats()
    }
}

/// What every handle of one registry shares.
pub(crate) struct Shared {
    pub(crate) clock: SharedClock,
    buckets: Option<Box<[f64]>>,
    pub(crate) breakers: RwLock<BTreeMap<String, BreakerEntry>>,
    pub(crate) retries: RwLock<BTreeMap<String, RetryEntry>>,
    pub(crate) bulkheads: RwLock<BTreeMap<String, Bulkhead>>,
    pub(crate) rate_limiters: RwLock<BTreeMap<String, RateLimiter>>,
    pub(crate) adaptive_limiters: RwLock<BTreeMap<String, AdaptiveLimiter>>,
    pub(crate) hedges: RwLock<BTreeMap<String, crate::Hedge>>,
    pub(crate) fault_injectors: RwLock<BTreeMap<String, crate::FaultInjector>>,
    #[cfg(feature = "redis")]
    pub(crate) shared_rate_limiters: RwLock<BTreeMap<String, crate::redis::SharedRateLimiter>>,
}

/// One breaker of a registry, as reports and metrics read it.
pub(crate) struct BreakerView {
    pub(crate) handle: BreakerHandle,
    pub(crate) track: Arc<Track>,
    pub(crate) critical: bool,
}

/// Named policies, to list, read and control by name, and to report on.
///
/// A handle: clones share the same policies. Policies are held by handle too
/// (a registered breaker stays alive while registered).
///
/// ```
/// use std::time::Duration;
/// use seawall::{Bulkhead, BulkheadConfig, CircuitBreaker, CircuitBreakerConfig, PolicyKind, Registry, State};
///
/// let registry = Registry::new();
/// let database = CircuitBreaker::new("database", CircuitBreakerConfig::default());
/// let search = CircuitBreaker::new("search", CircuitBreakerConfig::default());
/// registry.register_critical_breaker(&database).unwrap();
/// registry.register_breaker(&search).unwrap();
/// registry.register_bulkhead("database", &Bulkhead::new(BulkheadConfig::default())).unwrap();
///
/// // A second breaker with a taken name is refused.
/// assert!(registry.register_breaker(&search).is_err());
///
/// assert_eq!(registry.names(PolicyKind::CircuitBreaker), ["database", "search"]);
/// registry.breaker("search").unwrap().force_open();
/// assert_eq!(search.state(), State::ForcedOpen);
/// ```
#[derive(Clone)]
pub struct Registry {
    pub(crate) shared: Arc<Shared>,
}

/// Builds a [`Registry`] with a clock or call-duration histograms.
#[derive(Default)]
pub struct RegistryBuilder {
    clock: Option<SharedClock>,
    buckets: Option<Box<[f64]>>,
}

impl RegistryBuilder {
    /// Reads time from `clock` (for the time each breaker entered its state)
    /// instead of tokio's clock: a [`ManualClock`](seawall_core::ManualClock)
    /// in tests that run without a runtime.
    pub fn clock(mut self, clock: Arc<dyn Clock + Send + Sync>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Times every call of the breakers registered from now on, into a
    /// histogram per breaker and outcome with these upper bounds in seconds
    /// (for example [`DEFAULT_BUCKETS`]), exposed as
    /// `seawall_circuitbreaker_call_duration_seconds`.
    ///
    /// Off by default, as it is the one thing that costs on every call: two
    /// clock reads and two atomic additions. A breaker sends its durations to
    /// one registry only (the first that asks); breakers of a keyed breaker
    /// are not timed.
    pub fn call_durations(mut self, buckets: &[f64]) -> Self {
        self.buckets = Some(buckets.into());
        self
    }

    /// The registry.
    pub fn build(self) -> Registry {
        Registry {
            shared: Arc::new(Shared {
                clock: self.clock.unwrap_or_else(|| Arc::new(TokioClock)),
                buckets: self.buckets,
                breakers: RwLock::default(),
                retries: RwLock::default(),
                bulkheads: RwLock::default(),
                rate_limiters: RwLock::default(),
                adaptive_limiters: RwLock::default(),
                hedges: RwLock::default(),
                fault_injectors: RwLock::default(),
                #[cfg(feature = "redis")]
                shared_rate_limiters: RwLock::default(),
            }),
        }
    }
}

impl fmt::Debug for RegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryBuilder")
            .field("buckets", &self.buckets)
            .finish_non_exhaustive()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// Inserts `value` under `name` unless the name is taken.
fn insert<T>(
    map: &RwLock<BTreeMap<String, T>>,
    kind: PolicyKind,
    name: &str,
    value: impl FnOnce() -> T,
) -> Result<(), AlreadyRegistered> {
    let mut map = write(map);
    if map.contains_key(name) {
        return Err(AlreadyRegistered {
            kind,
            name: name.to_owned(),
        });
    }
    map.insert(name.to_owned(), value());
    Ok(())
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// An empty registry on tokio's clock, without call-duration histograms.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder, for a clock or call-duration histograms.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// Registers `breaker` under its name.
    pub fn register_breaker<K: Send + Sync + 'static>(
        &self,
        breaker: &CircuitBreaker<K>,
    ) -> Result<(), AlreadyRegistered> {
        self.add_breaker(BreakerHandle::new(breaker), false)
    }

    /// Registers `breaker` under its name as critical: while it is open, the
    /// [health](Self::health) status is unhealthy.
    pub fn register_critical_breaker<K: Send + Sync + 'static>(
        &self,
        breaker: &CircuitBreaker<K>,
    ) -> Result<(), AlreadyRegistered> {
        self.add_breaker(BreakerHandle::new(breaker), true)
    }

    fn add_breaker(&self, handle: BreakerHandle, critical: bool) -> Result<(), AlreadyRegistered> {
        let shared = &*self.shared;
        let name = handle.name().to_owned();
        insert(&shared.breakers, PolicyKind::CircuitBreaker, &name, || {
            let track = breaker::track(&handle, &shared.clock, shared.buckets.as_deref());
            BreakerEntry::One {
                handle,
                track,
                critical,
            }
        })
    }

    /// Registers the breakers of `keyed`, present and future, each under its
    /// own name (`name/key`); the keyed breaker is registered under its name.
    /// They are never critical.
    pub fn register_keyed_breaker<Q, K>(
        &self,
        keyed: &KeyedCircuitBreaker<Q, K>,
    ) -> Result<(), AlreadyRegistered>
    where
        Q: Hash + Eq + Clone + fmt::Display + Send + Sync + 'static,
        K: Clone + Send + Sync + 'static,
    {
        let shared = &*self.shared;
        insert(
            &shared.breakers,
            PolicyKind::CircuitBreaker,
            keyed.name(),
            || BreakerEntry::Keyed(KeyedTracks::new(Box::new(keyed.clone()), &shared.clock)),
        )
    }

    /// Registers `policy` under `name` and returns it with a listener that
    /// counts how its calls end ([`retry_stats`](Self::retry_stats)); its own
    /// listener, if any, still hears every decision. Use the returned policy
    /// (and its clones, or a [`RetryLayer`](crate::RetryLayer) made from it).
    pub fn register_retry(
        &self,
        name: impl Into<String>,
        mut policy: RetryPolicy,
    ) -> Result<RetryPolicy, AlreadyRegistered> {
        let name = name.into();
        let counters = Arc::new(RetryCounters::new(policy.listener.take()));
        policy.listener = Some(counters.clone());
        let registered = policy.clone();
        insert(&self.shared.retries, PolicyKind::Retry, &name, || {
            RetryEntry {
                policy: registered,
                counters,
            }
        })?;
        Ok(policy)
    }

    /// Registers `bulkhead` under `name`.
    pub fn register_bulkhead(
        &self,
        name: impl Into<String>,
        bulkhead: &Bulkhead,
    ) -> Result<(), AlreadyRegistered> {
        let name = name.into();
        insert(&self.shared.bulkheads, PolicyKind::Bulkhead, &name, || {
            bulkhead.clone()
        })
    }

    /// Registers `limiter` under `name`.
    pub fn register_rate_limiter(
        &self,
        name: impl Into<String>,
        limiter: &RateLimiter,
    ) -> Result<(), AlreadyRegistered> {
        let name = name.into();
        #[cfg(feature = "redis")]
        if read(&self.shared.shared_rate_limiters).contains_key(&name) {
            return Err(AlreadyRegistered {
                kind: PolicyKind::RateLimiter,
                name,
            });
        }
        insert(
            &self.shared.rate_limiters,
            PolicyKind::RateLimiter,
            &name,
            || limiter.clone(),
        )
    }

    /// Registers `limiter` under `name`.
    pub fn register_adaptive_limiter(
        &self,
        name: impl Into<String>,
        limiter: &AdaptiveLimiter,
    ) -> Result<(), AlreadyRegistered> {
        let name = name.into();
        insert(
            &self.shared.adaptive_limiters,
            PolicyKind::AdaptiveLimiter,
            &name,
            || limiter.clone(),
        )
    }

    /// Forgets the policy of `kind` named `name`; false if there was none. A
    /// breaker keeps sending its transitions to the registry's notes, which
    /// nothing reads any more.
    pub fn unregister(&self, kind: PolicyKind, name: &str) -> bool {
        let shared = &*self.shared;
        match kind {
            PolicyKind::CircuitBreaker => write(&shared.breakers).remove(name).is_some(),
            PolicyKind::Retry => write(&shared.retries).remove(name).is_some(),
            PolicyKind::Bulkhead => write(&shared.bulkheads).remove(name).is_some(),
            PolicyKind::RateLimiter => {
                #[cfg(feature = "redis")]
                if write(&shared.shared_rate_limiters).remove(name).is_some() {
                    return true;
                }
                write(&shared.rate_limiters).remove(name).is_some()
            }
            PolicyKind::AdaptiveLimiter => write(&shared.adaptive_limiters).remove(name).is_some(),
            PolicyKind::Hedge => write(&shared.hedges).remove(name).is_some(),
            PolicyKind::FaultInjector => write(&shared.fault_injectors).remove(name).is_some(),
        }
    }

    /// The names registered for `kind`, sorted. A keyed breaker is listed
    /// under its own name; [`breakers`](Self::breakers) lists its keys' breakers.
    pub fn names(&self, kind: PolicyKind) -> Vec<String> {
        let shared = &*self.shared;
        match kind {
            PolicyKind::CircuitBreaker => read(&shared.breakers).keys().cloned().collect(),
            PolicyKind::Retry => read(&shared.retries).keys().cloned().collect(),
            PolicyKind::Bulkhead => read(&shared.bulkheads).keys().cloned().collect(),
            PolicyKind::RateLimiter => {
                #[allow(unused_mut)]
                let mut names: Vec<String> = read(&shared.rate_limiters).keys().cloned().collect();
                #[cfg(feature = "redis")]
                {
                    names.extend(read(&shared.shared_rate_limiters).keys().cloned());
                    names.sort();
                }
                names
            }
            PolicyKind::AdaptiveLimiter => {
                read(&shared.adaptive_limiters).keys().cloned().collect()
            }
            PolicyKind::Hedge => read(&shared.hedges).keys().cloned().collect(),
            PolicyKind::FaultInjector => read(&shared.fault_injectors).keys().cloned().collect(),
        }
    }

    /// The breaker named `name`: a registered breaker, or the breaker of one
    /// key of a registered keyed breaker (`name/key`).
    pub fn breaker(&self, name: &str) -> Option<BreakerHandle> {
        if let Some(BreakerEntry::One { handle, .. }) = read(&self.shared.breakers).get(name) {
            return Some(handle.clone());
        }
        self.breakers().into_iter().find(|b| b.name() == name)
    }

    /// Every breaker, the breakers of keyed breakers included, sorted by name.
    pub fn breakers(&self) -> Vec<BreakerHandle> {
        self.breaker_views().into_iter().map(|v| v.handle).collect()
    }

    /// The retry policy registered as `name` (with the registry's listener).
    pub fn retry(&self, name: &str) -> Option<RetryPolicy> {
        read(&self.shared.retries)
            .get(name)
            .map(|entry| entry.policy.clone())
    }

    /// How the calls of the retry policy `name` ended, since it was registered.
    pub fn retry_stats(&self, name: &str) -> Option<RetryStats> {
        read(&self.shared.retries).get(name).map(RetryEntry::stats)
    }

    /// The bulkhead registered as `name`.
    pub fn bulkhead(&self, name: &str) -> Option<Bulkhead> {
        read(&self.shared.bulkheads).get(name).cloned()
    }

    /// The rate limiter registered as `name`.
    pub fn rate_limiter(&self, name: &str) -> Option<RateLimiter> {
        read(&self.shared.rate_limiters).get(name).cloned()
    }

    /// The adaptive limiter registered as `name`.
    pub fn adaptive_limiter(&self, name: &str) -> Option<AdaptiveLimiter> {
        read(&self.shared.adaptive_limiters).get(name).cloned()
    }

    /// Every adaptive limiter with its name, sorted by name.
    pub(crate) fn adaptive_limiters(&self) -> Vec<(String, AdaptiveLimiter)> {
        read(&self.shared.adaptive_limiters)
            .iter()
            .map(|(n, l)| (n.clone(), l.clone()))
            .collect()
    }

    /// Every retry policy with its name, sorted by name.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn retry_policies(&self) -> Vec<(String, RetryPolicy)> {
        read(&self.shared.retries)
            .iter()
            .map(|(n, entry)| (n.clone(), entry.policy.clone()))
            .collect()
    }

    /// Every breaker with what the registry noted, sorted by name.
    pub(crate) fn breaker_views(&self) -> Vec<BreakerView> {
        let mut views = Vec::new();
        for entry in read(&self.shared.breakers).values() {
            match entry {
                BreakerEntry::One {
                    handle,
                    track,
                    critical,
                } => views.push(BreakerView {
                    handle: handle.clone(),
                    track: Arc::clone(track),
                    critical: *critical,
                }),
                BreakerEntry::Keyed(keyed) => views.extend(keyed.breakers().into_iter().map(
                    |(handle, track)| BreakerView {
                        handle,
                        track,
                        critical: false,
                    },
                )),
            }
        }
        views.sort_by(|a, b| a.handle.name().cmp(b.handle.name()));
        views
    }

    /// Every retry policy's name and stats, sorted by name.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn retry_stats_all(&self) -> Vec<(String, RetryStats)> {
        read(&self.shared.retries)
            .iter()
            .map(|(name, entry)| (name.clone(), entry.stats()))
            .collect()
    }

    /// Every bulkhead with its name, sorted by name.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn bulkheads(&self) -> Vec<(String, Bulkhead)> {
        read(&self.shared.bulkheads)
            .iter()
            .map(|(n, b)| (n.clone(), b.clone()))
            .collect()
    }

    /// Every rate limiter with its name, sorted by name.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn rate_limiters(&self) -> Vec<(String, RateLimiter)> {
        read(&self.shared.rate_limiters)
            .iter()
            .map(|(n, l)| (n.clone(), l.clone()))
            .collect()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("circuit_breakers", &self.names(PolicyKind::CircuitBreaker))
            .field("retries", &self.names(PolicyKind::Retry))
            .field("bulkheads", &self.names(PolicyKind::Bulkhead))
            .field("rate_limiters", &self.names(PolicyKind::RateLimiter))
            .field(
                "adaptive_limiters",
                &self.names(PolicyKind::AdaptiveLimiter),
            )
            .field("hedges", &self.names(PolicyKind::Hedge))
            .field("fault_injectors", &self.names(PolicyKind::FaultInjector))
            .finish()
    }
}
