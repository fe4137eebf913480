//! Fault injection: a [`FaultPlan`] of errors, latency and replaced outcomes,
//! fired on a share of the calls by a [`FaultInjector`], to test that the
//! other policies answer as they should.
//!
//! The core decides ([`seawall_core::fault`]): which rules apply to a call
//! (by key and time window), which fire (the plan's seeded generator, so a
//! chaos run replays exactly), and what they add up to. This module carries it
//! out: it sleeps the delay (tokio's clock, so paused time applies), and fails
//! the call with an [`InjectedFault`] or answers a replaced outcome without
//! running the call.
//!
//! An injector is off when made; switch it on and off at run time
//! ([`enable`](FaultInjector::enable), or by name through a
//! [`Registry`](crate::Registry)). While off, a call costs one relaxed atomic
//! load more than without it. Every injected fault is counted
//! ([`counts`](FaultInjector::counts), the `seawall_fault_injected_total`
//! metric) and, with the `tracing` feature, logged at INFO with the target
//! `seawall::fault`.
//!
//! ```
//! use std::time::Duration;
//! use seawall::{FaultInjector, FaultPlan};
//! use seawall::core::fault::{Fault, FaultRule};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let plan = FaultPlan::new(7)
//!     .rule(FaultRule::new(Fault::Latency(Duration::from_millis(200)), 1.0))
//!     .rule(FaultRule::new(Fault::Error, 0.3));
//! let chaos = FaultInjector::new("tenant-cache", plan)?;
//!
//! let load = || async { Ok::<_, std::io::Error>("row") };
//! assert_eq!(chaos.call(load).await?, "row", "off: untouched");
//!
//! chaos.enable();
//! let started = tokio::time::Instant::now();
//! let mut failed = 0;
//! for _ in 0..100 {
//!     if chaos.call(load).await.is_err() {
//!         failed += 1;
//!     }
//! }
//! assert_eq!(started.elapsed(), Duration::from_millis(200) * 100);
//! assert_eq!(chaos.counts().errors, failed);
//! assert!((20..40).contains(&failed));
//! # Ok(())
//! # }
//! ```

mod layer;
mod plan;
mod service;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use seawall_core::ConfigError;
use seawall_core::fault::{FaultCounts, FaultInjector as Core, FaultKind, Injection};

pub use layer::FaultLayer;
pub use plan::FaultPlan;
pub use service::{FaultFuture, FaultService, KeyOf, ReplaceWith};

use crate::clock::TokioClock;

/// The error of a call a fault plan failed (or replaced, when there was no
/// outcome to replace it with).
///
/// Calls through [`FaultInjector::call`] return the caller's error type, made
/// from this one with `From`: implement `From<InjectedFault>` for your error,
/// or use `std::io::Error` or a `BoxError`, which have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFault {
    injector: Arc<str>,
    kind: FaultKind,
}

impl InjectedFault {
    /// The name of the injector that failed the call.
    pub fn injector(&self) -> &str {
        &self.injector
    }

    /// [`FaultKind::Error`], or [`FaultKind::Outcome`] for an outcome fault
    /// without an outcome to replace the call with.
    pub fn kind(&self) -> FaultKind {
        self.kind
    }
}

impl fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fault injected by {} ({})", self.injector, self.kind)
    }
}

impl std::error::Error for InjectedFault {}

impl From<InjectedFault> for std::io::Error {
    fn from(fault: InjectedFault) -> Self {
        std::io::Error::other(fault)
    }
}

/// Fires a [`FaultPlan`] on the calls made through it, while switched on.
/// Clones share the switch, the generator and the counts.
#[derive(Clone)]
pub struct FaultInjector {
    inner: Arc<Inner>,
}

struct Inner {
    name: Arc<str>,
    plan: FaultPlan,
    core: Core,
}

impl fmt::Debug for FaultInjector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultInjector")
            .field("name", &self.inner.name)
            .field("enabled", &self.is_enabled())
            .field("plan", &self.inner.plan)
            .finish()
    }
}

impl FaultInjector {
    /// An injector named `name` of `plan`, switched off; or the plan's first
    /// invalid option.
    pub fn new(name: impl Into<String>, plan: FaultPlan) -> Result<Self, ConfigError> {
        plan.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.into().into(),
                core: Core::new(plan.seed),
                plan,
            }),
        })
    }

    /// The name, as the registry, the metrics and `tracing` show it.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The plan.
    pub fn plan(&self) -> &FaultPlan {
        &self.inner.plan
    }

    /// Switches the plan on: its windows count from now.
    pub fn enable(&self) {
        self.inner.core.enable(&TokioClock);
        #[cfg(feature = "tracing")]
        tracing::warn!(target: "seawall::fault", injector = self.name(), "fault injection on");
    }

    /// Switches the plan off.
    pub fn disable(&self) {
        self.inner.core.disable();
        #[cfg(feature = "tracing")]
        tracing::info!(target: "seawall::fault", injector = self.name(), "fault injection off");
    }

    /// Whether the plan is on.
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.inner.core.is_enabled()
    }

    /// The faults injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.inner.core.counts()
    }

    /// Starts the plan's generator over from its seed: the same calls, in the
    /// same order, get the same faults again.
    pub fn reseed(&self) {
        self.inner.core.reseed();
    }

    /// What the plan does to a call with `key` now, counted (and logged);
    /// `None` while off or when no rule fired. [`call`](Self::call) and the
    /// [`FaultLayer`] ask this and carry the answer out.
    #[inline]
    pub fn inject(&self, key: Option<&str>) -> Option<Injection> {
        let injection = self
            .inner
            .core
            .inject(&self.inner.plan.rules, key, &TokioClock)?;
        #[cfg(feature = "tracing")]
        self.log(key, &injection);
        Some(injection)
    }

    #[cfg(feature = "tracing")]
    #[cold]
    fn log(&self, key: Option<&str>, injection: &Injection) {
        let delay_ms = injection.delay().as_secs_f64() * 1e3;
        let replace = injection.replace().map_or("none", FaultKind::as_str);
        tracing::info!(
            target: "seawall::fault",
            injector = self.name(),
            key,
            delay_ms,
            replace,
            "fault injected"
        );
    }

    /// The error that an injected error (or an outcome fault without an
    /// outcome) fails a call with.
    pub fn fault(&self, kind: FaultKind) -> InjectedFault {
        InjectedFault {
            injector: Arc::clone(&self.inner.name),
            kind,
        }
    }

    /// Runs the future made by `f` under the plan: untouched while off;
    /// delayed, failed with an [`InjectedFault`], or both, when rules fire. An
    /// outcome fault fails it too (there is no outcome to answer): see
    /// [`call_with`](Self::call_with). The plan decides when `call` is called;
    /// while off, the future returned is `f`'s own, wrapped in an enum.
    #[inline]
    pub fn call<F, Fut, T, E>(
        &self,
        f: F,
    ) -> impl Future<Output = Result<T, E>> + use<'_, F, Fut, T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<InjectedFault>,
    {
        self.call_with(None, |fault| Err(fault.into()), f)
    }

    /// As [`call`](Self::call), for a call with `key` (a tenant, a route):
    /// rules with a key apply to the calls with that key only.
    #[inline]
    pub fn call_keyed<F, Fut, T, E>(
        &self,
        key: &str,
        f: F,
    ) -> impl Future<Output = Result<T, E>> + use<'_, F, Fut, T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<InjectedFault>,
    {
        self.call_with(Some(key), |fault| Err(fault.into()), f)
    }

    /// As [`call`](Self::call), with a `key` (or none) and the `outcome` that
    /// replaces the call when an outcome fault fires (Polly's chaos outcome: a
    /// `503` response, an empty list). `outcome` gets the fault, whose kind is
    /// [`FaultKind::Outcome`].
    #[inline]
    pub fn call_with<F, Fut, T, E, O>(
        &self,
        key: Option<&str>,
        outcome: O,
        f: F,
    ) -> impl Future<Output = Result<T, E>> + use<'_, F, Fut, T, E, O>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<InjectedFault>,
        O: FnOnce(InjectedFault) -> Result<T, E>,
    {
        // Off: one relaxed load, and `f`'s own future.
        if !self.is_enabled() {
            return Either::Left { future: f() };
        }
        match self.inject(key) {
            None => Either::Left { future: f() },
            // Boxed: the delay's timer would make every call's future larger.
            Some(injection) => Either::Right {
                future: Box::pin(self.carry_out(injection, outcome, f)),
            },
        }
    }

    /// Carries `injection` out: the delay, then the replacement or the call.
    async fn carry_out<F, Fut, T, E, O>(
        &self,
        injection: Injection,
        outcome: O,
        f: F,
    ) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<InjectedFault>,
        O: FnOnce(InjectedFault) -> Result<T, E>,
    {
        if !injection.delay().is_zero() {
            tokio::time::sleep(injection.delay()).await;
        }
        match injection.replace() {
            Some(FaultKind::Outcome) => outcome(self.fault(FaultKind::Outcome)),
            Some(kind) => Err(self.fault(kind).into()),
            None => f().await,
        }
    }
}

pin_project! {
    /// The call's own future, or the fault carried out.
    #[project = EitherProj]
    enum Either<L, R> {
        Left { #[pin] future: L },
        Right { future: R },
    }
}

impl<L: Future, R: Future<Output = L::Output>> Future for Either<L, Pin<Box<R>>> {
    type Output = L::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<L::Output> {
        match self.project() {
            EitherProj::Left { future } => future.poll(cx),
            EitherProj::Right { future } => future.as_mut().poll(cx),
        }
    }
}
