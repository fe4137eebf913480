//! The deterministic core of seawall.
//!
//! `seawall-core` holds the decisions of a resilience toolkit as pure state
//! machines: the circuit breaker ([`breaker`]), its statistics ([`stats`]) and the
//! time types they are driven by ([`time`]); backoff ([`backoff`]) with an
//! injected, seedable generator ([`rng`]), retry decisions and budgets
//! ([`retry`]), a GCRA rate limiter ([`rate_limit`]), a bulkhead ([`bulkhead`]),
//! an adaptive concurrency limit ([`limit`]), latency histograms
//! ([`histogram`]), hedged requests ([`hedge`]) and fault plans for testing
//! ([`fault`]); between policies, the composition table ([`compose`]), the
//! wait for a turn within `max_wait` ([`wait`]) and the order in which
//! listeners hear a breaker's transitions ([`transitions`]); and the health
//! status that a set of breakers gives a readiness endpoint ([`health`]). It is
//! `#![no_std]`, never allocates,
//! never reads a clock on its own, never sleeps and never logs. Every decision that
//! depends on time takes a [`Clock`] argument, and reads it only when the decision
//! needs it, so the same inputs always give the same outputs: on a microcontroller,
//! in a tokio service and in a Python script.
//!
//! The adapters (`seawall` for tokio, `seawall-embassy` for embassy firmware and the
//! `seawall` Python package) own the clock, the sleeping, the futures and the
//! errors of their ecosystem; they call into this crate for every decision.
//!
//! # Where to start
//!
//! An application uses an adapter: the `seawall` crate in a tokio service,
//! `seawall-embassy` in firmware. This crate is for writing an adapter, for
//! firmware that drives the state machines by hand, and for tests that need
//! exact time. Start with [`breaker::CircuitBreaker`] (the example below), then
//! [`retry::RetryPolicy`] and [`backoff::Backoff`]. The guide (the `guide`
//! module of the `seawall` crate's documentation, `docs/CIRCUIT_BREAKER_GUIDE.md`
//! in the source) explains the concepts, every option and its default.
//!
//! # Features
//!
//! None is on by default.
//!
//! | feature | adds |
//! |---|---|
//! | `serde` | `Serialize` and `Deserialize` for configurations, states and statistics |
//! | `critical-section` | atomics through the `critical-section` crate on targets without compare-and-swap (Cortex-M0, `thumbv6m-none-eabi`); the firmware provides the implementation |
//!
//! ```
//! use core::time::Duration;
//! use seawall_core::breaker::{BreakerConfig, CircuitBreaker, State};
//! use seawall_core::time::ManualClock;
//!
//! static CONFIG: BreakerConfig = match BreakerConfig::builder()
//!     .failure_threshold(2)
//!     .open_duration(Duration::from_secs(10))
//!     .build()
//! {
//!     Ok(config) => config,
//!     Err(_) => panic!("invalid breaker configuration"),
//! };
//! static BREAKER: CircuitBreaker = CircuitBreaker::new(&CONFIG);
//!
//! let clock = ManualClock::new();
//! for _ in 0..2 {
//!     let permit = BREAKER.try_acquire(&clock).expect("closed breakers admit calls");
//!     permit.failure(&clock);
//! }
//! assert_eq!(BREAKER.state(), State::Open);
//! let rejection = BREAKER.try_acquire(&clock).unwrap_err();
//! assert_eq!(rejection.retry_after(), Some(Duration::from_secs(10)));
//!
//! clock.advance(Duration::from_secs(10));
//! let probe = BREAKER.try_acquire(&clock).expect("a probe after the open duration");
//! assert_eq!(BREAKER.state(), State::HalfOpen);
//! probe.success(&clock);
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;

pub mod backoff;
pub mod breaker;
pub mod bulkhead;
pub mod call;
pub mod compose;
pub mod error;
pub mod fault;
pub mod health;
pub mod hedge;
pub mod histogram;
pub mod limit;
mod math;
pub mod rate_limit;
pub mod retry;
pub mod rng;
mod slice;
pub mod stats;
mod sync;
pub mod time;
pub mod transitions;
pub mod wait;

pub use backoff::{Backoff, Jitter};
pub use breaker::{BreakerConfig, CircuitBreaker, Permit, Rejection, State, Transition};
pub use bulkhead::{Bulkhead, BulkheadPermit};
pub use error::ConfigError;
pub use histogram::{Histogram, RollingHistogram};
pub use limit::{AdaptiveLimiter, LimitConfig};
pub use rate_limit::{Quota, RateLimiter};
pub use retry::{RetryBudget, RetryDecision, RetryPolicy};
pub use rng::{Rng, SplitMix64};
pub use stats::Stats;
pub use time::{Clock, Instant, ManualClock};
pub use wait::{Turn, Wait};
