//! Breakers as the registry holds them: a handle that hides the classifier
//! type, and what the registry notes about each (when its state began, its
//! transitions, its call durations).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall_core::breaker::{Outcome, State, Transition, WindowTotals};
use seawall_core::{Clock, Stats};

use super::durations::{DurationHistogram, HistogramSnapshot};
use crate::breaker::{CircuitBreaker, CircuitBreakerConfig, KeyedCircuitBreaker};
use crate::events::{Hooks, Subscriber};

/// A registered circuit breaker, whatever its classifier: read it and control
/// it by name through a [`Registry`](super::Registry).
///
/// ```
/// use seawall::{CircuitBreaker, CircuitBreakerConfig, Registry, State};
///
/// let registry = Registry::new();
/// let database = CircuitBreaker::new("database", CircuitBreakerConfig::default());
/// registry.register_breaker(&database).unwrap();
///
/// let handle = registry.breaker("database").unwrap();
/// handle.force_open();
/// assert_eq!(database.state(), State::ForcedOpen);
/// handle.reset();
/// assert_eq!(handle.state(), State::Closed);
/// ```
#[derive(Clone)]
pub struct BreakerHandle {
    breaker: Arc<dyn Erased>,
}

/// What the registry needs of a breaker, without its classifier type.
pub(crate) trait Erased: Send + Sync {
    fn name(&self) -> &str;
    fn state(&self) -> State;
    fn stats(&self) -> Stats;
    fn window_totals(&self) -> WindowTotals;
    fn config(&self) -> &CircuitBreakerConfig;
    fn force_open(&self) -> Option<Transition>;
    fn disable(&self) -> Option<Transition>;
    fn reset(&self) -> Option<Transition>;
    fn hooks(&self) -> &Hooks;
    fn is_shadow(&self) -> bool;
    /// Shared through Redis: whether it decides locally now (Redis is
    /// unreachable), and how many corrupt states it read. `None` for a local
    /// breaker.
    fn shared(&self) -> Option<Shared> {
        None
    }
}

/// What a shared breaker adds to its handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shared {
    pub(crate) fallback: bool,
    pub(crate) corrupt_reads: u64,
}

impl<K: Send + Sync + 'static> Erased for CircuitBreaker<K> {
    fn name(&self) -> &str {
        CircuitBreaker::name(self)
    }
    fn state(&self) -> State {
        CircuitBreaker::state(self)
    }
    fn stats(&self) -> Stats {
        CircuitBreaker::stats(self)
    }
    fn window_totals(&self) -> WindowTotals {
        CircuitBreaker::window_totals(self)
    }
    fn config(&self) -> &CircuitBreakerConfig {
        CircuitBreaker::config(self)
    }
    fn force_open(&self) -> Option<Transition> {
        CircuitBreaker::force_open(self)
    }
    fn disable(&self) -> Option<Transition> {
        CircuitBreaker::disable(self)
    }
    fn reset(&self) -> Option<Transition> {
        CircuitBreaker::reset(self)
    }
    fn hooks(&self) -> &Hooks {
        &self.inner.hooks
    }
    fn is_shadow(&self) -> bool {
        CircuitBreaker::is_shadow(self)
    }
}

impl BreakerHandle {
    pub(crate) fn new<K: Send + Sync + 'static>(breaker: &CircuitBreaker<K>) -> Self {
        Self {
            breaker: Arc::new(breaker.clone()),
        }
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn erased(breaker: Arc<dyn Erased>) -> Self {
        Self { breaker }
    }

    /// Whether the breaker's state is shared by a fleet through Redis (a
    /// `SharedCircuitBreaker` of the `redis` feature).
    pub fn is_shared(&self) -> bool {
        self.breaker.shared().is_some()
    }

    pub(crate) fn shared(&self) -> Option<Shared> {
        self.breaker.shared()
    }

    /// Whether the breaker is in shadow mode (it decides without enforcing).
    pub fn is_shadow(&self) -> bool {
        self.breaker.is_shadow()
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        self.breaker.name()
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.breaker.state()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.breaker.stats()
    }

    /// The outcomes in the sliding window now (zero without a window).
    pub fn window_totals(&self) -> WindowTotals {
        self.breaker.window_totals()
    }

    /// The configuration.
    pub fn config(&self) -> &CircuitBreakerConfig {
        self.breaker.config()
    }

    /// The failure rate the breaker decides on: over its sliding window if it
    /// has one, else over every call since it was created.
    pub fn failure_rate(&self) -> f64 {
        if self.config().window.is_some() {
            self.window_totals().failure_rate()
        } else {
            self.stats().failure_rate()
        }
    }

    /// The slow-call rate, over the same calls as
    /// [`failure_rate`](Self::failure_rate).
    pub fn slow_call_rate(&self) -> f64 {
        if self.config().window.is_some() {
            self.window_totals().slow_call_rate()
        } else {
            self.stats().slow_call_rate()
        }
    }

    /// Opens the breaker until reset (see [`CircuitBreaker::force_open`]).
    ///
    /// A shared breaker is opened for the whole fleet: the operation goes to
    /// Redis in the background (on its store's runtime), and this returns
    /// `None`; the transition, once made, reaches the listeners and the
    /// registry. Await the shared breaker's own `force_open` to know when it
    /// is done.
    pub fn force_open(&self) -> Option<Transition> {
        self.breaker.force_open()
    }

    /// Lets every call through (see [`CircuitBreaker::disable`]); a shared
    /// breaker's, as [`force_open`](Self::force_open) says.
    pub fn disable(&self) -> Option<Transition> {
        self.breaker.disable()
    }

    /// Closes the breaker (see [`CircuitBreaker::reset`]); a shared
    /// breaker's, as [`force_open`](Self::force_open) says.
    pub fn reset(&self) -> Option<Transition> {
        self.breaker.reset()
    }

    pub(crate) fn hooks(&self) -> &Hooks {
        self.breaker.hooks()
    }
}

impl std::fmt::Debug for BreakerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakerHandle")
            .field("name", &self.name())
            .field("state", &self.state())
            .finish()
    }
}

/// The index of a transition in a [`Track`]'s counts.
fn index(transition: Transition) -> usize {
    transition.from as usize * State::ALL.len() + transition.to as usize
}

/// The transitions exposed even before they happen, so that a rate or an
/// increase over them starts from zero: the automatic cycle.
#[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
pub(crate) const USUAL_TRANSITIONS: [Transition; 4] = [
    Transition {
        from: State::Closed,
        to: State::Open,
    },
    Transition {
        from: State::Open,
        to: State::HalfOpen,
    },
    Transition {
        from: State::HalfOpen,
        to: State::Closed,
    },
    Transition {
        from: State::HalfOpen,
        to: State::Open,
    },
];

/// What the registry notes about one breaker.
#[derive(Debug)]
pub(crate) struct Track {
    /// When the current state began (nanoseconds on the registry's clock), or
    /// when the breaker was registered if it has not changed since.
    since: AtomicU64,
    transitions: [AtomicU64; 25],
    /// Call durations (successful, failed), if the registry times calls.
    pub(crate) durations: Option<[DurationHistogram; 2]>,
}

impl Track {
    pub(crate) fn new(now: u64, buckets: Option<&[f64]>) -> Self {
        Self {
            since: AtomicU64::new(now),
            transitions: Default::default(),
            durations: buckets.map(|b| [DurationHistogram::new(b), DurationHistogram::new(b)]),
        }
    }

    pub(crate) fn transition(&self, transition: Transition, now: u64) {
        self.since.store(now, Ordering::Relaxed);
        self.transitions[index(transition)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn since(&self) -> u64 {
        self.since.load(Ordering::Relaxed)
    }

    /// Every transition counted, with the usual ones even at zero.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn transitions(&self) -> Vec<(Transition, u64)> {
        let mut all = Vec::new();
        for from in State::ALL {
            for to in State::ALL {
                let transition = Transition { from, to };
                let count = self.transitions[index(transition)].load(Ordering::Relaxed);
                if count > 0 || USUAL_TRANSITIONS.contains(&transition) {
                    all.push((transition, count));
                }
            }
        }
        all
    }

    fn call_ended(&self, outcome: Outcome, duration: Duration) {
        if let Some(histograms) = &self.durations {
            histograms[usize::from(outcome == Outcome::Failure)].observe(duration);
        }
    }

    /// The call-duration histograms (successful, failed), if timed.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn duration_snapshots(&self) -> Option<[HistogramSnapshot; 2]> {
        self.durations
            .as_ref()
            .map(|[ok, failed]| [ok.snapshot(), failed.snapshot()])
    }
}

pub(crate) type SharedClock = Arc<dyn Clock + Send + Sync>;

/// Starts tracking `handle`: its transitions, and its call durations if
/// `buckets` is given (ignored if the breaker already sends its durations
/// elsewhere).
pub(crate) fn track(
    handle: &BreakerHandle,
    clock: &SharedClock,
    buckets: Option<&[f64]>,
) -> Arc<Track> {
    let track = Arc::new(Track::new(clock.now().as_nanos(), buckets));
    let subscriber = {
        let track = Arc::clone(&track);
        let clock = Arc::clone(clock);
        Arc::new(move |_: &str, transition: Transition| {
            track.transition(transition, clock.now().as_nanos());
        })
    };
    handle.hooks().subscribe(subscriber);
    if track.durations.is_some() {
        let observer = Arc::clone(&track);
        handle
            .hooks()
            .observe_durations(Arc::new(move |outcome, duration| {
                observer.call_ended(outcome, duration)
            }));
    }
    track
}

/// A registered [`KeyedCircuitBreaker`], whatever its key and classifier types.
pub(crate) trait ErasedKeyed: Send + Sync {
    fn breakers(&self) -> Vec<BreakerHandle>;
    fn subscribe(&self, subscriber: Subscriber);
}

impl<Q, K> ErasedKeyed for KeyedCircuitBreaker<Q, K>
where
    Q: std::hash::Hash + Eq + Clone + std::fmt::Display + Send + Sync + 'static,
    K: Clone + Send + Sync + 'static,
{
    fn breakers(&self) -> Vec<BreakerHandle> {
        KeyedCircuitBreaker::breakers(self)
            .iter()
            .map(BreakerHandle::new)
            .collect()
    }
    fn subscribe(&self, subscriber: Subscriber) {
        KeyedCircuitBreaker::subscribe(self, subscriber)
    }
}

/// A keyed breaker and the tracks of its breakers, made on their first
/// transition and dropped once their key is gone.
pub(crate) struct KeyedTracks {
    pub(crate) keyed: Box<dyn ErasedKeyed>,
    /// When the keyed breaker was registered: the `since` of a key's breaker
    /// that has not changed state since.
    registered: u64,
    tracks: Arc<Mutex<HashMap<String, Arc<Track>>>>,
}

impl KeyedTracks {
    pub(crate) fn new(keyed: Box<dyn ErasedKeyed>, clock: &SharedClock) -> Self {
        let registered = clock.now().as_nanos();
        let tracks: Arc<Mutex<HashMap<String, Arc<Track>>>> = Arc::default();
        let subscriber = {
            let tracks = Arc::clone(&tracks);
            let clock = Arc::clone(clock);
            Arc::new(move |name: &str, transition: Transition| {
                let now = clock.now().as_nanos();
                let mut tracks = tracks.lock().unwrap_or_else(|e| e.into_inner());
                tracks
                    .entry(name.to_owned())
                    .or_insert_with(|| Arc::new(Track::new(now, None)))
                    .transition(transition, now);
            })
        };
        keyed.subscribe(subscriber);
        Self {
            keyed,
            registered,
            tracks,
        }
    }

    /// Every breaker of the keyed breaker now, with its track; forgets the
    /// tracks of keys that are gone.
    pub(crate) fn breakers(&self) -> Vec<(BreakerHandle, Arc<Track>)> {
        let breakers = self.keyed.breakers();
        let mut tracks = self.tracks.lock().unwrap_or_else(|e| e.into_inner());
        tracks.retain(|name, _| breakers.iter().any(|b| b.name() == name));
        breakers
            .into_iter()
            .map(|breaker| {
                let track = tracks
                    .get(breaker.name())
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Track::new(self.registered, None)));
                (breaker, track)
            })
            .collect()
    }
}
