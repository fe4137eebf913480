//! An adaptive concurrency limit: a bulkhead whose maximum follows what the
//! dependency can take, measured from the latency and the overloads of the calls
//! it lets through.
//!
//! # How to drive it
//!
//! 1. [`AdaptiveLimiter::try_acquire`] admits a call while fewer calls than the
//!    current limit are in flight, and hands out a [`LimitPermit`] (it reads the
//!    clock: the call's start); a full limiter answers [`LimitExceeded`] at once.
//! 2. When the call ends, the permit records it:
//!    [`success`](LimitPermit::success) with its latency, or
//!    [`overload`](LimitPermit::overload) for a sign that the dependency is
//!    overloaded (a timeout, a 429 or 503, a refused connection). Dropped
//!    unrecorded (a cancelled call, an error that says nothing about load), it
//!    gives its place back and teaches the limiter nothing.
//! 3. The first call to end after a `window` has passed closes it: it runs the
//!    algorithm ([`Algorithm`]) once on the window's calls, stores the new limit,
//!    and opens the next window with itself.
//!
//! The limit, the calls in flight and the window are atomics: admission is one
//! compare-and-swap, recording a few relaxed additions. The algorithm's decision
//! runs in whichever thread closes the window; a thread that finds another one
//! deciding leaves its call in the window and goes on, so no caller ever waits.
//! A call that ends at the very moment a window closes may be counted half in
//! one window and half in the next (its latency in one, its count in the other);
//! with one thread, every count is exact.
//!
//! # The baseline probe
//!
//! Gradient and Vegas compare latency with a baseline: the latency of a call
//! when nothing queues. The limiter measures it (see [`LimitConfig`]): while a
//! probe runs, at most `probe_limit` calls are admitted at once, and the mean
//! latency of the first `probe_samples` calls admitted that way becomes the
//! baseline. A probe starts with the limiter and every `probe_interval` after the
//! end of the last one. Calls admitted before a probe and ending during it are
//! not counted anywhere.

mod algorithm;
mod config;
mod permit;

use core::fmt;
use core::time::Duration;

pub use algorithm::Window;
pub use config::{Aimd, Algorithm, Gradient, LimitConfig, LimitConfigBuilder, Vegas};
pub use permit::{LimitPermit, LimitTicket};

use crate::sync::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use crate::time::{Clock, Instant, duration_nanos};

/// A concurrency limit that adapts to the dependency behind it.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::limit::{AdaptiveLimiter, Aimd, Algorithm, LimitConfig};
/// use seawall_core::time::ManualClock;
///
/// let config = LimitConfig::builder()
///     .algorithm(Algorithm::Aimd(Aimd::DEFAULT))
///     .initial_limit(2)
///     .min_samples(1)
///     .build()
///     .unwrap();
/// let limiter = AdaptiveLimiter::new(config);
/// let clock = ManualClock::new();
///
/// let first = limiter.try_acquire(&clock).unwrap();
/// let second = limiter.try_acquire(&clock).unwrap();
/// assert!(limiter.try_acquire(&clock).is_err(), "two calls in flight: the limit");
///
/// clock.advance(Duration::from_millis(20));
/// first.success(&clock); // opens the first window
/// second.success(&clock);
/// // The first call to end after the 100 ms window closes it: both places were
/// // used and nothing was overloaded, so the limit grows by one.
/// clock.advance(Duration::from_millis(100));
/// limiter.try_acquire(&clock).unwrap().overload(&clock);
/// assert_eq!(limiter.limit(), 3);
/// // The overload is decided on when its own window closes: 3 * 0.9.
/// clock.advance(Duration::from_millis(100));
/// limiter.try_acquire(&clock).unwrap().success(&clock);
/// assert_eq!(limiter.limit(), 2);
/// ```
#[derive(Debug)]
pub struct AdaptiveLimiter {
    config: LimitConfig,
    /// The limit calls are admitted under (at least 1).
    limit: AtomicU32,
    in_flight: AtomicU32,
    /// The algorithm's fractional limit (`f64` bits), changed only by the
    /// thread holding `deciding`.
    estimate: AtomicU64,
    /// Held by the thread that closes the window or finishes a probe.
    deciding: AtomicBool,
    window: WindowCounters,
    probe: ProbeState,
    counters: Counters,
}

/// The current window: its start and what its calls showed so far.
#[derive(Debug)]
struct WindowCounters {
    /// Nanoseconds, or [`NOT_STARTED`].
    start: AtomicU64,
    samples: AtomicU32,
    overloads: AtomicU32,
    latency_sum: AtomicU64,
    max_in_flight: AtomicU32,
}

/// The baseline and its probe.
#[derive(Debug)]
struct ProbeState {
    /// Odd while a probe runs: the probe's number. Even otherwise.
    round: AtomicU32,
    /// Places in the current probe taken (may exceed `probe_samples`).
    claimed: AtomicU32,
    /// Probe calls whose latency is in `sum`, `fastest` and `slowest`.
    done: AtomicU32,
    sum: AtomicU64,
    fastest: AtomicU64,
    slowest: AtomicU64,
    /// The baseline in nanoseconds (0: not measured yet).
    baseline: AtomicU64,
    /// When the next probe starts (nanoseconds).
    next: AtomicU64,
}

#[derive(Debug)]
struct Counters {
    succeeded: AtomicU64,
    overloaded: AtomicU64,
    released: AtomicU64,
    rejected: AtomicU64,
}

/// What a limiter has counted, and where its limit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LimiterStats {
    /// The limit now.
    pub limit: u32,
    /// Calls in flight now.
    pub in_flight: u32,
    /// Calls recorded as successful.
    pub succeeded: u64,
    /// Calls recorded as overloaded.
    pub overloaded: u64,
    /// Permits dropped without an outcome.
    pub released: u64,
    /// Calls refused because the limit was reached.
    pub rejected: u64,
    /// The measured baseline latency, once a probe has finished.
    pub baseline: Option<Duration>,
    /// Whether a baseline probe is running.
    pub probing: bool,
}

/// How a call admitted by an [`AdaptiveLimiter`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Outcome {
    /// The dependency answered: its latency teaches the limiter.
    Success,
    /// A sign that the dependency is overloaded: a timeout, a 429 or 503, a
    /// refused connection.
    Overload,
}

impl Outcome {
    /// `success` or `overload`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Overload => "overload",
        }
    }
}

/// A call refused because the limit's worth of calls are in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LimitExceeded {
    /// The limit at the time.
    pub limit: u32,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "concurrency limit reached ({} calls in flight)",
            self.limit
        )
    }
}

impl core::error::Error for LimitExceeded {}

/// The window start before the first call ends: that call opens the first
/// window, so that a limiter's windows line up the same whatever the clock's
/// origin.
const NOT_STARTED: u64 = u64::MAX;

impl AdaptiveLimiter {
    loom_const_fn! {
        /// A limiter at `config`'s initial limit. Gradient and Vegas start with a
        /// baseline probe.
        pub fn new(config: LimitConfig) -> Self {
            Self {
                limit: AtomicU32::new(config.initial_limit()),
                in_flight: AtomicU32::new(0),
                estimate: AtomicU64::new((config.initial_limit() as f64).to_bits()),
                deciding: AtomicBool::new(false),
                window: WindowCounters {
                    start: AtomicU64::new(NOT_STARTED),
                    samples: AtomicU32::new(0),
                    overloads: AtomicU32::new(0),
                    latency_sum: AtomicU64::new(0),
                    max_in_flight: AtomicU32::new(0),
                },
                probe: ProbeState {
                    round: AtomicU32::new(if config.algorithm().needs_baseline() { 1 } else { 0 }),
                    claimed: AtomicU32::new(0),
                    done: AtomicU32::new(0),
                    sum: AtomicU64::new(0),
                    fastest: AtomicU64::new(u64::MAX),
                    slowest: AtomicU64::new(0),
                    baseline: AtomicU64::new(0),
                    next: AtomicU64::new(0),
                },
                counters: Counters {
                    succeeded: AtomicU64::new(0),
                    overloaded: AtomicU64::new(0),
                    released: AtomicU64::new(0),
                    rejected: AtomicU64::new(0),
                },
                config,
            }
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LimitConfig {
        &self.config
    }

    /// The limit calls are admitted under now (during a probe, `probe_limit`
    /// applies instead).
    pub fn limit(&self) -> u32 {
        self.limit.load(Ordering::Relaxed)
    }

    /// The calls in flight now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// The measured baseline latency, once a probe has finished.
    pub fn baseline(&self) -> Option<Duration> {
        match self.probe.baseline.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// Whether a baseline probe is running.
    pub fn is_probing(&self) -> bool {
        self.probe.round.load(Ordering::Acquire) % 2 == 1
    }

    /// A snapshot of the counters and of the limit.
    pub fn stats(&self) -> LimiterStats {
        LimiterStats {
            limit: self.limit(),
            in_flight: self.in_flight(),
            succeeded: self.counters.succeeded.load(Ordering::Relaxed),
            overloaded: self.counters.overloaded.load(Ordering::Relaxed),
            released: self.counters.released.load(Ordering::Relaxed),
            rejected: self.counters.rejected.load(Ordering::Relaxed),
            baseline: self.baseline(),
            probing: self.is_probing(),
        }
    }

    /// Admits a call if fewer calls than the limit are in flight; the permit
    /// records how it ended. Reads the clock once (the call's start).
    #[inline]
    pub fn try_acquire<K: Clock + ?Sized>(
        &self,
        clock: &K,
    ) -> Result<LimitPermit<'_>, LimitExceeded> {
        self.try_acquire_ticket(clock)
            .map(|ticket| LimitPermit::new(self, ticket))
    }

    /// [`try_acquire`](Self::try_acquire) for adapters that keep the limiter in
    /// an `Arc`: an owned [`LimitTicket`], to be given back through
    /// [`record`](Self::record) or [`release`](Self::release).
    pub fn try_acquire_ticket<K: Clock + ?Sized>(
        &self,
        clock: &K,
    ) -> Result<LimitTicket, LimitExceeded> {
        let round = self.probe.round.load(Ordering::Acquire);
        let probing = round % 2 == 1;
        let limit = if probing {
            self.config.probe_limit()
        } else {
            self.limit()
        };
        // A CAS loop, as in the bulkhead: the count never shows more than the
        // limit, even for an instant.
        let mut current = self.in_flight.load(Ordering::Relaxed);
        loop {
            if current >= limit {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                return Err(LimitExceeded { limit });
            }
            match self.in_flight.compare_exchange_weak(
                current,
                current + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        Ok(LimitTicket {
            start: clock.now(),
            in_flight: current + 1,
            round: if probing { round } else { 0 },
        })
    }

    /// Records how a ticket's call ended. Reads the clock once.
    pub fn record<K: Clock + ?Sized>(&self, ticket: LimitTicket, outcome: Outcome, clock: &K) {
        let now = clock.now();
        self.leave();
        let latency = now.as_nanos().saturating_sub(ticket.start.as_nanos());
        let overload = outcome == Outcome::Overload || self.too_slow(latency);
        let counter = if overload {
            &self.counters.overloaded
        } else {
            &self.counters.succeeded
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let round = self.probe.round.load(Ordering::Acquire);
        if round % 2 == 1 {
            // Only the probe's own calls count while it runs.
            if ticket.round == round {
                self.probe_sample(round, latency, now);
            }
            return;
        }
        // The first call after the end of a window closes it (and is the first
        // of the next one). A clock that went back before the window's start
        // closes it too.
        let start = self.window.start.load(Ordering::Acquire);
        if start == NOT_STARTED {
            // Another call may open it at the same moment: either start will do.
            let _ = self.window.start.compare_exchange(
                NOT_STARTED,
                now.as_nanos(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        } else if now.as_nanos().wrapping_sub(start) >= self.config.window_nanos() {
            self.close_window(now);
        }
        let window = &self.window;
        window.latency_sum.fetch_add(latency, Ordering::Relaxed);
        if overload {
            window.overloads.fetch_add(1, Ordering::Relaxed);
        }
        window
            .max_in_flight
            .fetch_max(ticket.in_flight, Ordering::Relaxed);
        window.samples.fetch_add(1, Ordering::AcqRel);
    }

    /// Gives back a ticket's place without an outcome (a cancelled call).
    pub fn release(&self, ticket: LimitTicket) {
        let LimitTicket { .. } = ticket;
        self.leave();
        self.counters.released.fetch_add(1, Ordering::Relaxed);
    }

    /// Back to the initial limit, with a new baseline probe for the
    /// latency-based algorithms. Calls in flight stay counted.
    pub fn reset(&self) {
        if !self.lock() {
            return;
        }
        let initial = self.config.initial_limit();
        self.estimate
            .store(f64::from(initial).to_bits(), Ordering::Relaxed);
        self.limit.store(initial, Ordering::Relaxed);
        self.clear_window();
        self.window.start.store(NOT_STARTED, Ordering::Release);
        if self.config.algorithm().needs_baseline() {
            self.probe.baseline.store(0, Ordering::Release);
            self.start_probe();
        }
        self.unlock();
    }

    #[inline]
    fn leave(&self) {
        let previous = self.in_flight.fetch_sub(1, Ordering::Release);
        debug_assert!(previous > 0, "a limiter place was given back twice");
    }

    fn too_slow(&self, latency: u64) -> bool {
        match self.config.algorithm() {
            Algorithm::Aimd(Aimd {
                timeout: Some(timeout),
                ..
            }) => latency > duration_nanos(*timeout),
            _ => false,
        }
    }

    fn probe_sample(&self, round: u32, latency: u64, now: Instant) {
        let wanted = self.config.probe_samples();
        let place = self.probe.claimed.fetch_add(1, Ordering::AcqRel) + 1;
        if place > wanted {
            return;
        }
        self.probe.sum.fetch_add(latency, Ordering::AcqRel);
        self.probe.fastest.fetch_min(latency, Ordering::AcqRel);
        self.probe.slowest.fetch_max(latency, Ordering::AcqRel);
        if self.probe.done.fetch_add(1, Ordering::AcqRel) + 1 < wanted {
            return;
        }
        // The last sample of the probe: this thread alone gets here for the
        // round, and window closes wait for the round to end, so it needs no lock.
        let mean = probe_mean(
            self.probe.sum.load(Ordering::Acquire),
            u64::from(wanted),
            self.probe.fastest.load(Ordering::Acquire),
            self.probe.slowest.load(Ordering::Acquire),
        );
        // Zero means "not measured": a probe of instant calls is 1 ns.
        self.probe.baseline.store(mean.max(1), Ordering::Release);
        self.probe.next.store(
            now.as_nanos()
                .saturating_add(self.config.probe_interval_nanos()),
            Ordering::Relaxed,
        );
        self.clear_window_at(now);
        // A reset may have started another round meanwhile: that one goes on.
        let _ = self.probe.round.compare_exchange(
            round,
            round + 1,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }

    fn close_window(&self, now: Instant) {
        if !self.lock() {
            // Another thread is deciding; this call stays in the window.
            return;
        }
        let window = &self.window;
        let start = window.start.load(Ordering::Acquire);
        // wrapping_sub: a start after `now` (the clock went back) is due too.
        if now.as_nanos().wrapping_sub(start) < self.config.window_nanos() || self.is_probing() {
            // Closed by another thread since this one looked.
            self.unlock();
            return;
        }
        window.start.store(now.as_nanos(), Ordering::Release);
        let samples = window.samples.swap(0, Ordering::AcqRel);
        let overloads = window.overloads.swap(0, Ordering::AcqRel);
        let latency_sum = window.latency_sum.swap(0, Ordering::AcqRel);
        let max_in_flight = window.max_in_flight.swap(0, Ordering::AcqRel);
        if samples >= self.config.min_samples() || (overloads > 0 && samples > 0) {
            let sample = Window {
                samples,
                overloads,
                mean_latency: Duration::from_nanos(latency_sum / u64::from(samples)),
                max_in_flight,
            };
            let estimate = f64::from_bits(self.estimate.load(Ordering::Relaxed));
            let next = self.config.next_limit(estimate, self.baseline(), &sample);
            self.estimate.store(next.to_bits(), Ordering::Relaxed);
            // At least 1, whatever the estimate: the limiter always admits a call.
            self.limit.store((next as u32).max(1), Ordering::Release);
        }
        if self.config.algorithm().needs_baseline()
            && now.as_nanos() >= self.probe.next.load(Ordering::Relaxed)
        {
            self.start_probe();
        }
        self.unlock();
    }

    /// Starts a probe (with the lock held).
    fn start_probe(&self) {
        self.probe.claimed.store(0, Ordering::Relaxed);
        self.probe.done.store(0, Ordering::Relaxed);
        self.probe.sum.store(0, Ordering::Relaxed);
        self.probe.fastest.store(u64::MAX, Ordering::Relaxed);
        self.probe.slowest.store(0, Ordering::Relaxed);
        let round = self.probe.round.load(Ordering::Acquire);
        // The next odd number: a new round, so tickets of an earlier probe do not count.
        let next = if round % 2 == 1 { round + 2 } else { round + 1 };
        self.probe.round.store(next, Ordering::Release);
    }

    fn clear_window(&self) {
        let window = &self.window;
        window.samples.store(0, Ordering::Relaxed);
        window.overloads.store(0, Ordering::Relaxed);
        window.latency_sum.store(0, Ordering::Relaxed);
        window.max_in_flight.store(0, Ordering::Relaxed);
    }

    fn clear_window_at(&self, now: Instant) {
        self.clear_window();
        self.window.start.store(now.as_nanos(), Ordering::Release);
    }

    fn lock(&self) -> bool {
        self.deciding
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    fn unlock(&self) {
        self.deciding.store(false, Ordering::Release);
    }
}

/// The mean latency of a probe's `count` calls (summing to `sum`), leaving out
/// the fastest when it is below a quarter of the others' mean and the slowest
/// when it is above four times it: one unusual answer cannot move the
/// baseline, and the ordinary spread of latencies (which trimming both ends
/// always would bias low, latencies being skewed to the slow side) is kept.
fn probe_mean(sum: u64, count: u64, fastest: u64, slowest: u64) -> u64 {
    let (mut sum, mut count) = (sum, count);
    if count >= 3
        && fastest.saturating_mul(4).saturating_mul(count - 1) < sum.saturating_sub(fastest)
    {
        sum -= fastest;
        count -= 1;
    }
    if count >= 3
        && slowest.saturating_mul(count - 1) > sum.saturating_sub(slowest).saturating_mul(4)
    {
        sum = sum.saturating_sub(slowest);
        count -= 1;
    }
    sum / count
}

#[cfg(all(test, not(loom)))]
mod tests;
