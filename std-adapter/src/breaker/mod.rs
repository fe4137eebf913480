//! The circuit breaker for async calls: the core's state machine, driven by
//! tokio's clock, with typed errors, a classifier and cancellation safety.

mod builder;
mod call;
mod classify;
mod config;
mod future;
mod keyed;
mod layer;
mod permit;
mod service;

use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use seawall_core::breaker::{self as core_breaker, BreakerConfig, Rejection, State, Transition};
use seawall_core::transitions;
use seawall_core::{ConfigError, Stats};

pub use builder::CircuitBreakerBuilder;
pub use call::Call;
pub use classify::{Classify, ErrorsAreFailures, FailureWhen};
pub use config::{CircuitBreakerConfig, MAX_WINDOW_LEN, SlidingWindow};
pub use future::ResponseFuture;
pub use keyed::KeyedCircuitBreaker;
pub use layer::CircuitBreakerLayer;
pub use permit::{OwnedPermit, Permit};
pub use service::CircuitBreakerService;

use crate::clock::TimeSource;
use crate::events::Hooks;
pub(crate) use config::HeapWindow;

/// A listener of state transitions: the breaker's name and the transition.
pub(crate) type Listener = Box<dyn Fn(&str, Transition) + Send + Sync>;

/// The configuration, owned by the breaker: no reference counting, no indirection.
#[derive(Debug)]
pub(crate) struct Owned(BreakerConfig);

impl Deref for Owned {
    type Target = BreakerConfig;
    #[inline]
    fn deref(&self) -> &BreakerConfig {
        &self.0
    }
}

pub(crate) type CoreBreaker = core_breaker::CircuitBreaker<Owned, HeapWindow>;

/// What every handle of one breaker shares.
pub(crate) struct Inner<K> {
    pub(crate) core: CoreBreaker,
    pub(crate) time: TimeSource,
    pub(crate) classifier: K,
    name: Box<str>,
    config: CircuitBreakerConfig,
    /// Whether calls measure their latency (only windows look at slow calls).
    measure_latency: bool,
    listener: Option<Listener>,
    /// Decides without enforcing ([`CircuitBreakerBuilder::shadow`]).
    pub(crate) shadow: bool,
    /// Subscribers, a duration observer and `tracing` events (`crate::events`).
    pub(crate) hooks: Hooks,
    /// Transitions reported and not yet told, to tell them in order.
    deliveries: Mutex<Deliveries>,
}

/// The transitions a breaker has reported but not yet told its listener and
/// hooks (see `seawall_core::transitions`).
#[derive(Debug)]
pub(crate) struct Deliveries {
    buffer: Vec<Transition>,
    /// How many have been told.
    told: u64,
    /// The state the last one told ended in.
    last: State,
    /// Whether a thread is telling a batch now (it tells the next ones too).
    telling: bool,
}

impl Deliveries {
    pub(crate) fn new() -> Mutex<Self> {
        Mutex::new(Self {
            buffer: Vec::new(),
            told: 0,
            last: State::Closed,
            telling: false,
        })
    }
}

/// Ends a thread's telling, even if a listener panics.
struct Telling<'a>(&'a Mutex<Deliveries>);

impl Drop for Telling<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).telling = false;
    }
}

impl<K> Inner<K> {
    #[inline]
    pub(crate) fn notify(&self, transition: Option<Transition>) {
        if let Some(transition) = transition {
            self.notify_slow(transition);
        }
    }

    /// Tells the listener and the hooks of `transition`, and of those other
    /// threads reported, in the order the breaker made them: the thread that
    /// completes a batch tells it (`seawall_core::transitions`).
    #[cold]
    fn notify_slow(&self, transition: Transition) {
        let lock = || self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        let mut deliveries = lock();
        deliveries.buffer.push(transition);
        if deliveries.telling {
            return;
        }
        loop {
            let made = self.core.stats().state_transitions;
            let pending = deliveries.buffer.len();
            if pending == 0
                || !(transitions::complete(made, deliveries.told, pending)
                    || pending >= transitions::MAX_BATCH)
            {
                return;
            }
            let last = deliveries.last;
            transitions::order(last, &mut deliveries.buffer);
            let batch = std::mem::take(&mut deliveries.buffer);
            deliveries.told += batch.len() as u64;
            deliveries.last = batch.last().map_or(last, |t| t.to);
            deliveries.telling = true;
            drop(deliveries);
            let telling = Telling(&self.deliveries);
            for transition in batch {
                if let Some(listener) = &self.listener {
                    listener(&self.name, transition);
                }
                self.hooks.transition(&self.name, transition);
            }
            drop(telling);
            deliveries = lock();
            if deliveries.telling {
                return;
            }
        }
    }

    /// Tells the hooks of a rejected call (a `tracing` event, rate-limited).
    #[inline]
    pub(crate) fn rejected(&self, rejection: &Rejection) {
        #[cfg(feature = "tracing")]
        self.hooks
            .rejections
            .rejected(&self.name, rejection, &self.time.for_acquire());
        #[cfg(not(feature = "tracing"))]
        let _ = rejection;
    }

    /// Whether the core uses latencies (only windows look at slow calls).
    #[inline]
    pub(crate) fn measures_latency(&self) -> bool {
        self.measure_latency
    }

    /// Whether calls are timed: for the core, or for a duration observer.
    #[inline]
    pub(crate) fn times_calls(&self) -> bool {
        self.measure_latency || self.hooks.times_calls()
    }
}

/// A circuit breaker for async calls.
///
/// Wrap each call to a dependency in [`call`](Self::call): while the
/// dependency is healthy the breaker is Closed and lets calls through; after
/// `failure_threshold` consecutive failures (or a failure rate over a window)
/// it opens and rejects calls at once, for `timeout`, instead of letting them
/// hang; then it lets a probe through and closes again after
/// `success_threshold` successful probes. The state machine is the core's
/// ([`seawall_core::breaker`]); this type adds tokio's clock, typed errors, a
/// [classifier](Classify) and cancellation safety.
///
/// A `CircuitBreaker` is a handle: cloning it is cheap and every clone drives
/// the same breaker. `K` is its [classifier](Classify).
///
/// Cancellation: a call future dropped before it finishes (a timeout, a
/// `select!`, a client that went away) releases its permit, so a half-open
/// breaker never loses a probe slot to a call that will never answer.
///
/// ```
/// use std::time::Duration;
/// use seawall::{CircuitBreaker, CircuitBreakerConfig, State};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let cb = CircuitBreaker::new("database", CircuitBreakerConfig {
///     failure_threshold: 5,
///     success_threshold: 2,
///     timeout: Duration::from_secs(60),
///     ..Default::default()
/// });
///
/// for _ in 0..5 {
///     let result = cb.call(|| async { Err::<(), _>("connection refused") }).await;
///     assert!(result.unwrap_err().is_inner());
/// }
/// assert_eq!(cb.state(), State::Open);
///
/// // Open: rejected at once, without calling.
/// let result = cb.call(|| async { Ok::<_, &str>("unreachable") }).await;
/// assert!(result.unwrap_err().is_rejected());
///
/// // After the timeout, two successful probes close it.
/// tokio::time::advance(Duration::from_secs(60)).await;
/// for _ in 0..2 {
///     cb.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
/// }
/// assert_eq!(cb.state(), State::Closed);
///
/// let stats = cb.stats();
/// println!("Success rate: {:.2}%", stats.success_rate() * 100.0);
/// println!("Rejection rate: {:.2}%", stats.rejection_rate() * 100.0);
/// println!("State transitions: {}", stats.state_transitions);
/// assert_eq!(stats.state_transitions, 3);
/// # }
/// ```
pub struct CircuitBreaker<K = ErrorsAreFailures> {
    pub(crate) inner: Arc<Inner<K>>,
}

impl CircuitBreaker {
    /// A breaker named `name` (for events and reports) with `config`.
    ///
    /// # Panics
    ///
    /// If `config` is invalid, with the message of the [`ConfigError`] that
    /// [`try_new`](Self::try_new) would return (`invalid failure_threshold: must
    /// be at least 1`). Nothing panics later.
    #[track_caller]
    pub fn new(name: impl Into<String>, config: CircuitBreakerConfig) -> Self {
        match Self::try_new(name, config) {
            Ok(breaker) => breaker,
            Err(error) => panic!("{error}"),
        }
    }

    /// A breaker named `name` with `config`, or the first invalid option.
    pub fn try_new(
        name: impl Into<String>,
        config: CircuitBreakerConfig,
    ) -> Result<Self, ConfigError> {
        Self::builder(name).config(config).build()
    }

    /// A builder, for a classifier, a custom clock or a transition listener.
    pub fn builder(name: impl Into<String>) -> CircuitBreakerBuilder {
        CircuitBreakerBuilder::new(name.into())
    }
}

impl<K> CircuitBreaker<K> {
    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &CircuitBreakerConfig {
        &self.inner.config
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.inner.core.state()
    }

    /// A snapshot of the counters, with `success_rate()`, `rejection_rate()`
    /// and `state_transitions`.
    pub fn stats(&self) -> Stats {
        self.inner.core.stats()
    }

    /// The calls, failures and slow calls in the sliding window now (zero
    /// without a window).
    pub fn window_totals(&self) -> core_breaker::WindowTotals {
        self.inner.core.window_totals(&self.inner.time.for_record())
    }

    /// Opens the breaker until [`reset`](Self::reset) or
    /// [`disable`](Self::disable): every call is rejected.
    pub fn force_open(&self) -> Option<Transition> {
        let transition = self.inner.core.force_open();
        self.inner.notify(transition);
        transition
    }

    /// Lets every call through and counts it, never opening, until
    /// [`reset`](Self::reset) or [`force_open`](Self::force_open).
    pub fn disable(&self) -> Option<Transition> {
        let transition = self.inner.core.disable();
        self.inner.notify(transition);
        transition
    }

    /// Closes the breaker and forgets its failures and window (the statistics
    /// are kept).
    pub fn reset(&self) -> Option<Transition> {
        let transition = self.inner.core.reset();
        self.inner.notify(transition);
        transition
    }

    /// Asks to make one call by hand: a [`Permit`] to record the outcome on,
    /// or the [`Rejection`]. For code that cannot hand its call to
    /// [`call`](Self::call) (a stream, a callback); dropping the permit releases it.
    #[inline(always)]
    pub fn try_acquire(&self) -> Result<Permit<'_, K>, Rejection> {
        Permit::acquire(&self.inner)
    }

    /// [`try_acquire`](Self::try_acquire) with an owned permit, for futures
    /// that must be `'static` (spawned tasks, tower services).
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit<K>, Rejection> {
        OwnedPermit::acquire(&self.inner)
    }

    /// Runs the future made by `f` if the breaker lets it through, and records
    /// its outcome as the [classifier](Classify) says.
    ///
    /// Returns the call's value, [`Error::Inner`](crate::Error::Inner) with
    /// its error, or [`Error::Rejected`](crate::Error::Rejected) (without
    /// calling `f`) when the breaker is open or half-open with every probe
    /// slot taken. Nothing is asked of the breaker before the returned future
    /// is first polled; dropping it before it finishes releases the permit
    /// without an outcome. In [shadow mode](CircuitBreakerBuilder::shadow) a
    /// call it would reject runs, unrecorded.
    #[inline]
    pub fn call<F, Fut, T, E>(&self, f: F) -> Call<'_, K, F, Fut>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        K: Classify<T, E>,
    {
        Call::new(&self.inner, f)
    }

    /// Whether the breaker is in [shadow mode](CircuitBreakerBuilder::shadow):
    /// it decides, counts what it would reject, and lets every call through.
    pub fn is_shadow(&self) -> bool {
        self.inner.shadow
    }

    /// Returns the classifier.
    pub fn classifier(&self) -> &K {
        &self.inner.classifier
    }
}

impl<K> Clone for CircuitBreaker<K> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K> std::fmt::Debug for CircuitBreaker<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.inner.name)
            .field("state", &self.state())
            .field("stats", &self.stats())
            .field("time", &self.inner.time)
            .finish_non_exhaustive()
    }
}
