//! The tower service behind a rate limiter.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_service::Service;

use super::RateLimiter;
use crate::BoxError;

/// A service whose requests wait for their turn at a [`RateLimiter`] (up to
/// its `max_wait`); a request refused fails with
/// [`NotUntil`](seawall_core::rate_limit::NotUntil) in a [`BoxError`] without
/// reaching the inner service.
#[derive(Debug, Clone)]
pub struct RateLimiterService<S> {
    pub(super) inner: S,
    pub(super) limiter: RateLimiter,
}

impl<S> RateLimiterService<S> {
    /// The limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, Req> Service<Req> for RateLimiterService<S>
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
        let limiter = self.limiter.clone();
        Box::pin(async move {
            limiter.acquire().await?;
            service.call(request).await.map_err(Into::into)
        })
    }
}
