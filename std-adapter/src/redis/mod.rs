//! Shared state across a fleet (feature `redis`): a circuit breaker and a rate
//! limiter whose state lives in Redis, so that the processes of a service open
//! together and share one rate limit.
//!
//! | local | shared |
//! |---|---|
//! | [`CircuitBreaker`](crate::CircuitBreaker) | [`SharedCircuitBreaker`] |
//! | [`RateLimiter`](crate::RateLimiter) | [`SharedRateLimiter`] |
//! | | [`RedisStore`] (the connection), [`SharedConfig`] (its options) |
//!
//! Both take the local types' configurations ([`CircuitBreakerConfig`](crate::CircuitBreakerConfig),
//! [`RateLimiterConfig`](crate::RateLimiterConfig)) and give the local types'
//! errors ([`Error`](crate::Error), [`Rejection`](crate::Rejection),
//! [`NotUntil`](seawall_core::rate_limit::NotUntil)).
//!
//! # One breaker, stored in Redis
//!
//! The shared breaker is the core's breaker with another storage: every
//! decision is [`seawall_core::breaker::rules`], the same pure function of a
//! plain state value the local breaker runs in its compare-and-swap loop,
//! here run on the state Redis holds with the fleet's time (Redis's `TIME`)
//! as the clock. The consecutive rule, count and time windows, slow calls,
//! open-duration growth, the half-open limit and wait, and the manual states
//! all apply, with the core's results (every breaker scenario file is
//! replayed against it on a real Redis).
//!
//! Redis only stores. Two Lua scripts are storage primitives with no rule of
//! their own: one adds a batch of outcomes to the window (if the state is
//! still in the batch's round) and reads; the other is a compare-and-set of
//! the state on its version. A process reads the state, takes the decision,
//! and writes the change only if nobody wrote since; if somebody did, it
//! takes the decision again on what they wrote.
//!
//! Keys: `{{prefix}:breaker:{name}}` (a hash: the state, its version, the
//! probes' leases) and the same with `:window`; the braces are a hash tag, so
//! both are in one key slot of a Redis Cluster. `{prefix}:rate:{name}` for a
//! rate limiter.
//!
//! # The hot path stays local; Redis's load does not grow with traffic
//!
//! A call in Closed never waits for Redis: the decision (admit) is taken on
//! this process's view of the state (one atomic pointer load). Its outcome
//! joins a batch (one atomic word: the run of outcomes for the consecutive
//! rule, or the window's counts). Every [`SharedConfig::sync_interval`] the
//! sync task sends the batch and reads the state in one script call, and
//! applies the rules to the batch (a trip is one compare-and-set more). When
//! the rules say that the batch would trip the breaker, or the batch fills
//! up, the task is woken at once (at most once per interval): a trip does not
//! wait for the interval. So Redis sees about one script per breaker, per
//! process, per interval, whatever the call rate and the failure rate.
//!
//! Past the end of an open duration and in half-open, a call asks Redis for a
//! change (a probe slot, a reopening): one compare-and-set, bounded by the
//! timeout, carrying a deadline: should Redis run it later than the caller
//! waited (a stall), it grants nothing. Each probe holds a lease of
//! [`SharedConfig::probe_lease`], so the slot of a probe whose process died
//! is free again when the lease expires.
//!
//! **Propagation delay.** A trip in sight is reported at once; every other
//! process sees the new state at its next sync: within `sync_interval` plus
//! one round trip. Meanwhile its calls still go through.
//!
//! # When Redis is unavailable
//!
//! Every Redis call is bounded by [`SharedConfig::timeout`]: no call through a
//! shared breaker or limiter waits longer on Redis, and none panics. When a
//! call fails or times out, the breaker falls back at once, as
//! [`SharedConfig::when_unavailable`] says:
//!
//! - [`WhenUnavailable::FailOpen`] (the default): a local breaker of the core,
//!   started from the last shared state seen (an Open lasts for the rest of
//!   its duration; a Closed keeps the fleet's count of failures).
//! - [`WhenUnavailable::FailClosed`]: every call is rejected.
//!
//! In fallback no call goes to Redis; the sync task tries it once per sync
//! interval. When Redis answers, the view is the shared state again and the
//! local breaker, with its counts, is dropped: what the process counted alone
//! is never replayed into the fleet's state. If Redis lost its data, the
//! breaker starts again from Closed with new generations.
//!
//! # When the state in Redis is corrupt
//!
//! Every value read is checked. One that is not a number, negative, too
//! large or names no state is corrupt: it is read as its default, counted
//! ([`SharedCircuitBreaker::corrupt_reads`], a metric), warned about through
//! `tracing`, reported by the sync that read it ([`StoreError::Corrupt`]), and
//! the whole state is written back repaired. Counts past the configuration's
//! limits and leases longer than the lease are clamped; an Open deadline
//! further than any open duration restarts from now (the core's rule for a
//! clock that went backwards). `reset()` and `force_open()` write a whole
//! valid state whatever they find.
//!
//! The rate limiter asks Redis on every check (its GCRA runs in one script);
//! when Redis does not answer it decides locally (a limiter of the same quota
//! per process) or refuses, and tries Redis again after one sync interval.

mod batch;
mod breaker;
mod codec;
mod engine;
mod permit;
mod rate_limit;
mod scripts;
mod state;
mod store;
mod view;

pub use breaker::{SharedCircuitBreaker, SharedCircuitBreakerBuilder};
pub use permit::SharedPermit;
pub use rate_limit::{SharedRateLimiter, SharedRateLimiterBuilder};
pub use state::SharedState;
pub use store::{RedisStore, SharedConfig, StoreError, WhenUnavailable};
