//! The response future of [`CircuitBreakerService`](super::CircuitBreakerService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use seawall_core::breaker::Rejection;

use super::{Classify, OwnedPermit};
use crate::BoxError;

pin_project! {
    /// The response future of [`CircuitBreakerService`](super::CircuitBreakerService):
    /// records the outcome when the inner future finishes, releases the permit
    /// when dropped before.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F, K> {
        #[pin]
        state: State<F, K>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, K> {
        Called {
            #[pin]
            future: F,
            // `None` once the outcome is recorded.
            permit: Option<OwnedPermit<K>>,
        },
        Rejected {
            rejection: Rejection,
        },
    }
}

impl<F, K> ResponseFuture<F, K> {
    pub(crate) fn called(future: F, permit: OwnedPermit<K>) -> Self {
        Self {
            state: State::Called {
                future,
                permit: Some(permit),
            },
        }
    }

    /// A call a shadow breaker would have rejected: it runs, and nothing records it.
    pub(crate) fn unrecorded(future: F) -> Self {
        Self {
            state: State::Called {
                future,
                permit: None,
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Called { future, permit } => {
                let result = std::task::ready!(future.poll(cx));
                if let Some(permit) = permit.take() {
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
