//! The tower service behind an adaptive limit.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use seawall_core::limit::Outcome;
use tower_service::Service;

use super::AdaptiveLimiter;
use crate::BoxError;

/// A service whose requests take a place under an [`AdaptiveLimiter`] while
/// they are in flight: a response teaches the limiter its latency, an error is
/// an overload; a request refused at the limit fails with
/// [`BulkheadFull`](seawall_core::bulkhead::BulkheadFull) in a [`BoxError`]
/// without reaching the inner service. Dropping the response future gives the
/// place back unrecorded.
#[derive(Debug, Clone)]
pub struct AdaptiveLimiterService<S> {
    pub(super) inner: S,
    pub(super) limiter: AdaptiveLimiter,
}

impl<S> AdaptiveLimiterService<S> {
    /// The limiter.
    pub fn limiter(&self) -> &AdaptiveLimiter {
        &self.limiter
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, Req> Service<Req> for AdaptiveLimiterService<S>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    Req: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let clone = self.inner.clone();
        let mut service = std::mem::replace(&mut self.inner, clone);
        let permit = self.limiter.try_acquire();
        Box::pin(async move {
            let permit = permit?;
            let result = service.call(request).await;
            permit.record(match &result {
                Ok(_) => Outcome::Success,
                Err(_) => Outcome::Overload,
            });
            result.map_err(Into::into)
        })
    }
}
