//! The tower service that hedges requests.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_service::Service;

use super::Hedge;
use super::run;
use crate::retry::ShouldRetry;

/// A service whose slow requests are sent again, as its [`Hedge`] says; the
/// first answer is returned and the other attempts are dropped (cancelled).
///
/// The first attempt goes to the service made ready by `poll_ready`; each
/// hedge to a clone of it, once that clone is ready. The error type is the
/// inner service's: hedging adds no error of its own.
#[derive(Debug, Clone)]
pub struct HedgeService<S, C> {
    pub(super) inner: S,
    pub(super) hedge: Hedge<C>,
}

impl<S, C> HedgeService<S, C> {
    /// The hedge.
    pub fn hedge(&self) -> &Hedge<C> {
        &self.hedge
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, C, Req> Service<Req> for HedgeService<S, C>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send,
    S::Error: Send,
    C: ShouldRetry<S::Response, S::Error> + Clone + Send + Sync + 'static,
    Req: Clone + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let template = self.inner.clone();
        let hedge = self.hedge.clone();
        Box::pin(async move {
            let mut ready = Some(ready);
            let attempt = move || {
                let request = request.clone();
                let (mut service, is_ready) = match ready.take() {
                    Some(service) => (service, true),
                    None => (template.clone(), false),
                };
                async move {
                    if !is_ready {
                        poll_fn(|cx| service.poll_ready(cx)).await?;
                    }
                    service.call(request).await
                }
            };
            run::run(
                hedge.core(),
                hedge.allowance(),
                true,
                hedge.classifier(),
                &hedge.events(),
                attempt,
            )
            .await
        })
    }
}
