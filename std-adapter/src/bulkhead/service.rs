//! The tower service behind a bulkhead.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_service::Service;

use super::Bulkhead;
use crate::BoxError;

/// A service whose requests take a place in a [`Bulkhead`] for as long as
/// they are in flight, waiting for one as the bulkhead allows; a request that
/// gets none fails with [`BulkheadFull`](seawall_core::bulkhead::BulkheadFull)
/// in a [`BoxError`] without reaching the inner service. Dropping the response
/// future gives the place back (or stops waiting).
#[derive(Debug, Clone)]
pub struct BulkheadService<S> {
    pub(super) inner: S,
    pub(super) bulkhead: Bulkhead,
}

impl<S> BulkheadService<S> {
    /// The bulkhead.
    pub fn bulkhead(&self) -> &Bulkhead {
        &self.bulkhead
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, Req> Service<Req> for BulkheadService<S>
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
        let bulkhead = self.bulkhead.clone();
        Box::pin(async move {
            let _place = bulkhead.enter().await?;
            service.call(request).await.map_err(Into::into)
        })
    }
}
