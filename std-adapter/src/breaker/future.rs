//! The response future of [`CircuitBreakerService`](super::CircuitBreakerService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use seawall_core::breaker::Rejection;

use std::sync::Arc;

use super::Classify;
use super::Inner;
use super::call::{Held, OnPanic};
use crate::BoxError;

pin_project! {
    /// The response future of [`CircuitBreakerService`](super::CircuitBreakerService).
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F, K> {
        #[pin]
        state: State<F, K>,
    }

    impl<F, K> PinnedDrop for ResponseFuture<F, K> {
        fn drop(this: Pin<&mut Self>) {
            if let StateProj::Called { inner, held, .. } = this.project().state.project() {
                // Releases the permit, or records a failure while a panic unwinds.
                drop(held.take(inner));
            }
        }
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, K> {
        Called {
            #[pin]
            future: F,
            // The breaker, shared with the service: the future must be `'static`.
            inner: Arc<Inner<K>>,
            // `Held::Nothing` once the outcome is recorded, or for a shadow call.
            held: Held,
        },
        Rejected {
            rejection: Rejection,
        },
    }
}

impl<F, K> ResponseFuture<F, K> {
    pub(crate) fn called(future: F, inner: Arc<Inner<K>>, held: Held) -> Self {
        Self {
            state: State::Called {
                future,
                inner,
                held,
            },
        }
    }

    pub(crate) fn rejected(rejection: Rejection) -> Self {
        Self {
            state: State::Rejected { rejection },
        }
    }
}

impl<F, K, T, E> Future for ResponseFuture<F, K>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError> + 'static,
    K: Classify<T, E>,
{
    type Output = Result<T, BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Called {
                future,
                inner,
                held,
            } => {
                let inner: &Inner<K> = inner;
                let guard = OnPanic { inner, held };
                let result = std::task::ready!(future.poll(cx));
                let permit = guard.held.take(inner);
                drop(guard);
                if let Some(permit) = permit {
                    // Another seawall layer's stop counts as the core's table
                    // says (a refusal is nothing, a timeout a failure); the
                    // classifier judges everything else.
                    match result.as_ref().err().and_then(crate::compose::stop_of) {
                        Some((stop, _)) => match stop.breaker_outcome() {
                            Some(outcome) => {
                                permit.record(outcome);
                            }
                            None => permit.release(),
                        },
                        None => {
                            permit.record_result(&result);
                        }
                    }
                }
                Poll::Ready(result.map_err(Into::into))
            }
            StateProj::Rejected { rejection } => Poll::Ready(Err(Box::new(*rejection))),
        }
    }
}

impl<F, K> std::fmt::Debug for ResponseFuture<F, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
