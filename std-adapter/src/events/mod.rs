//! What a circuit breaker tells the world beyond its builder's listener.
//!
//! The core returns each transition from the call that caused it; the breaker
//! hands it to its own listener and then to these hooks: any number of
//! subscribers (a [`Registry`](crate::Registry) counting transitions and
//! noting when each state began), an optional observer of call durations (the
//! opt-in histogram of [`metrics`](crate::metrics)), and, with the `tracing`
//! feature, events (see [`log`]).
//!
//! Nothing here runs on the hot path of a call unless asked for: subscribers
//! run only on transitions, and calls are timed only once a duration observer
//! is set (one relaxed load says whether one is).

#[cfg(feature = "tracing")]
pub(crate) mod log;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use seawall_core::breaker::{Outcome, Transition};

/// Hears a breaker's transitions, with the breaker's name.
pub(crate) type Subscriber = Arc<dyn Fn(&str, Transition) + Send + Sync>;

/// Hears the outcome and duration of each call recorded by a breaker.
pub(crate) type DurationObserver = Arc<dyn Fn(Outcome, Duration) + Send + Sync>;

/// The hooks of one breaker.
pub(crate) struct Hooks {
    subscribers: RwLock<Vec<Subscriber>>,
    durations: OnceLock<DurationObserver>,
    /// Whether `durations` is set: read on every call, so kept apart.
    timed: AtomicBool,
    #[cfg(feature = "tracing")]
    pub(crate) rejections: log::RejectionLog,
}

impl Hooks {
    pub(crate) fn new() -> Self {
        Self {
            subscribers: RwLock::new(Vec::new()),
            durations: OnceLock::new(),
            timed: AtomicBool::new(false),
            #[cfg(feature = "tracing")]
            rejections: log::RejectionLog::new(),
        }
    }

    /// Adds `subscriber`, told of every later transition.
    pub(crate) fn subscribe(&self, subscriber: Subscriber) {
        self.subscribers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(subscriber);
    }

    /// Tells the subscribers (and `tracing`) of `transition`.
    #[cold]
    pub(crate) fn transition(&self, name: &str, transition: Transition) {
        #[cfg(feature = "tracing")]
        log::transition(name, transition);
        let subscribers = self.subscribers.read().unwrap_or_else(|e| e.into_inner());
        for subscriber in subscribers.iter() {
            subscriber(name, transition);
        }
    }

    /// Sends the duration of every later call to `observer`; false (and
    /// nothing changes) if the breaker already has an observer.
    pub(crate) fn observe_durations(&self, observer: DurationObserver) -> bool {
        let set = self.durations.set(observer).is_ok();
        if set {
            self.timed.store(true, Ordering::Release);
        }
        set
    }

    /// Whether calls must be timed for a duration observer.
    #[inline]
    pub(crate) fn times_calls(&self) -> bool {
        self.timed.load(Ordering::Relaxed)
    }

    /// A call ended with `outcome` after `duration`.
    #[inline]
    pub(crate) fn call_ended(&self, outcome: Outcome, duration: Duration) {
        if let Some(observer) = self.durations.get() {
            observer(outcome, duration);
        }
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let subscribers = self
            .subscribers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        f.debug_struct("Hooks")
            .field("subscribers", &subscribers)
            .field("timed", &self.times_calls())
            .finish_non_exhaustive()
    }
}
