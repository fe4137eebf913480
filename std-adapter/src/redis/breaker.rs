//! The shared circuit breaker: the handle, its builder and its sync task.

use std::future::Future;
use std::sync::{Arc, Weak};

use seawall_core::breaker::rules::Manual;
use seawall_core::breaker::{Rejection, State, Transition, WindowTotals};
use seawall_core::{Clock, ConfigError, Stats};

use super::engine::{Engine, Ticket};
use super::permit::SharedPermit;
use super::state::SharedState;
use super::store::{RedisStore, StoreError};
use crate::breaker::Listener;
use crate::{CircuitBreakerConfig, Classify, Error, ErrorsAreFailures, TokioClock};

/// A circuit breaker whose state is shared, through Redis, by every process
/// that uses the same [`RedisStore`] prefix and name.
///
/// Used like a [`CircuitBreaker`](crate::CircuitBreaker): [`call`](Self::call)
/// runs a call if the breaker lets it through and records its outcome. The
/// difference is whose outcomes count: the failures of the whole fleet open
/// it, for the whole fleet, and half-open admits `half_open_max_calls` probes
/// across the fleet. Its rules are the core's, every one of them (the
/// consecutive rule, count and time windows, slow calls, open-duration growth,
/// the half-open limit and wait); only the state lives in Redis. How the
/// processes keep in step, and what happens when Redis is down or its data is
/// corrupt, is told in the [module documentation](super).
///
/// ```no_run
/// use std::time::Duration;
/// use seawall::CircuitBreakerConfig;
/// use seawall::redis::{RedisStore, SharedConfig};
///
/// # async fn query() -> Result<u32, std::io::Error> { Ok(7) }
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::new("redis://127.0.0.1:6379", SharedConfig::default())?;
/// let cb = store.breaker("database", CircuitBreakerConfig {
///     failure_threshold: 5,
///     success_threshold: 2,
///     timeout: Duration::from_secs(60),
///     ..Default::default()
/// })?;
/// match cb.call(|| async { query().await }).await {
///     Ok(rows) => println!("Success: {rows:?}"),
///     Err(e) => println!("Failed or circuit open: {e:?}"),
/// }
/// let stats = cb.stats();
/// println!("{} {:.2}", cb.state(), stats.rejection_rate());
/// # Ok(())
/// # }
/// ```
pub struct SharedCircuitBreaker<K = ErrorsAreFailures> {
    pub(crate) inner: Arc<Inner<K>>,
}

pub(crate) struct Inner<K> {
    pub(crate) engine: Arc<Engine>,
    pub(crate) classifier: K,
}

impl SharedCircuitBreaker {
    /// A shared breaker named `name` with `config` on `store`
    /// (what [`RedisStore::breaker`] does).
    pub fn new(
        store: &RedisStore,
        name: impl Into<String>,
        config: CircuitBreakerConfig,
    ) -> Result<Self, ConfigError> {
        store.breaker(name, config)
    }
}

impl<K> SharedCircuitBreaker<K> {
    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.inner.engine.name
    }

    /// The configuration.
    pub fn config(&self) -> &CircuitBreakerConfig {
        &self.inner.engine.config
    }

    /// The state as this process sees it: the shared state as of the last
    /// sync or reply, or the local fallback's while Redis is unreachable
    /// (Open when failing closed).
    pub fn state(&self) -> State {
        self.inner.engine.state()
    }

    /// This process's counters: its calls, their outcomes (slow calls timed
    /// when the breaker has a window), its rejections, and the transitions it
    /// saw (`state_transitions`).
    pub fn stats(&self) -> Stats {
        self.inner.engine.stats()
    }

    /// The fleet's sliding window as of the last sync: its calls, failures and
    /// slow calls (zero without a window). After a trip, those that opened it.
    pub fn window_totals(&self) -> WindowTotals {
        self.inner.engine.window_totals()
    }

    /// How many times this process read a corrupt shared state from Redis
    /// (and repaired it): see [`StoreError::Corrupt`].
    pub fn corrupt_reads(&self) -> u64 {
        self.inner.engine.corrupt_reads()
    }

    /// Whether Redis was unreachable at the last attempt, and the breaker
    /// decides locally (or rejects every call, when failing closed).
    pub fn is_fallback(&self) -> bool {
        self.inner.engine.is_fallback()
    }

    /// Reports the outcomes not yet reported and reads the shared state now,
    /// as the sync task does every sync interval. An error means Redis did
    /// not answer (the breaker is in fallback).
    pub async fn sync(&self) -> Result<SharedState, StoreError> {
        self.inner.engine.sync().await
    }

    /// The shared state, read from Redis now (see [`sync`](Self::sync)).
    pub async fn shared_state(&self) -> Result<SharedState, StoreError> {
        self.sync().await
    }

    /// Opens the breaker of every process until [`reset`](Self::reset) or
    /// [`disable`](Self::disable). Also repairs a corrupt shared state.
    pub async fn force_open(&self) -> Result<Option<Transition>, StoreError> {
        self.inner.engine.manual(Manual::ForceOpen).await
    }

    /// Lets every call of every process through, until [`reset`](Self::reset)
    /// or [`force_open`](Self::force_open).
    pub async fn disable(&self) -> Result<Option<Transition>, StoreError> {
        self.inner.engine.manual(Manual::Disable).await
    }

    /// Closes the breaker of every process and forgets its failures, its
    /// window and the growth of its open duration. Also repairs a corrupt
    /// shared state.
    pub async fn reset(&self) -> Result<Option<Transition>, StoreError> {
        self.inner.engine.manual(Manual::Reset).await
    }

    /// Asks to make one call by hand: a [`SharedPermit`] to record the
    /// outcome on, or the rejection. Goes to Redis only past the end of an
    /// open duration and in half-open (bounded by the store's timeout).
    pub async fn try_acquire(&self) -> Result<SharedPermit<K>, Rejection> {
        let ticket = self.inner.engine.acquire().await?;
        let start = self.start();
        Ok(SharedPermit::new(Arc::clone(&self.inner), ticket, start))
    }

    /// When a call starts, if calls are timed (only a window's rules look at
    /// slow calls).
    fn start(&self) -> Option<seawall_core::Instant> {
        let engine = &self.inner.engine;
        engine.measures_latency().then(|| engine.local_now())
    }

    /// Runs the future made by `f` if the breaker lets it through, and records
    /// its outcome as the [classifier](Classify) says.
    ///
    /// Returns the call's value, [`Error::Inner`] with its error, or
    /// [`Error::Rejected`] without calling `f`. Dropping the future before it
    /// finishes releases the permit (a probe's slot is freed in the
    /// background, or when its lease expires); a call that panics is a
    /// failure, as with the local breaker.
    pub async fn call<F, Fut, T, E>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
    {
        let engine = &self.inner.engine;
        // A permit without its handle on the breaker: the call borrows it.
        let mut guard = match engine.acquire().await {
            Ok(ticket) => Guard(engine, Some(ticket)),
            Err(rejection) => return Err(Error::Rejected(rejection)),
        };
        let start = self.start();
        let result = f().await;
        if let Some(ticket) = guard.1.take() {
            match self.inner.classifier.classify(&result) {
                Some(outcome) => {
                    let latency = start.map(|start| engine.local_now() - start);
                    engine.record(ticket, outcome, latency).await;
                }
                None => engine.release(ticket),
            }
        }
        result.map_err(Error::Inner)
    }

    /// Returns the classifier.
    pub fn classifier(&self) -> &K {
        &self.inner.classifier
    }

    /// Runs `operation` on this breaker on its store's runtime, without
    /// waiting for it (manual control from a registry).
    pub(crate) fn in_background<F, Fut>(&self, operation: F)
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future + Send + 'static,
        K: Send + Sync + 'static,
    {
        let future = operation(self.clone());
        self.inner.engine.store.runtime().spawn(async move {
            future.await;
        });
    }
}

/// Releases the ticket of a call dropped before it finished, or records a
/// failure when its call panicked.
struct Guard<'a>(&'a Arc<Engine>, Option<Ticket>);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.1.take() {
            self.0.dropped(ticket);
        }
    }
}

impl<K> Clone for SharedCircuitBreaker<K> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K> std::fmt::Debug for SharedCircuitBreaker<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCircuitBreaker")
            .field("name", &self.name())
            .field("state", &self.state())
            .field("fallback", &self.is_fallback())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Builds a [`SharedCircuitBreaker`]: its configuration, classifier, local
/// clock and transition listener. Made by [`RedisStore::breaker_builder`].
pub struct SharedCircuitBreakerBuilder<K = ErrorsAreFailures> {
    store: RedisStore,
    name: String,
    config: CircuitBreakerConfig,
    classifier: K,
    clock: Arc<dyn Clock + Send + Sync>,
    fleet_clock: Option<Arc<dyn Clock + Send + Sync>>,
    listener: Option<Listener>,
}

impl SharedCircuitBreakerBuilder {
    pub(crate) fn new(store: RedisStore, name: String) -> Self {
        Self {
            store,
            name,
            config: CircuitBreakerConfig::default(),
            classifier: ErrorsAreFailures,
            clock: Arc::new(TokioClock),
            fleet_clock: None,
            listener: None,
        }
    }
}

impl<K> SharedCircuitBreakerBuilder<K> {
    /// The options (default: [`CircuitBreakerConfig::default`]).
    pub fn config(mut self, config: CircuitBreakerConfig) -> Self {
        self.config = config;
        self
    }

    /// Which results count as failures (default: [`ErrorsAreFailures`]).
    pub fn classifier<K2>(self, classifier: K2) -> SharedCircuitBreakerBuilder<K2> {
        SharedCircuitBreakerBuilder {
            store: self.store,
            name: self.name,
            config: self.config,
            classifier,
            clock: self.clock,
            fleet_clock: self.fleet_clock,
            listener: self.listener,
        }
    }

    /// The local clock (default: tokio's). It measures latencies, and how
    /// much time passed since Redis last told its time; it never has to agree
    /// with Redis's or another process's clock.
    pub fn clock(mut self, clock: Arc<dyn Clock + Send + Sync>) -> Self {
        self.clock = clock;
        self
    }

    /// The fleet's clock, in place of Redis's `TIME`: for tests and
    /// simulations that run a fleet on virtual time (every process of the
    /// fleet must use the same one). The rules then run on this clock's
    /// time, and requests for a probe carry no deadline (Redis's clock is not
    /// this one).
    pub fn fleet_clock(mut self, clock: Arc<dyn Clock + Send + Sync>) -> Self {
        self.fleet_clock = Some(clock);
        self
    }

    /// Calls `listener` with the breaker's name on every change of state this
    /// process sees, whoever caused it. It runs while the view is updated:
    /// keep it quick, and do not call back into the breaker's async methods.
    pub fn on_transition(
        mut self,
        listener: impl Fn(&str, Transition) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    /// Validates the configuration, builds the breaker and starts its sync task
    /// (on the store's runtime; it ends when the last handle and permit are gone).
    pub fn build(self) -> Result<SharedCircuitBreaker<K>, ConfigError> {
        let engine = Arc::new(Engine::new(
            self.store,
            self.name,
            self.config,
            self.clock,
            self.fleet_clock,
            self.listener,
        )?);
        spawn_sync(&engine);
        Ok(SharedCircuitBreaker {
            inner: Arc::new(Inner {
                engine,
                classifier: self.classifier,
            }),
        })
    }
}

impl<K> std::fmt::Debug for SharedCircuitBreakerBuilder<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCircuitBreakerBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The sync task: reports and reads at once (its first sync holds the sync
/// lock from here, so any other sync comes after it), then every sync
/// interval, and early when the engine wakes it. It holds the engine only
/// while it works.
fn spawn_sync(engine: &Arc<Engine>) {
    let weak: Weak<Engine> = Arc::downgrade(engine);
    let wake = Arc::clone(&engine.wake);
    let interval = engine.store.config().sync_interval;
    let mut first = engine.first_sync_lock();
    engine.store.runtime().spawn(async move {
        loop {
            match weak.upgrade() {
                Some(engine) => match first.take() {
                    Some(lock) => drop(engine.sync_locked(lock).await),
                    None => drop(engine.sync().await),
                },
                None => return,
            }
            let _ = tokio::time::timeout(interval, wake.notified()).await;
        }
    });
}
