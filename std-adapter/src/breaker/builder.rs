//! Building a breaker with more than a name and a configuration.

use std::sync::Arc;

use seawall_core::breaker::{CircuitBreaker as Core, Transition};
use seawall_core::{Clock, ConfigError};

use super::{CircuitBreaker, CircuitBreakerConfig, ErrorsAreFailures, Inner, Listener, Owned};
use crate::clock::TimeSource;

/// Builds a [`CircuitBreaker`]: its configuration, its
/// [classifier](super::Classify), its clock and a listener of its transitions.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use seawall::{CircuitBreaker, CircuitBreakerConfig, State};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let cb = CircuitBreaker::builder("payments")
///     .config(CircuitBreakerConfig { failure_threshold: 3, ..Default::default() })
///     .on_transition(move |name, transition| {
///         log.lock().unwrap().push(format!("{name}: {transition}"));
///     })
///     .build()
///     .unwrap();
/// cb.force_open();
/// assert_eq!(*seen.lock().unwrap(), ["payments: closed -> forced_open"]);
/// ```
pub struct CircuitBreakerBuilder<K = ErrorsAreFailures> {
    name: String,
    config: CircuitBreakerConfig,
    classifier: K,
    time: TimeSource,
    listener: Option<Listener>,
    shadow: bool,
}

impl CircuitBreakerBuilder {
    pub(crate) fn new(name: String) -> Self {
        Self {
            name,
            config: CircuitBreakerConfig::default(),
            classifier: ErrorsAreFailures,
            time: TimeSource::tokio(),
            listener: None,
            shadow: false,
        }
    }
}

impl<K> CircuitBreakerBuilder<K> {
    /// The options (default: [`CircuitBreakerConfig::default`]).
    pub fn config(mut self, config: CircuitBreakerConfig) -> Self {
        self.config = config;
        self
    }

    /// Which results count as failures (default: [`ErrorsAreFailures`]): any
    /// [`Classify`](crate::Classify), such as [`FailureWhen`](crate::FailureWhen)
    /// or a closure returning `Some(Outcome)` or `None` (neither).
    ///
    /// ```
    /// use seawall::{CircuitBreaker, CircuitBreakerConfig, FailureWhen, Outcome, State};
    ///
    /// #[derive(Debug)]
    /// enum DbError { NotFound, Unavailable }
    ///
    /// // A missing row is an answer, not a sign of an unhealthy database.
    /// let cb = CircuitBreaker::builder("db")
    ///     .config(CircuitBreakerConfig { failure_threshold: 1, ..Default::default() })
    ///     .classifier(|result: &Result<u32, DbError>| match result {
    ///         Err(DbError::Unavailable) => Some(Outcome::Failure),
    ///         Err(DbError::NotFound) => None,
    ///         Ok(_) => Some(Outcome::Success),
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let _ = cb.call(|| async { Err::<u32, _>(DbError::NotFound) }).await;
    /// assert_eq!(cb.state(), State::Closed);
    /// let _ = cb.call(|| async { Err::<u32, _>(DbError::Unavailable) }).await;
    /// assert_eq!(cb.state(), State::Open);
    /// # });
    ///
    /// // Only server errors count; a 404 means the server is fine.
    /// let api = CircuitBreaker::builder("api")
    ///     .classifier(FailureWhen(|status: &u16| *status >= 500))
    ///     .build()
    ///     .unwrap();
    /// # let _ = api;
    /// ```
    pub fn classifier<K2>(self, classifier: K2) -> CircuitBreakerBuilder<K2> {
        CircuitBreakerBuilder {
            name: self.name,
            config: self.config,
            classifier,
            time: self.time,
            listener: self.listener,
            shadow: self.shadow,
        }
    }

    /// Reads time from `clock` instead of tokio's clock, for example a
    /// [`ManualClock`](seawall_core::ManualClock) in a test that runs without
    /// a tokio runtime. Latencies are measured on it too.
    pub fn clock(mut self, clock: Arc<dyn Clock + Send + Sync>) -> Self {
        self.time = TimeSource::Custom(clock);
        self
    }

    /// Calls `listener` with the breaker's name on every state transition, in
    /// the order the breaker made them, from the task that caused it (or,
    /// when two threads cause transitions at once, from the one that
    /// reported last, which tells both in order). It should be quick (log,
    /// count, send): it runs on the calling path.
    pub fn on_transition(
        mut self,
        listener: impl Fn(&str, Transition) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    /// Shadow mode: the breaker decides but does not enforce. A call it would
    /// reject runs anyway, unrecorded (an enforcing breaker would not have seen
    /// it), and counts in `stats().rejected`, the registry's
    /// `seawall_circuitbreaker_shadow_rejections_total` and nowhere else: a
    /// configuration tried on production traffic before it is switched on.
    /// Applies to [`call`](super::CircuitBreaker::call), the tower layer and a
    /// [`Policy`](crate::Policy); [`try_acquire`](super::CircuitBreaker::try_acquire)
    /// still answers the decision.
    pub fn shadow(mut self, shadow: bool) -> Self {
        self.shadow = shadow;
        self
    }

    /// Validates the configuration and builds the breaker.
    pub fn build(self) -> Result<CircuitBreaker<K>, ConfigError> {
        let (core, window) = self.config.build()?;
        let measure_latency = self.config.window.is_some();
        Ok(CircuitBreaker {
            inner: Arc::new(Inner {
                core: Core::with_window(Owned(core), window),
                time: self.time,
                classifier: self.classifier,
                name: self.name.into_boxed_str(),
                config: self.config,
                measure_latency,
                listener: self.listener,
                shadow: self.shadow,
                hooks: crate::events::Hooks::new(),
                deliveries: super::Deliveries::new(),
            }),
        })
    }
}

impl<K> std::fmt::Debug for CircuitBreakerBuilder<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreakerBuilder")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("time", &self.time)
            .finish_non_exhaustive()
    }
}
