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
//! # In Redis
//!
//! One hash per breaker, `{prefix}:breaker:{name}`, changed only by Lua
//! scripts, so every read-modify-write is atomic. The scripts read the time
//! from Redis (`TIME`), never from the caller: processes whose clocks disagree
//! still agree on when an open duration ends. A process's own clock only
//! measures how much of an open duration is left, from what Redis said was
//! left. The hash holds the state, the generation (it moves on every
//! transition; outcomes of a permit from an earlier round are ignored), the
//! fleet's consecutive failures, the consecutive trips, the end of the open
//! duration, the successful probes, and the leases of the probes in flight.
//!
//! No lock is held while a call runs: acquiring a probe and recording it are
//! one script call each. Half-open admits `half_open_max_calls` probes across
//! the fleet; each holds a lease of [`SharedConfig::probe_lease`] in the hash,
//! so the slot of a probe whose process died is free again when it expires.
//!
//! # The sync scheme: the hot path stays local
//!
//! A call in Closed never waits for Redis. Each process keeps a view of the
//! shared state (one atomic pointer load per call) and a batch of the Closed
//! outcomes it has not reported:
//!
//! - A failure joins the batch and wakes the breaker's sync task, which sends
//!   the batch at once (one script call; failures that arrive meanwhile go in
//!   the next batch). The script adds it to the fleet's count and trips the
//!   breaker when the count reaches `failure_threshold`.
//! - A success is reported only when it matters: when the fleet is counting
//!   failures, it ends their run (consecutive in the order the batches reach
//!   Redis). In a healthy fleet a success costs no Redis traffic at all.
//! - Every [`SharedConfig::sync_interval`] the task reads the shared state
//!   (one script call) and replaces the view.
//! - Past the end of an open duration, and in half-open, each call asks Redis
//!   for a probe slot (bounded by the timeout); once Redis says every slot is
//!   taken, the process rejects locally until its next sync.
//!
//! **Propagation delay.** The process whose report trips the breaker sees Open
//! one round trip after the failure. Every other process sees it at its next
//! sync: within `sync_interval` plus one round trip (100 ms plus well under a
//! millisecond on a local network, by default), or sooner if it reports a
//! failure of its own meanwhile. Meanwhile its calls still go through: at most
//! `sync_interval` worth of calls per process reach a dependency the fleet has
//! already given up on. A shorter interval narrows that window and costs one
//! script call per breaker, per process, per interval: 100 processes syncing
//! every 100 ms are 1,000 reads a second for Redis, whatever the traffic.
//!
//! # When Redis is unavailable
//!
//! Every Redis call is bounded by [`SharedConfig::timeout`]: no call through a
//! shared breaker or limiter waits longer on Redis, and none panics. When a
//! call fails or times out, the breaker falls back at once, as
//! [`SharedConfig::when_unavailable`] says:
//!
//! - [`WhenUnavailable::FailOpen`] (the default): a local breaker of the core,
//!   seeded with the last shared state seen (an Open lasts for the rest of its
//!   duration; a Closed keeps the fleet's count of failures). Calls keep
//!   working and are protected per process.
//! - [`WhenUnavailable::FailClosed`]: every call is rejected.
//!
//! In fallback no call goes to Redis; the sync task tries it once per sync
//! interval. When Redis answers, the view is the shared state again and the
//! local breaker, with its counts, is dropped: what the process counted alone
//! is never replayed into the fleet's state. If Redis lost its data, the
//! breaker starts again from Closed with new generations.
//!
//! The rate limiter asks Redis on every check (it has no local state to
//! keep in step); when Redis does not answer it decides locally (a limiter of
//! the same quota per process) or refuses, and tries Redis again after one
//! sync interval.

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
pub use rate_limit::SharedRateLimiter;
pub use state::SharedState;
pub use store::{RedisStore, SharedConfig, StoreError, WhenUnavailable};
