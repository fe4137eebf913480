//! The tower service behind a circuit breaker.

use std::task::{Context, Poll};

use tower_service::Service;

use std::sync::Arc;

use super::call::Held;
use super::{CircuitBreaker, Classify, Permit, ResponseFuture};
use crate::BoxError;

/// A service whose requests pass a [`CircuitBreaker`] first.
///
/// A rejected request fails at once with the breaker's
/// [`Rejection`](seawall_core::breaker::Rejection), boxed into a [`BoxError`]
/// (`error.downcast_ref::<Rejection>()` gives the time until the next try); the
/// inner service is not called. The response or error of a request let through
/// is classified by the breaker's classifier and recorded, except the stops
/// of seawall layers inside it, which count as the core's composition table
/// says: a rate limiter's or a bulkhead's refusal counts as nothing, a
/// timeout as a failure. A response future dropped before it finishes
/// releases its permit.
#[derive(Debug, Clone)]
pub struct CircuitBreakerService<S, K> {
    inner: S,
    breaker: CircuitBreaker<K>,
}

impl<S, K> CircuitBreakerService<S, K> {
    /// Puts `breaker` in front of `inner`.
    pub fn new(inner: S, breaker: CircuitBreaker<K>) -> Self {
        Self { inner, breaker }
    }

    /// The breaker.
    pub fn breaker(&self) -> &CircuitBreaker<K> {
        &self.breaker
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, K, Req> Service<Req> for CircuitBreakerService<S, K>
where
    S: Service<Req>,
    S::Error: Into<BoxError> + 'static,
    K: Classify<S::Response, S::Error>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, K>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        match Permit::acquire(&self.breaker.inner) {
            Ok(permit) => {
                // A panic in the inner `call` drops the permit while unwinding: a failure.
                let future = self.inner.call(request);
                ResponseFuture::called(future, Arc::clone(&self.breaker.inner), Held::from(permit))
            }
            // Shadow mode: what it would reject runs, unrecorded.
            Err(_) if self.breaker.is_shadow() => {
                let future = self.inner.call(request);
                ResponseFuture::called(future, Arc::clone(&self.breaker.inner), Held::Nothing)
            }
            Err(rejection) => ResponseFuture::rejected(rejection),
        }
    }
}
