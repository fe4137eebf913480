//! Resilience for tokio services: circuit breaker, retry, hedging, timeout,
//! bulkhead, rate limiter, fallback, fault injection, their composition and
//! tower layers, over the deterministic [`seawall_core`].
//!
//! The core makes every decision; this crate runs it in tokio. It owns the
//! clock (tokio's, so `tokio::time::pause()` makes tests exact; see
//! [`TokioClock`]), the futures, the errors and the tower integration.
//!
//! # Where to start
//!
//! - One dependency that can hang or fail: a [`CircuitBreaker`] around its
//!   calls ([`CircuitBreaker::call`]), with a time limit ([`with_timeout`]).
//!   The example below is the whole pattern.
//! - Calls worth repeating: [`RetryPolicy::execute`], with backoff, jitter and
//!   a [`RetryBudget`].
//! - Several policies around one call: [`Policy`], in a documented order.
//! - A tower, axum, tonic or hyper service: the `*Layer` types in the table.
//! - Health checks and dashboards: a [`Registry`] of named policies, its
//!   [`HealthReport`], and Prometheus metrics (feature `prometheus`).
//!
//! [The guide](crate::guide) explains the concepts, every option and its
//! default, the patterns, and how to troubleshoot a breaker in production.
//!
//! # Features
//!
//! None is on by default. These pages show every feature's items, each marked
//! with the feature it needs (locally: `cargo doc --open -p seawall
//! --all-features`).
//!
//! | feature | adds |
//! |---|---|
//! | `prometheus` | `seawall::metrics`: a Prometheus collector for a registry's policies (`Registry::register_metrics`) |
//! | `serde` | `serde::Serialize` for the [`HealthReport`], for JSON readiness endpoints |
//! | `tracing` | `tracing` events: warn when a breaker opens, info when it closes, debug when it rejects |
//! | `redis` | `seawall::redis`: a circuit breaker and a rate limiter whose state a fleet shares through Redis |
//!
//! # The policies
//!
//! | policy | direct | tower |
//! |---|---|---|
//! | circuit breaker | [`CircuitBreaker::call`], [`KeyedCircuitBreaker`] | [`CircuitBreakerLayer`] |
//! | retry | [`RetryPolicy::execute`] | [`RetryLayer`] |
//! | timeout | [`with_timeout`], [`with_attempt_timeout`] | [`TimeoutLayer`] |
//! | bulkhead | [`Bulkhead::call`] | [`BulkheadLayer`] |
//! | adaptive concurrency limit | [`AdaptiveLimiter::call`] | [`AdaptiveLimiterLayer`] |
//! | rate limiter | [`RateLimiter::call`] | [`RateLimiterLayer`] |
//! | fallback | [`with_fallback`] | |
//! | hedged requests | [`Hedge::call`] | [`HedgeLayer`] |
//! | fault injection (testing) | [`FaultInjector::call`] | [`FaultLayer`] |
//! | all of them, in a documented order | [`Policy::execute`] | |
//!
//! ```
//! use std::time::Duration;
//! use seawall::{CircuitBreaker, CircuitBreakerConfig, with_timeout};
//!
//! # async fn query() -> Result<u32, std::io::Error> { Ok(7) }
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cb = CircuitBreaker::new("database", CircuitBreakerConfig {
//!     failure_threshold: 5,
//!     success_threshold: 2,
//!     timeout: Duration::from_secs(60),
//!     ..Default::default()
//! });
//! match cb.call(|| async { query().await }).await {
//!     Ok(rows) => println!("Success: {rows:?}"),
//!     Err(e) => println!("Failed or circuit open: {e:?}"),
//! }
//!
//! let result = with_timeout(Duration::from_secs(5), || async { query().await }).await??;
//! assert_eq!(result, 7);
//! # Ok(())
//! # }
//! ```
//!
//! Errors: [`Error`] says whether the call failed by itself
//! ([`Error::Inner`]) or a policy stopped it ([`Error::Rejected`],
//! [`Error::Timeout`], [`Error::BulkheadFull`], [`Error::RateLimited`]). Tower
//! services return a [`BoxError`] holding the policy's error type
//! ([`Rejection`], [`Elapsed`],
//! [`BulkheadFull`](core::bulkhead::BulkheadFull),
//! [`NotUntil`](core::rate_limit::NotUntil)), as tower's own middleware does;
//! the retry layer keeps the inner service's error type.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod breaker;
mod bulkhead;
mod clock;
mod compose;
mod error;
mod events;
mod fallback;
pub mod fault;
pub mod guide;
pub mod health;
pub mod hedge;
mod limit;
#[cfg(feature = "prometheus")]
pub mod metrics;
pub mod policy;
mod rate_limit;
#[cfg(feature = "redis")]
pub mod redis;
pub mod registry;
pub mod retry;
pub mod timeout;

pub use seawall_core as core;

pub use breaker::{
    Call as CircuitBreakerCall, CircuitBreaker, CircuitBreakerBuilder, CircuitBreakerConfig,
    CircuitBreakerLayer, CircuitBreakerService, Classify, ErrorsAreFailures, FailureWhen,
    KeyedCircuitBreaker, MAX_WINDOW_LEN, OwnedPermit, Permit,
    ResponseFuture as CircuitBreakerFuture, SlidingWindow,
};
pub use bulkhead::{Bulkhead, BulkheadConfig, BulkheadLayer, BulkheadPermit, BulkheadService};
pub use clock::TokioClock;
pub use error::Error;
pub use fallback::{Fallback, FallbackFn, FallbackValue, NoFallback, with_fallback};
pub use fault::{
    FaultFuture, FaultInjector, FaultLayer, FaultPlan, FaultService, InjectedFault, KeyOf,
    ReplaceWith,
};
pub use health::{BreakerCalls, BreakerHealth, HealthReport, HealthStatus, LimiterHealth};
pub use hedge::{Hedge, HedgeBuilder, HedgeLayer, HedgeService};
pub use limit::{AdaptiveLimiter, AdaptiveLimiterLayer, AdaptiveLimiterService, LimiterPermit};
pub use policy::{Policy, PolicyBuilder};
pub use rate_limit::{RateLimiter, RateLimiterConfig, RateLimiterLayer, RateLimiterService};
pub use registry::{
    AlreadyRegistered, BreakerHandle, PolicyKind, Registry, RegistryBuilder, RetryStats,
};
pub use retry::{
    JitterSeed, RetryError, RetryLayer, RetryListener, RetryPolicy, RetryStrategy, Retryable,
};
pub use seawall_core::backoff::Jitter;
pub use seawall_core::breaker::{Outcome, RejectReason, Rejection, State, Transition};
pub use seawall_core::limit::{LimitConfig, LimiterStats};
pub use seawall_core::retry::{
    AdaptiveRate, AdaptiveRateConfig, AttemptTimeout, AttemptTimeoutConfig, ErrorKind, Failure,
    GiveUp, QuotaCosts, RetryBudget, RetryQuota,
};
pub use seawall_core::{ConfigError, Stats};
pub use timeout::{Elapsed, TimeoutLayer, with_attempt_timeout, with_timeout};

/// The error type of seawall's tower services, as in tower's own middleware.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

// The documents' Rust code blocks, compiled and run as doctests (`cargo test
// -p seawall --doc`), so the documentation cannot drift from the code. Only
// rustdoc's test pass sees these items; blocks that cannot run on the host
// (embassy firmware) are `rust,ignore` and checked by `tests/tests/docs.rs`.

/// The code blocks of `README.md`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The code blocks of `docs/ADAPTIVE.md`.
#[cfg(doctest)]
#[doc = include_str!("../../docs/ADAPTIVE.md")]
pub struct AdaptiveDoctests;

/// The code blocks of `docs/MONITORING.md`: they need the metrics and the
/// JSON report (`cargo test -p seawall --features prometheus,serde`).
#[cfg(all(doctest, feature = "prometheus", feature = "serde"))]
#[doc = include_str!("../../docs/MONITORING.md")]
pub struct MonitoringDoctests;

/// The code blocks of `docs/SHARED_STATE.md`: they need the Redis support
/// (`cargo test -p seawall --features redis`).
#[cfg(all(doctest, feature = "redis"))]
#[doc = include_str!("../../docs/SHARED_STATE.md")]
pub struct SharedStateDoctests;
