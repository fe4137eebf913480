//! One breaker per key (tenant, host, shard), with a bounded number of keys.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use seawall_core::ConfigError;
use seawall_core::breaker::{State, Transition};

use super::{CircuitBreaker, CircuitBreakerConfig, Classify, ErrorsAreFailures};
use crate::error::Error;
use crate::events::Subscriber;

type SharedListener = Arc<dyn Fn(&str, Transition) + Send + Sync>;

struct Entry<K> {
    breaker: CircuitBreaker<K>,
    /// The map's tick when the key was last used: the LRU order.
    used: AtomicU64,
}

struct Shared<Q, K> {
    name: String,
    config: CircuitBreakerConfig,
    classifier: K,
    max_keys: usize,
    listener: Option<SharedListener>,
    /// Subscribers of every breaker's transitions (a registry's); changed only
    /// with the map's write lock held, so no breaker misses one.
    subscribers: RwLock<Vec<Subscriber>>,
    tick: AtomicU64,
    map: RwLock<HashMap<Q, Entry<K>>>,
}

/// A circuit breaker per key: one tenant's, one host's failing database does
/// not open the breaker of the others.
///
/// Every key gets its own [`CircuitBreaker`] with the same configuration and
/// classifier, created on first use and named `name/key`. The number of keys
/// is bounded by `max_keys`: when a new key arrives and the map is full, the
/// least recently used *closed* breaker is forgotten (an open breaker is kept
/// as long as a closed one can go instead, so that a flood of new keys cannot
/// wipe out the protection against a failing one; when every breaker is open,
/// the least recently used goes). A forgotten key starts again closed.
///
/// ```
/// use seawall::{CircuitBreakerConfig, KeyedCircuitBreaker, State};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let breakers = KeyedCircuitBreaker::new(
///     "tenant-db",
///     CircuitBreakerConfig { failure_threshold: 1, ..Default::default() },
///     10_000,
/// );
/// let _ = breakers.call("acme".to_string(), || async { Err::<(), _>("down") }).await;
/// assert_eq!(breakers.get(&"acme".to_string()).state(), State::Open);
/// assert_eq!(breakers.get(&"globex".to_string()).state(), State::Closed);
/// assert_eq!(breakers.get(&"acme".to_string()).name(), "tenant-db/acme");
/// # }
/// ```
pub struct KeyedCircuitBreaker<Q, K = ErrorsAreFailures> {
    shared: Arc<Shared<Q, K>>,
}

impl<Q> KeyedCircuitBreaker<Q> {
    /// Breakers named `name/key`, each with `config`, for at most `max_keys` keys.
    ///
    /// # Panics
    ///
    /// If `config` is invalid or `max_keys` is zero, with the message of the
    /// [`ConfigError`] that [`try_new`](Self::try_new) would return.
    #[track_caller]
    pub fn new(name: impl Into<String>, config: CircuitBreakerConfig, max_keys: usize) -> Self {
        match Self::try_new(name, config, max_keys) {
            Ok(keyed) => keyed,
            Err(error) => panic!("{error}"),
        }
    }

    /// [`new`](Self::new), or the first invalid option.
    pub fn try_new(
        name: impl Into<String>,
        config: CircuitBreakerConfig,
        max_keys: usize,
    ) -> Result<Self, ConfigError> {
        if max_keys == 0 {
            return Err(ConfigError::new("max_keys", "must be at least 1"));
        }
        config.validate()?;
        Ok(Self {
            shared: Arc::new(Shared {
                name: name.into(),
                config,
                classifier: ErrorsAreFailures,
                max_keys,
                listener: None,
                subscribers: RwLock::new(Vec::new()),
                tick: AtomicU64::new(0),
                map: RwLock::new(HashMap::new()),
            }),
        })
    }
}

impl<Q, K> KeyedCircuitBreaker<Q, K> {
    /// The same breakers with another classifier. Call it before the first
    /// use: it starts from an empty map.
    pub fn with_classifier<K2>(self, classifier: K2) -> KeyedCircuitBreaker<Q, K2> {
        KeyedCircuitBreaker {
            shared: Arc::new(Shared {
                name: self.shared.name.clone(),
                config: self.shared.config.clone(),
                classifier,
                max_keys: self.shared.max_keys,
                listener: self.shared.listener.clone(),
                subscribers: RwLock::new(self.shared.subscribers()),
                tick: AtomicU64::new(0),
                map: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// How many keys have a breaker now.
    pub fn len(&self) -> usize {
        read(&self.shared.map).len()
    }

    /// Whether no key has a breaker yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest number of keys kept at once.
    pub fn max_keys(&self) -> usize {
        self.shared.max_keys
    }

    /// The name its breakers are named after (`name/key`).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The breakers of every key now.
    pub(crate) fn breakers(&self) -> Vec<CircuitBreaker<K>> {
        read(&self.shared.map)
            .values()
            .map(|entry| entry.breaker.clone())
            .collect()
    }

    /// Tells `subscriber` of the transitions of every breaker, present and future.
    pub(crate) fn subscribe(&self, subscriber: Subscriber) {
        let map = self.shared.map.write().unwrap_or_else(|e| e.into_inner());
        for entry in map.values() {
            entry.breaker.inner.hooks.subscribe(Arc::clone(&subscriber));
        }
        self.shared
            .subscribers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(subscriber);
    }
}

impl<Q, K> Shared<Q, K> {
    fn subscribers(&self) -> Vec<Subscriber> {
        self.subscribers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl<Q, K> KeyedCircuitBreaker<Q, K>
where
    Q: Hash + Eq + Clone + Display,
    K: Clone,
{
    /// Calls `listener` with a breaker's name on each of its transitions. Call
    /// it before the first use: it starts from an empty map.
    pub fn on_transition(
        self,
        listener: impl Fn(&str, Transition) + Send + Sync + 'static,
    ) -> Self {
        KeyedCircuitBreaker {
            shared: Arc::new(Shared {
                name: self.shared.name.clone(),
                config: self.shared.config.clone(),
                classifier: self.shared.classifier.clone(),
                max_keys: self.shared.max_keys,
                listener: Some(Arc::new(listener)),
                subscribers: RwLock::new(self.shared.subscribers()),
                tick: AtomicU64::new(0),
                map: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The breaker of `key`, created if it has none yet.
    pub fn get(&self, key: &Q) -> CircuitBreaker<K> {
        let shared = &*self.shared;
        let tick = shared.tick.fetch_add(1, Ordering::Relaxed);
        if let Some(entry) = read(&shared.map).get(key) {
            entry.used.store(tick, Ordering::Relaxed);
            return entry.breaker.clone();
        }
        let mut map = shared.map.write().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get(key) {
            entry.used.store(tick, Ordering::Relaxed);
            return entry.breaker.clone();
        }
        if map.len() >= shared.max_keys {
            evict(&mut map);
        }
        let breaker = self.create(key);
        map.insert(
            key.clone(),
            Entry {
                breaker: breaker.clone(),
                used: AtomicU64::new(tick),
            },
        );
        breaker
    }

    /// Calls through the breaker of `key` (see [`CircuitBreaker::call`]).
    pub async fn call<F, Fut, T, E>(&self, key: Q, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
    {
        self.get(&key).call(f).await
    }

    /// Forgets the breaker of `key`; it starts again closed on next use.
    pub fn remove(&self, key: &Q) -> Option<CircuitBreaker<K>> {
        let mut map = self.shared.map.write().unwrap_or_else(|e| e.into_inner());
        map.remove(key).map(|entry| entry.breaker)
    }

    /// Every key with the state of its breaker, for a health report.
    pub fn states(&self) -> Vec<(Q, State)> {
        read(&self.shared.map)
            .iter()
            .map(|(key, entry)| (key.clone(), entry.breaker.state()))
            .collect()
    }

    fn create(&self, key: &Q) -> CircuitBreaker<K> {
        let shared = &*self.shared;
        let mut builder = CircuitBreaker::builder(format!("{}/{key}", shared.name))
            .config(shared.config.clone())
            .classifier(shared.classifier.clone());
        if let Some(listener) = &shared.listener {
            let listener = Arc::clone(listener);
            builder = builder.on_transition(move |name, transition| listener(name, transition));
        }
        let breaker = match builder.build() {
            Ok(breaker) => breaker,
            // The configuration was validated when the map was built.
            Err(error) => unreachable!("validated configuration rejected: {error}"),
        };
        for subscriber in shared.subscribers() {
            breaker.inner.hooks.subscribe(subscriber);
        }
        breaker
    }
}

fn read<Q, K>(
    map: &RwLock<HashMap<Q, Entry<K>>>,
) -> std::sync::RwLockReadGuard<'_, HashMap<Q, Entry<K>>> {
    map.read().unwrap_or_else(|e| e.into_inner())
}

/// Removes the least recently used closed breaker, or the least recently used
/// one when none is closed.
fn evict<Q: Hash + Eq + Clone, K>(map: &mut HashMap<Q, Entry<K>>) {
    let lru = |closed_only: bool| {
        map.iter()
            .filter(|(_, entry)| !closed_only || entry.breaker.state() == State::Closed)
            .min_by_key(|(_, entry)| entry.used.load(Ordering::Relaxed))
            .map(|(key, _)| key.clone())
    };
    if let Some(victim) = lru(true).or_else(|| lru(false)) {
        map.remove(&victim);
    }
}

impl<Q, K> Clone for KeyedCircuitBreaker<Q, K> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<Q, K> std::fmt::Debug for KeyedCircuitBreaker<Q, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedCircuitBreaker")
            .field("name", &self.shared.name)
            .field("max_keys", &self.shared.max_keys)
            .field("keys", &self.len())
            .finish_non_exhaustive()
    }
}
