//! seawall on embassy: the deterministic core's circuit breaker, retry, timeout,
//! bulkhead and rate limiter for `no_std` firmware, without an allocator.
//!
//! The core ([`seawall_core`], re-exported as [`core`]) decides; this crate reads
//! embassy-time's clock for it ([`EmbassyClock`]), runs the calls as futures and
//! turns the core's answers into one error type ([`Error`]).
//!
//! - [`CircuitBreaker`]: a breaker for async calls, built by `const`
//!   constructors so it lives in a `static` shared by every task; its events
//!   go to a [`Listener`].
//! - [`with_timeout`]: a time limit for one call, over `embassy_time::with_timeout`.
//! - [`Retry`] (and [`retry`]): the core's retry policy, sleeping with
//!   `embassy_time::Timer`, jitter from the core's seedable generator.
//! - [`Bulkhead`] and [`RateLimiter`]: the core's limits on calls in flight and
//!   on their rate; [`AdaptiveLimiter`]: a limit on calls in flight that
//!   follows the dependency.
//!
//! The words are the tokio adapter's (`seawall`): `call`, [`Error::Inner`],
//! [`Error::Rejected`], [`Error::Timeout`], [`Classify`]; what differs is what
//! embassy needs: `const` constructors, no allocation, listeners instead of
//! `tracing`.
//!
//! # Where to start
//!
//! A [`CircuitBreaker`] in a `static` (the example below), then [`Retry`] for
//! calls worth repeating. The firmware that CI runs under QEMU,
//! `embassy-adapter/firmware/src/main.rs` in the source, uses each of them. The
//! guide (the `guide` module of the `seawall` crate's documentation,
//! `docs/CIRCUIT_BREAKER_GUIDE.md` in the source) explains the concepts and
//! every option; its section "Embassy firmware" is about this crate.
//!
//! # Features
//!
//! This crate has none. The core's `critical-section` feature (enable it on
//! `seawall-core`) provides atomics on Cortex-M0; see "Atomics on Cortex-M".
//!
//! ```
//! use core::time::Duration;
//! use seawall_embassy::{BreakerConfig, CircuitBreaker, Error};
//!
//! static CONFIG: BreakerConfig = match BreakerConfig::builder()
//!     .failure_threshold(3)
//!     .open_duration(Duration::from_secs(10))
//!     .build()
//! {
//!     Ok(config) => config,
//!     Err(_) => panic!("invalid breaker configuration"),
//! };
//! static MODEM: CircuitBreaker = CircuitBreaker::new(&CONFIG);
//!
//! async fn send(frame: &[u8]) -> Result<usize, ()> { Ok(frame.len()) }
//!
//! async fn report(frame: &[u8]) {
//!     match MODEM.call_with_timeout(Duration::from_millis(200), || send(frame)).await {
//!         Ok(sent) => { /* ... */ }
//!         Err(Error::Rejected(rejection)) => {
//!             // fail fast: the modem is known to be down, try after
//!             // `rejection.retry_after()`
//!         }
//!         Err(_) => { /* timed out or failed: counted as a failure */ }
//!     }
//! }
//! ```
//!
//! # Time
//!
//! Any embassy-time tick rate works: ticks are converted to the core's
//! nanoseconds exactly, rounding so that a sleep never ends before the core's
//! deadline (see [`to_instant`] and [`to_embassy_duration`]).
//!
//! # Atomics on Cortex-M
//!
//! The core keeps its state in 64-bit atomics from `portable-atomic`. Cortex-M
//! has none, so the firmware chooses how they are provided:
//!
//! - On a single-core chip (the usual case), enable `portable-atomic`'s
//!   `unsafe-assume-single-core` feature in the firmware, as
//!   `embassy-adapter/firmware` does: each 64-bit operation runs with interrupts
//!   disabled for a few instructions, which is safe from interrupt handlers and
//!   costs no RAM.
//! - Without it, on Cortex-M3/M4/M7 `portable-atomic` falls back to a table of
//!   global spin locks: over 2 KiB of RAM, and a deadlock if an interrupt
//!   handler touches a breaker while the code it interrupted holds the same
//!   lock. The core's `critical-section` feature does not change this on these
//!   chips: `portable-atomic` uses critical sections only where the target has
//!   no compare-and-swap at all.
//! - On Cortex-M0/M0+ (no compare-and-swap), the core's `critical-section`
//!   feature (with the firmware's critical-section implementation) or
//!   `unsafe-assume-single-core` provides every atomic.
//!
//! Sizes in firmware are in `docs/BENCHMARKS.md` ("Embedded size").
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod breaker;
mod bulkhead;
mod classify;
mod clock;
mod error;
mod limit;
mod rate_limit;
mod retry;
mod timeout;

pub use seawall_core as core;

pub use breaker::{CircuitBreaker, Listener};
pub use bulkhead::Bulkhead;
pub use classify::{Classify, ErrorsAreFailures, FailureWhen};
pub use clock::{EmbassyClock, to_duration, to_embassy_duration, to_instant};
pub use error::Error;
pub use limit::AdaptiveLimiter;
pub use rate_limit::RateLimiter;
pub use retry::{Retry, RetryError, RetryListener, Retryable, retry};
pub use seawall_core::backoff::{Backoff, Jitter, Strategy};
pub use seawall_core::breaker::{
    BreakerConfig, BreakerConfigBuilder, Bucket, CountWindow, NoWindow, Outcome, RejectReason,
    Rejection, Slot, State, TimeWindow, Transition, WindowTotals,
};
pub use seawall_core::bulkhead::BulkheadFull;
pub use seawall_core::error::ConfigError;
pub use seawall_core::rate_limit::{NotUntil, Quota};
pub use seawall_core::retry::{
    AdaptiveRate, AdaptiveRateConfig, ErrorKind, Failure, GiveUp, QuotaCosts, RetryBudget,
    RetryPolicy, RetryQuota,
};
pub use seawall_core::stats::Stats;
pub use timeout::{Elapsed, with_timeout};
