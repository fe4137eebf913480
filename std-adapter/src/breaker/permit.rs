//! Permits to make one call: borrowed for `call`, owned for `'static` futures.
//! Both release themselves when dropped without an outcome.

use std::sync::Arc;
use std::time::Duration;

use seawall_core::Instant;
use seawall_core::breaker::{Outcome, Permit as CorePermit, Rejection, Ticket, Transition};

use super::{Classify, HeapWindow, Inner, Owned};
use crate::clock::elapsed;

/// When the call started, if the breaker times its calls.
fn start<K>(inner: &Inner<K>) -> Option<Instant> {
    if inner.times_calls() {
        Some(inner.time.precise_now())
    } else {
        None
    }
}

fn latency<K>(inner: &Inner<K>, start: Option<Instant>) -> Option<Duration> {
    start.map(|start| elapsed(start, inner.time.precise_now()))
}

/// Hands a measured call duration to the duration observer, and returns what
/// the core is given: the latency only if its window looks at slow calls.
fn measured<K>(inner: &Inner<K>, outcome: Outcome, latency: Option<Duration>) -> Option<Duration> {
    let duration = latency?;
    inner.hooks.call_ended(outcome, duration);
    inner.measures_latency().then_some(duration)
}

/// Leave to make one call, borrowed from a [`CircuitBreaker`](super::CircuitBreaker)
/// by [`try_acquire`](super::CircuitBreaker::try_acquire).
///
/// Record the outcome with [`success`](Self::success),
/// [`failure`](Self::failure), [`record`](Self::record) or
/// [`record_result`](Self::record_result); each returns the transition it
/// caused. Dropping the permit instead releases it: the call counts as neither
/// and its half-open probe slot, if it held one, is free again. A permit
/// dropped while its thread unwinds from a panic (the call panicked) records
/// a failure instead, as a panic poisons a `Mutex` held across it; the panic
/// then goes on.
///
/// ```
/// use seawall::{CircuitBreaker, CircuitBreakerConfig, State};
///
/// let cb = CircuitBreaker::new("queue", CircuitBreakerConfig { failure_threshold: 1, ..Default::default() });
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let permit = cb.try_acquire().expect("closed");
/// permit.failure();
/// assert_eq!(cb.state(), State::Open);
/// assert!(cb.try_acquire().is_err());
/// # });
/// ```
#[must_use = "a permit dropped at once is released without an outcome"]
pub struct Permit<'a, K> {
    inner: &'a Inner<K>,
    /// `None` once recorded or released (a niche: no larger than the permit).
    permit: Option<CorePermit<'a, Owned, HeapWindow>>,
    start: Option<Instant>,
}

// The Closed path, acquire to record, is inlined into the caller end to end
// (`#[inline(always)]` here and in the core): a permit passed through memory
// between out-of-line calls cost the call about 12 ns (docs/BENCHMARKS.md).
impl<'a, K> Permit<'a, K> {
    #[inline(always)]
    pub(crate) fn acquire(inner: &'a Inner<K>) -> Result<Self, Rejection> {
        match inner.core.try_acquire(&inner.time.for_acquire()) {
            Ok(permit) => {
                inner.notify(permit.transition());
                Ok(Self {
                    inner,
                    permit: Some(permit),
                    start: start(inner),
                })
            }
            Err(rejection) => {
                inner.notify(rejection.transition());
                inner.rejected(&rejection);
                Err(rejection)
            }
        }
    }

    /// The permit taken apart, for a call future to hold (`None`: already
    /// recorded or released).
    #[inline(always)]
    pub(crate) fn into_parts(mut self) -> Option<(Ticket, Option<Instant>)> {
        let permit = self.permit.take()?;
        Some((permit.into_ticket(), self.start))
    }

    /// A permit again from [`into_parts`](Self::into_parts).
    #[inline(always)]
    pub(crate) fn from_parts(inner: &'a Inner<K>, ticket: Ticket, start: Option<Instant>) -> Self {
        Self {
            inner,
            permit: Some(inner.core.permit(ticket)),
            start,
        }
    }

    /// Whether this permit holds a half-open probe slot.
    pub fn is_probe(&self) -> bool {
        self.permit.as_ref().is_some_and(CorePermit::is_probe)
    }

    /// Records a success.
    #[inline]
    pub fn success(self) -> Option<Transition> {
        self.record(Outcome::Success)
    }

    /// Records a failure.
    #[inline]
    pub fn failure(self) -> Option<Transition> {
        self.record(Outcome::Failure)
    }

    /// Records `outcome`, with the latency since the permit was acquired when
    /// the breaker has a window (for slow-call detection).
    #[inline(always)]
    pub fn record(self, outcome: Outcome) -> Option<Transition> {
        let latency = measured(self.inner, outcome, latency(self.inner, self.start));
        self.finish(outcome, latency)
    }

    /// Records `outcome` with a latency measured by the caller (`None`: not slow).
    pub fn record_with_latency(
        self,
        outcome: Outcome,
        latency: Option<Duration>,
    ) -> Option<Transition> {
        if let Some(duration) = latency {
            self.inner.hooks.call_ended(outcome, duration);
        }
        self.finish(outcome, latency)
    }

    #[inline(always)]
    fn finish(mut self, outcome: Outcome, latency: Option<Duration>) -> Option<Transition> {
        let inner = self.inner;
        let transition = self
            .permit
            .take()?
            .record(outcome, latency, &inner.time.for_record());
        inner.notify(transition);
        transition
    }

    /// Records `result` as the breaker's classifier says: a success, a failure,
    /// or neither (released).
    #[inline(always)]
    pub fn record_result<T, E>(self, result: &Result<T, E>) -> Option<Transition>
    where
        K: Classify<T, E>,
    {
        match self.inner.classifier.classify(result) {
            Some(outcome) => self.record(outcome),
            None => {
                self.release();
                None
            }
        }
    }

    /// Releases the permit without an outcome (what dropping it does).
    pub fn release(self) {
        drop(self);
    }
}

impl<K> Drop for Permit<'_, K> {
    #[inline(always)]
    fn drop(&mut self) {
        // Recorded permits are `None`: the hot path ends here.
        if let Some(permit) = self.permit.take() {
            dropped(self.inner, permit, self.start);
        }
    }
}

/// A permit dropped without an outcome: released, unless its call panicked
/// (then a failure, as a panic poisons a `Mutex` held across it).
#[cold]
#[inline(never)]
fn dropped<K>(inner: &Inner<K>, permit: CorePermit<'_, Owned, HeapWindow>, start: Option<Instant>) {
    if std::thread::panicking() {
        let latency = measured(inner, Outcome::Failure, latency(inner, start));
        let transition = permit.record(Outcome::Failure, latency, &inner.time.for_record());
        inner.notify(transition);
    }
    // Otherwise dropping the core's permit releases it.
}

impl<K> std::fmt::Debug for Permit<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("probe", &self.is_probe())
            .finish_non_exhaustive()
    }
}

/// Leave to make one call, owning a handle of its breaker: a [`Permit`] for
/// futures that must be `'static`. It releases itself when dropped without an
/// outcome, or records a failure when dropped by a panic, as a `Permit`
/// does.
#[must_use = "a permit dropped at once is released without an outcome"]
pub struct OwnedPermit<K> {
    inner: Arc<Inner<K>>,
    /// `None` once recorded or released.
    ticket: Option<Ticket>,
    start: Option<Instant>,
}

impl<K> OwnedPermit<K> {
    #[inline]
    pub(crate) fn acquire(inner: &Arc<Inner<K>>) -> Result<Self, Rejection> {
        match inner.core.try_acquire_ticket(&inner.time.for_acquire()) {
            Ok(ticket) => {
                inner.notify(ticket.transition());
                Ok(Self {
                    inner: Arc::clone(inner),
                    ticket: Some(ticket),
                    start: start(inner),
                })
            }
            Err(rejection) => {
                inner.notify(rejection.transition());
                inner.rejected(&rejection);
                Err(rejection)
            }
        }
    }

    /// Whether this permit holds a half-open probe slot.
    pub fn is_probe(&self) -> bool {
        self.ticket.as_ref().is_some_and(Ticket::is_probe)
    }

    /// Records a success.
    pub fn success(self) -> Option<Transition> {
        self.record(Outcome::Success)
    }

    /// Records a failure.
    pub fn failure(self) -> Option<Transition> {
        self.record(Outcome::Failure)
    }

    /// Records `outcome` (see [`Permit::record`]).
    pub fn record(mut self, outcome: Outcome) -> Option<Transition> {
        let latency = measured(&self.inner, outcome, latency(&self.inner, self.start));
        let ticket = self.ticket.take()?;
        let transition =
            self.inner
                .core
                .record(ticket, outcome, latency, &self.inner.time.for_record());
        self.inner.notify(transition);
        transition
    }

    /// Records `result` as the breaker's classifier says.
    pub fn record_result<T, E>(self, result: &Result<T, E>) -> Option<Transition>
    where
        K: Classify<T, E>,
    {
        match self.inner.classifier.classify(result) {
            Some(outcome) => self.record(outcome),
            None => {
                self.release();
                None
            }
        }
    }

    /// Releases the permit without an outcome (what dropping it does).
    pub fn release(self) {
        drop(self);
    }
}

impl<K> Drop for OwnedPermit<K> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            if std::thread::panicking() {
                // The call panicked: a failure (see `Permit`).
                let latency = measured(
                    &self.inner,
                    Outcome::Failure,
                    latency(&self.inner, self.start),
                );
                let clock = self.inner.time.for_record();
                let transition = self
                    .inner
                    .core
                    .record(ticket, Outcome::Failure, latency, &clock);
                self.inner.notify(transition);
            } else {
                self.inner.core.release(ticket);
            }
        }
    }
}

impl<K> std::fmt::Debug for OwnedPermit<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("probe", &self.is_probe())
            .finish_non_exhaustive()
    }
}
