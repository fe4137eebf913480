//! The future of [`CircuitBreaker::call`](super::CircuitBreaker::call),
//! written out: an `async fn` kept the breaker's handle, the permit (with its
//! own handle) and the closure side by side with the user's future, and moved
//! the permit in and out of its state in pieces. Here the call future is the
//! user's future, the breaker's reference and the held ticket: 32 bytes more
//! than the user's future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use seawall_core::Instant;
use seawall_core::breaker::Ticket;

use super::{Classify, Inner, Permit};
use crate::error::Error;

/// The permit a running call holds, taken apart: its ticket, and when the call
/// started if the breaker times its calls.
#[derive(Debug)]
pub(crate) enum Held {
    Untimed(Ticket),
    Timed(Ticket, Instant),
    /// Recorded, released, or a shadow call the breaker would have rejected.
    Nothing,
}

impl Held {
    #[inline(always)]
    pub(crate) fn from(permit: Permit<'_, impl Sized>) -> Self {
        match permit.into_parts() {
            Some((ticket, None)) => Held::Untimed(ticket),
            Some((ticket, Some(start))) => Held::Timed(ticket, start),
            None => Held::Nothing,
        }
    }

    /// The permit again, to record or release (`None`: nothing held).
    #[inline(always)]
    pub(crate) fn take<'i, K>(&mut self, inner: &'i Inner<K>) -> Option<Permit<'i, K>> {
        match std::mem::replace(self, Held::Nothing) {
            Held::Untimed(ticket) => Some(Permit::from_parts(inner, ticket, None)),
            Held::Timed(ticket, start) => Some(Permit::from_parts(inner, ticket, Some(start))),
            Held::Nothing => None,
        }
    }
}

pin_project! {
    #[project = StageProj]
    enum Stage<F, Fut> {
        // Not polled yet: nothing acquired (the call acquires at its first poll).
        Start { f: Option<F> },
        // The permit beside the future: `Held`'s tag leaves room for the
        // stage's, so the call adds 32 bytes to the user's future.
        Running { #[pin] future: Fut, held: Held },
        Done,
    }
}

pin_project! {
    /// The future of [`CircuitBreaker::call`](super::CircuitBreaker::call): it
    /// asks the breaker at its first poll, then runs the call; dropped before
    /// it finishes, it releases its permit (a failure if dropped by a panic).
    #[must_use = "futures do nothing unless polled"]
    pub struct Call<'a, K, F, Fut> {
        inner: &'a Inner<K>,
        #[pin]
        stage: Stage<F, Fut>,
    }

    impl<'a, K, F, Fut> PinnedDrop for Call<'a, K, F, Fut> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let StageProj::Running { held, .. } = this.stage.project() {
                // Releases the permit, or records a failure while a panic unwinds.
                drop(held.take(this.inner));
            }
        }
    }
}

impl<'a, K, F, Fut> Call<'a, K, F, Fut> {
    #[inline(always)]
    pub(crate) fn new(inner: &'a Inner<K>, f: F) -> Self {
        Self {
            inner,
            stage: Stage::Start { f: Some(f) },
        }
    }
}

/// Records a failure if the call's `poll` panics (as the permit, dropped
/// while unwinding, does), even when the future is dropped later, after the
/// panic was caught.
pub(crate) struct OnPanic<'h, 'a, K> {
    pub(crate) inner: &'a Inner<K>,
    pub(crate) held: &'h mut Held,
}

impl<K> Drop for OnPanic<'_, '_, K> {
    #[inline(always)]
    fn drop(&mut self) {
        if std::thread::panicking() {
            drop(self.held.take(self.inner));
        }
    }
}

impl<K, F, Fut, T, E> Future for Call<'_, K, F, Fut>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    K: Classify<T, E>,
{
    type Output = Result<T, Error<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let inner = *this.inner;
        if let StageProj::Start { f } = this.stage.as_mut().project() {
            let f = f.take().expect("a call future polled after it finished");
            let permit = match Permit::acquire(inner) {
                Ok(permit) => Some(permit),
                // Shadow mode: what it would reject runs, unrecorded.
                Err(_) if inner.shadow => None,
                Err(rejection) => {
                    this.stage.set(Stage::Done);
                    return Poll::Ready(Err(Error::Rejected(rejection)));
                }
            };
            // A panic in `f` drops the permit while unwinding: a failure.
            let future = f();
            let held = permit.map_or(Held::Nothing, Held::from);
            this.stage.set(Stage::Running { future, held });
        }
        let StageProj::Running { future, held } = this.stage.as_mut().project() else {
            panic!("a call future polled after it finished");
        };
        let guard = OnPanic { inner, held };
        let result = std::task::ready!(future.poll(cx));
        let permit = guard.held.take(inner);
        drop(guard);
        this.stage.set(Stage::Done);
        if let Some(permit) = permit {
            permit.record_result(&result);
        }
        Poll::Ready(result.map_err(Error::Inner))
    }
}

impl<K, F, Fut> std::fmt::Debug for Call<'_, K, F, Fut> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").finish_non_exhaustive()
    }
}
