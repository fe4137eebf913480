//! Hedged requests: when a call is slower than most, send another attempt and
//! take the first answer.
//!
//! A hedge trades a little extra load for a shorter tail ("The Tail at Scale",
//! Dean and Barroso): a call still unanswered after the delay gets a second
//! attempt, and whichever answers first is taken; the other is cancelled. The
//! delay is fixed, or a percentile of recent latencies (the 95th: only the
//! slowest 5 % of calls are hedged). Extra attempts can be bounded across
//! calls by the retry budget or quota the retries use, so that in a brownout,
//! when every call is slow, hedges cannot multiply the load.
//!
//! # How to drive it
//!
//! The [`Hedge`] is shared by every call to one dependency; each call keeps a
//! [`HedgeCall`]. The adapter owns the attempts (futures, tasks) and the
//! sleeping:
//!
//! 1. [`Hedge::start`] begins a call: its first attempt is sent at once.
//! 2. While no attempt has answered, [`Hedge::poll`] says whether to send the
//!    next attempt now ([`Next::Send`]), when to ask again ([`Next::Wait`]), or
//!    that no more attempts will be sent by time ([`Next::Idle`]).
//! 3. An attempt that failed goes to [`Hedge::on_failure`]: a failure worth
//!    another attempt sends the next one at once ([`Failed::Send`]), as
//!    gRPC's and Polly's hedging do; otherwise the call waits for the attempts
//!    still in flight ([`Failed::Continue`]) or ends with this error
//!    ([`Failed::GiveUp`]), cancelling the others.
//! 4. The first answer goes to [`Hedge::on_success`]: the call ends with it,
//!    and the attempts still in flight are cancelled (their futures dropped).
//!    A call the caller abandons goes to [`Hedge::on_cancel`].
//!
//! # Rules
//!
//! - `max_attempts` counts the first attempt: with 2, one hedge at most.
//! - A hedge sent by time is due `delay` after the previous attempt was sent;
//!   the delay is read once, at [`start`](Hedge::start). With `at_once` above
//!   1, that many hedges go together each time the delay passes.
//! - A hedge sent by time costs the allowance: a
//!   [`RetryBudget`](crate::retry::RetryBudget) one token, and only while more
//!   than half remain ([`try_take`](crate::retry::RetryBudget::try_take)); a
//!   [`RetryQuota`](crate::retry::RetryQuota) what a retry after a timeout
//!   costs. Refused, the call sends
//!   no more hedges by time.
//! - An attempt sent after a failure is a retry: the failure takes its budget
//!   token (whether or not an attempt follows, as in gRPC), and a quota is
//!   charged the failure's kind.
//! - A call's success pays back what a first-attempt success does (a budget
//!   `token_ratio`, a quota its success reward), never a hedge's cost: in a
//!   brownout, hedges settle at `token_ratio` per success (10 % with 0.1).
//! - With a percentile delay, each success records the call's latency, from
//!   the start of its first attempt to the answer taken. That is the first
//!   attempt's latency when it won, and a lower bound of it when a hedge won,
//!   so the slow tail stays in the histogram and the delay does not shrink by
//!   its own success. Until `min_samples` latencies are known, the delay is
//!   `max`.

mod config;

use core::time::Duration;

pub use config::{HedgeConfig, HedgeDelay};

use crate::error::ConfigError;
use crate::histogram::RollingHistogram;
use crate::retry::{Allowance, ErrorKind, Failure, GiveUp, RetryState};
use crate::sync::{AtomicU64, Ordering};
use crate::time::{Clock, Instant, duration_nanos};

/// The hedging decision for every call to one dependency: the configuration,
/// the recent latencies (for a percentile delay) and the counters.
///
/// `Sync`: share it by reference (a `static`, an `Arc`). Latencies are counted
/// to the microsecond in `N` buckets (the default 192 tell apart values up to
/// 67 s).
///
/// ```
/// use core::time::Duration;
/// use seawall_core::hedge::{Failed, Hedge, HedgeConfig, HedgeDelay, Next};
/// use seawall_core::retry::Failure;
/// use seawall_core::time::ManualClock;
///
/// let config = HedgeConfig {
///     max_attempts: 3,
///     delay: HedgeDelay::fixed(Duration::from_millis(20)),
///     ..HedgeConfig::DEFAULT
/// };
/// let hedge = Hedge::<64>::new(config).unwrap();
/// let clock = ManualClock::new();
///
/// let mut call = hedge.start(&clock); // attempt 1 is sent
/// assert_eq!(hedge.poll(&mut call, &clock, None), Next::Wait(Duration::from_millis(20)));
/// clock.advance(Duration::from_millis(20));
/// assert_eq!(hedge.poll(&mut call, &clock, None), Next::Send { attempt: 2 });
/// // Attempt 1 fails: attempt 3 is sent at once.
/// assert_eq!(hedge.on_failure(&mut call, Failure::retryable(), &clock, None), Failed::Send { attempt: 3 });
/// assert_eq!(hedge.poll(&mut call, &clock, None), Next::Idle, "no attempt left");
/// clock.advance(Duration::from_millis(5));
/// let answer = hedge.on_success(&mut call, 2, &clock, None);
/// assert!(answer.hedged);
/// assert_eq!(answer.cancelled, 1, "attempt 3 is cancelled");
/// assert_eq!(hedge.stats().hedges, 2);
/// ```
#[derive(Debug)]
pub struct Hedge<const N: usize = 192> {
    config: HedgeConfig,
    latencies: RollingHistogram<N>,
    counters: Counters,
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    hedges: AtomicU64,
    won: AtomicU64,
    refused: AtomicU64,
    cancelled: AtomicU64,
}

/// What a [`Hedge`] has done since it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HedgeStats {
    /// Calls started.
    pub calls: u64,
    /// Attempts sent beyond each call's first: hedges sent by time and
    /// attempts sent after a failure.
    pub hedges: u64,
    /// Calls answered by an attempt other than their first.
    pub won: u64,
    /// Hedges due by time that the budget or quota refused.
    pub refused: u64,
    /// Attempts cancelled in flight: another answered first, or the call
    /// ended or was abandoned.
    pub cancelled: u64,
}

/// Where one hedged call stands. Small and `Copy`; kept by the caller, one per
/// call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HedgeCall {
    started: Instant,
    next_at: Instant,
    /// The delay between attempts, in nanoseconds, read at the start.
    delay: u64,
    sent: u32,
    in_flight: u32,
    /// Hedges sent since the delay last passed (up to `at_once`).
    round: u32,
    /// Whether hedges may still be sent by time (not refused by the budget).
    timed: bool,
    ended: bool,
}

impl HedgeCall {
    /// Attempts sent so far, the first included.
    pub const fn sent(&self) -> u32 {
        self.sent
    }

    /// Attempts sent and not yet ended.
    pub const fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// The delay between attempts of this call.
    pub const fn delay(&self) -> Duration {
        Duration::from_nanos(self.delay)
    }

    /// When the first attempt was sent.
    pub const fn started(&self) -> Instant {
        self.started
    }

    /// Whether the call has ended (answered, given up or abandoned).
    pub const fn is_ended(&self) -> bool {
        self.ended
    }
}

/// What [`Hedge::poll`] says to do while no attempt has answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Next {
    /// Send attempt number `attempt` (2 for the first hedge) now.
    Send {
        /// The attempt's number, the first call being 1.
        attempt: u32,
    },
    /// Nothing now; ask again after this long (unless an attempt ends first).
    Wait(Duration),
    /// No more attempts will be sent by time: wait for those in flight.
    Idle,
}

/// What follows a failed attempt ([`Hedge::on_failure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failed {
    /// Send attempt number `attempt` now, in place of the failed one.
    Send {
        /// The attempt's number.
        attempt: u32,
    },
    /// Wait for the attempts still in flight (and [`poll`](Hedge::poll) for
    /// hedges due by time).
    Continue,
    /// End the call with this failure; the attempts still in flight, if any,
    /// are cancelled.
    GiveUp(GiveUp),
}

/// How a call ended with an answer ([`Hedge::on_success`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Answered {
    /// Whether an attempt other than the first answered.
    pub hedged: bool,
    /// Attempts still in flight, now cancelled.
    pub cancelled: u32,
}

impl<const N: usize> Hedge<N> {
    /// A hedge set by `config`, knowing no latency yet.
    #[cfg(not(loom))]
    pub const fn new(config: HedgeConfig) -> Result<Self, ConfigError> {
        if let Err(error) = config.validate() {
            return Err(error);
        }
        let window = match config.delay {
            HedgeDelay::Percentile { window, .. } => window,
            // Unused: a fixed delay records nothing.
            HedgeDelay::Fixed { .. } => Duration::from_secs(1),
        };
        match RollingHistogram::new(Duration::from_micros(1), window) {
            Ok(latencies) => Ok(Self {
                config,
                latencies,
                counters: Counters {
                    calls: AtomicU64::new(0),
                    hedges: AtomicU64::new(0),
                    won: AtomicU64::new(0),
                    refused: AtomicU64::new(0),
                    cancelled: AtomicU64::new(0),
                },
            }),
            Err(error) => Err(error),
        }
    }

    /// A hedge set by `config`, knowing no latency yet.
    #[cfg(loom)]
    pub fn new(config: HedgeConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let window = match config.delay {
            HedgeDelay::Percentile { window, .. } => window,
            HedgeDelay::Fixed { .. } => Duration::from_secs(1),
        };
        let latencies = RollingHistogram::new(Duration::from_micros(1), window)?;
        Ok(Self {
            config,
            latencies,
            counters: Counters::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HedgeConfig {
        &self.config
    }

    /// The delay between the attempts of a call starting now.
    pub fn delay<K: Clock + ?Sized>(&self, clock: &K) -> Duration {
        match self.config.delay {
            HedgeDelay::Fixed { delay } => delay,
            HedgeDelay::Percentile {
                percentile,
                min,
                max,
                min_samples,
                ..
            } => {
                if self.latencies.count(clock) < u64::from(min_samples) {
                    return max;
                }
                match self.latencies.percentile(clock, percentile) {
                    Some(latency) => latency.clamp(min, max),
                    None => max,
                }
            }
        }
    }

    /// The latencies known now (always 0 with a fixed delay).
    pub fn samples<K: Clock + ?Sized>(&self, clock: &K) -> u64 {
        self.latencies.count(clock)
    }

    /// Begins a call: its first attempt is sent now.
    pub fn start<K: Clock + ?Sized>(&self, clock: &K) -> HedgeCall {
        let delay = duration_nanos(self.delay(clock));
        let now = clock.now();
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        HedgeCall {
            started: now,
            next_at: Instant::from_nanos(now.as_nanos().saturating_add(delay)),
            delay,
            sent: 1,
            in_flight: 1,
            round: 0,
            timed: true,
            ended: false,
        }
    }

    /// Whether to send the next attempt now, while no attempt has answered.
    /// Sending by time costs the `allowance` (see the [module
    /// documentation](self)); on [`Next::Send`], `call` counts the attempt.
    pub fn poll<'a, K: Clock + ?Sized>(
        &self,
        call: &mut HedgeCall,
        clock: &K,
        allowance: impl Into<Allowance<'a>>,
    ) -> Next {
        if call.ended || !call.timed || call.sent >= self.config.max_attempts {
            return Next::Idle;
        }
        let now = clock.now();
        if let Some(wait) = call.next_at.checked_duration_since(now)
            && !wait.is_zero()
        {
            return Next::Wait(wait);
        }
        let paid = match allowance.into() {
            Allowance::None => true,
            Allowance::Budget(budget) => budget.try_take(),
            Allowance::Quota(quota) => quota.try_acquire(ErrorKind::Timeout).is_some(),
        };
        if !paid {
            call.timed = false;
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            return Next::Idle;
        }
        let attempt = self.send(call, now);
        // The round goes on at the same due time until `at_once` are sent.
        call.round += 1;
        if call.round < self.config.at_once {
            call.next_at = now;
        } else {
            call.round = 0;
        }
        Next::Send { attempt }
    }

    /// Decides what follows a failed attempt (the rules are in the [module
    /// documentation](self)). On [`Failed::Send`], `call` counts the new
    /// attempt; on [`Failed::GiveUp`], the call has ended.
    pub fn on_failure<'a, K: Clock + ?Sized>(
        &self,
        call: &mut HedgeCall,
        failure: Failure,
        clock: &K,
        allowance: impl Into<Allowance<'a>>,
    ) -> Failed {
        if call.ended {
            return Failed::Continue;
        }
        call.in_flight = call.in_flight.saturating_sub(1);
        if !failure.retryable {
            self.end(call);
            return Failed::GiveUp(GiveUp::NotRetryable);
        }
        let allowance = allowance.into();
        let mut allowed = match allowance {
            Allowance::Budget(budget) => budget.record_failure(),
            Allowance::None | Allowance::Quota(_) => true,
        };
        let left = call.sent < self.config.max_attempts;
        if left
            && allowed
            && let Allowance::Quota(quota) = allowance
        {
            allowed = quota.try_acquire(failure.kind).is_some();
        }
        if left && allowed {
            // A new round of hedges starts a delay after this attempt.
            call.round = 0;
            return Failed::Send {
                attempt: self.send(call, clock.now()),
            };
        }
        if call.in_flight > 0 {
            return Failed::Continue;
        }
        let reason = if left {
            GiveUp::BudgetEmpty
        } else {
            GiveUp::AttemptsExhausted
        };
        self.end(call);
        Failed::GiveUp(reason)
    }

    /// Ends the call with the answer of attempt number `attempt`: the others
    /// in flight are cancelled, the allowance paid back, and (with a
    /// percentile delay) the call's latency recorded.
    pub fn on_success<'a, K: Clock + ?Sized>(
        &self,
        call: &mut HedgeCall,
        attempt: u32,
        clock: &K,
        allowance: impl Into<Allowance<'a>>,
    ) -> Answered {
        if call.ended {
            return Answered {
                hedged: false,
                cancelled: 0,
            };
        }
        call.in_flight = call.in_flight.saturating_sub(1);
        let cancelled = call.in_flight;
        self.end(call);
        if matches!(self.config.delay, HedgeDelay::Percentile { .. }) {
            let latency = clock.now().saturating_duration_since(call.started);
            self.latencies.record(clock, latency);
        }
        allowance.into().record_success(&RetryState::new());
        let hedged = attempt > 1;
        if hedged {
            self.counters.won.fetch_add(1, Ordering::Relaxed);
        }
        Answered { hedged, cancelled }
    }

    /// The caller abandoned the call: the attempts in flight are cancelled.
    /// Answers how many were.
    pub fn on_cancel(&self, call: &mut HedgeCall) -> u32 {
        if call.ended {
            return 0;
        }
        let cancelled = call.in_flight;
        self.end(call);
        cancelled
    }

    /// The counters.
    pub fn stats(&self) -> HedgeStats {
        let c = &self.counters;
        HedgeStats {
            calls: c.calls.load(Ordering::Relaxed),
            hedges: c.hedges.load(Ordering::Relaxed),
            won: c.won.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            cancelled: c.cancelled.load(Ordering::Relaxed),
        }
    }

    /// Forgets every latency (the counters stay).
    pub fn reset(&self) {
        self.latencies.clear();
    }

    fn send(&self, call: &mut HedgeCall, now: Instant) -> u32 {
        call.sent += 1;
        call.in_flight += 1;
        call.next_at = Instant::from_nanos(now.as_nanos().saturating_add(call.delay));
        self.counters.hedges.fetch_add(1, Ordering::Relaxed);
        call.sent
    }

    /// Ends `call`, cancelling what is in flight.
    fn end(&self, call: &mut HedgeCall) {
        call.ended = true;
        if call.in_flight > 0 {
            self.counters
                .cancelled
                .fetch_add(u64::from(call.in_flight), Ordering::Relaxed);
            call.in_flight = 0;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
