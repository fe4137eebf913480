//! The tower service that retries failed requests.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use seawall_core::retry::{Failure, GiveUp, RetryDecision, RetryPolicy as CorePolicy};
use tower_service::Service;

use super::{JitterSeed, RetryListener, Shared};
use crate::clock::TokioClock;

/// Decides whether a result of a tower service is a failed attempt worth
/// retrying: `Some(failure)` to consult the retry policy, `None` to return the
/// result as it is.
///
/// Implemented by [`RetryErrors`] and by any
/// `Fn(&Result<Res, Err>) -> Option<Failure>`.
pub trait ShouldRetry<Res, Err> {
    /// How `result` counts.
    fn should_retry(&self, result: &Result<Res, Err>) -> Option<Failure>;
}

/// The default: every response is final, and every error is worth retrying
/// except as the core's [composition table](seawall_core::compose) says of a
/// seawall layer's stop below (a breaker forced open is not retried; an open
/// breaker or a rate limiter no sooner than it says).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RetryErrors;

impl<Res, Err: 'static> ShouldRetry<Res, Err> for RetryErrors {
    fn should_retry(&self, result: &Result<Res, Err>) -> Option<Failure> {
        result.as_ref().err().map(crate::compose::failure_of)
    }
}

impl<Res, Err, F: Fn(&Result<Res, Err>) -> Option<Failure>> ShouldRetry<Res, Err> for F {
    fn should_retry(&self, result: &Result<Res, Err>) -> Option<Failure> {
        self(result)
    }
}

/// A service whose failed requests are sent again, after the policy's delay,
/// until one succeeds or the policy gives up; the last result is returned.
///
/// Each attempt waits for the inner service to be ready and sends a clone of
/// the request. Dropping the response future cancels the attempt in flight and
/// the retries to come.
#[derive(Clone)]
pub struct RetryService<S, C> {
    pub(super) inner: S,
    pub(super) policy: CorePolicy,
    pub(super) shared: Shared,
    pub(super) seed: JitterSeed,
    pub(super) classifier: C,
    pub(super) listener: Option<Arc<dyn RetryListener>>,
}

impl<S: std::fmt::Debug, C: std::fmt::Debug> std::fmt::Debug for RetryService<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryService")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .field("shared", &self.shared)
            .field("seed", &self.seed)
            .field("classifier", &self.classifier)
            .field("listener", &self.listener.as_ref().map(|_| "…"))
            .finish()
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, C, Req> Service<Req> for RetryService<S, C>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send,
    S::Error: Send,
    Req: Clone + Send + 'static,
    C: ShouldRetry<S::Response, S::Error> + Clone + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        // The service polled ready is the one to call first.
        let clone = self.inner.clone();
        let mut service = std::mem::replace(&mut self.inner, clone);
        let policy = self.policy;
        let shared = self.shared.clone();
        let seed = self.seed.clone();
        let classifier = self.classifier.clone();
        let listener = self.listener.clone();
        Box::pin(async move {
            let mut state = policy.start(&TokioClock);
            let mut rng = None;
            shared.pace().await;
            let mut result = service.call(request.clone()).await;
            loop {
                let failure = classifier.should_retry(&result);
                shared.observe(failure.as_ref());
                let Some(failure) = failure else {
                    policy.on_success(&state, shared.allowance());
                    if let Some(listener) = &listener {
                        // A final error is one not worth retrying.
                        match &result {
                            Ok(_) => listener.on_success(state.attempt()),
                            Err(_) => listener.on_give_up(state.attempt(), GiveUp::NotRetryable),
                        }
                    }
                    return result;
                };
                let rng = rng.get_or_insert_with(|| seed.draw());
                let attempt = state.attempt();
                match policy.on_failure(&mut state, failure, shared.allowance(), &TokioClock, rng) {
                    RetryDecision::Retry { delay } => {
                        if let Some(listener) = &listener {
                            listener.on_retry(attempt, delay);
                        }
                        tokio::time::sleep(delay).await;
                    }
                    RetryDecision::GiveUp(reason) => {
                        if let Some(listener) = &listener {
                            listener.on_give_up(attempt, reason);
                        }
                        return result;
                    }
                }
                shared.pace().await;
                poll_fn(|cx| service.poll_ready(cx)).await?;
                result = service.call(request.clone()).await;
            }
        })
    }
}
