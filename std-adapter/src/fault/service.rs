//! The tower service under a fault plan.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use seawall_core::fault::FaultKind;
use tower_service::Service;

use super::{FaultInjector, InjectedFault};

/// The key of a request, for rules with a key: `()` gives none; a closure
/// `Fn(&Req) -> Option<String>` reads it (a tenant header, a route).
pub trait KeyOf<Req> {
    /// The key of `request`, if it has one.
    fn key_of(&self, request: &Req) -> Option<String>;
}

impl<Req> KeyOf<Req> for () {
    fn key_of(&self, _: &Req) -> Option<String> {
        None
    }
}

impl<Req, F: Fn(&Req) -> Option<String>> KeyOf<Req> for F {
    fn key_of(&self, request: &Req) -> Option<String> {
        self(request)
    }
}

/// What an outcome fault answers: `()` fails the request with the
/// [`InjectedFault`]; a closure `Fn(InjectedFault) -> Result<Res, Err>` makes
/// the replaced outcome (a `503` response).
pub trait ReplaceWith<Res, Err> {
    /// The outcome replacing a request.
    fn replace(&self, fault: InjectedFault) -> Result<Res, Err>;
}

impl<Res, Err: From<InjectedFault>> ReplaceWith<Res, Err> for () {
    fn replace(&self, fault: InjectedFault) -> Result<Res, Err> {
        Err(fault.into())
    }
}

impl<Res, Err, F: Fn(InjectedFault) -> Result<Res, Err>> ReplaceWith<Res, Err> for F {
    fn replace(&self, fault: InjectedFault) -> Result<Res, Err> {
        self(fault)
    }
}

/// A service whose requests go through a [`FaultInjector`]: untouched while it
/// is off, delayed, failed or replaced when its rules fire. The inner
/// service's error type must be made from an [`InjectedFault`] (a `BoxError`
/// is).
#[derive(Debug, Clone)]
pub struct FaultService<S, K, O> {
    pub(super) inner: S,
    pub(super) injector: FaultInjector,
    pub(super) key: K,
    pub(super) outcome: O,
}

impl<S, K, O> FaultService<S, K, O> {
    /// The injector.
    pub fn injector(&self) -> &FaultInjector {
        &self.injector
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pin_project! {
    /// The response future of a [`FaultService`]: the inner service's own
    /// future when no fault fired (nothing allocated), or the fault carried out.
    #[must_use = "futures do nothing unless polled"]
    pub struct FaultFuture<F, T> {
        #[pin]
        state: State<F, T>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, T> {
        Untouched { #[pin] inner: F },
        Injected { #[pin] injected: BoxFuture<T> },
    }
}

impl<F, T> FaultFuture<F, T> {
    fn untouched(inner: F) -> Self {
        Self {
            state: State::Untouched { inner },
        }
    }
}

impl<F: Future<Output = T>, T> Future for FaultFuture<F, T> {
    type Output = T;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.project().state.project() {
            StateProj::Untouched { inner } => inner.poll(cx),
            StateProj::Injected { injected } => injected.poll(cx),
        }
    }
}

impl<S, K, O, Req> Service<Req> for FaultService<S, K, O>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: From<InjectedFault> + Send,
    S::Response: Send,
    K: KeyOf<Req>,
    O: ReplaceWith<S::Response, S::Error> + Clone + Send + 'static,
    Req: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = FaultFuture<S::Future, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Req) -> Self::Future {
        // Off: one relaxed load, and the inner future as it is.
        if !self.injector.is_enabled() {
            return FaultFuture::untouched(self.inner.call(request));
        }
        let key = self.key.key_of(&request);
        let Some(injection) = self.injector.inject(key.as_deref()) else {
            return FaultFuture::untouched(self.inner.call(request));
        };
        let clone = self.inner.clone();
        let mut service = std::mem::replace(&mut self.inner, clone);
        let injector = self.injector.clone();
        let outcome = self.outcome.clone();
        FaultFuture {
            state: State::Injected {
                injected: Box::pin(async move {
                    if !injection.delay().is_zero() {
                        tokio::time::sleep(injection.delay()).await;
                    }
                    match injection.replace() {
                        Some(FaultKind::Outcome) => {
                            outcome.replace(injector.fault(FaultKind::Outcome))
                        }
                        Some(kind) => Err(injector.fault(kind).into()),
                        None => service.call(request).await,
                    }
                }),
            },
        }
    }
}
