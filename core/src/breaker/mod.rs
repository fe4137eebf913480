//! The circuit breaker: a state machine over one atomic word.
//!
//! # How to drive it
//!
//! 1. Before a call, [`CircuitBreaker::try_acquire`] returns a [`Permit`] or a
//!    [`Rejection`] that says how long until the next try.
//! 2. After the call, the permit records the outcome ([`Permit::success`],
//!    [`Permit::failure`], or [`Permit::record`] with a latency for slow-call
//!    detection). Dropping it instead releases it: a cancelled call frees its
//!    half-open probe slot and counts as neither.
//! 3. Every method that changes the state returns the [`Transition`] it caused:
//!    that return value is the event stream adapters turn into logs and metrics.
//!
//! Every method takes a `&impl Clock` and reads it only when the decision needs
//! the time: acquiring in Closed, and recording in Closed with the consecutive
//! rule, read no clock at all.
//!
//! # Rules
//!
//! - **Closed → Open** on `failure_threshold` consecutive failures
//!   ([`CircuitBreaker::new`]), or, with a sliding window
//!   ([`CircuitBreaker::with_window`]), when the failure rate or the slow-call
//!   rate reaches its threshold once `minimum_calls` are in the window.
//! - **Open** lasts `open_duration`, times `open_duration_multiplier` for each
//!   further consecutive trip, up to `max_open_duration`.
//! - **Open → HalfOpen**: the first call after the open duration becomes a probe.
//!   At most `half_open_max_calls` probes run at once.
//! - **HalfOpen → Closed** after `success_threshold` successful probes;
//!   **HalfOpen → Open** on a failed probe, or when every probe slot is taken
//!   and none was admitted or answered within `max_wait_in_half_open`.
//! - Manual control: [`force_open`](CircuitBreaker::force_open),
//!   [`disable`](CircuitBreaker::disable) (admit everything, count, never trip),
//!   [`reset`](CircuitBreaker::reset) (Closed, counts cleared).
//! - Outcomes of permits issued before the latest transition (a generation
//!   ago) are counted in the statistics but change no state.
//!
//! # Concurrency
//!
//! The state, the generation, the consecutive-failure count and the half-open
//! probe counts share one `u64`, so each transition is one compare-and-swap and
//! exactly one thread wins it. A call in Closed costs one atomic load to acquire
//! and one `fetch_add` to record a success. No lock is ever taken.

mod classify;
mod config;
mod permit;
mod state;
mod window;

use core::ops::Deref;
use core::time::Duration;

pub use classify::{Classify, ErrorsAreFailures, FailureWhen};
use config::MAX_TRIPS;
pub use config::{BreakerConfig, BreakerConfigBuilder, MAX_FAILURE_THRESHOLD, MAX_HALF_OPEN_CALLS};
use permit::{Kind, Raw};
pub use permit::{Outcome, Permit, RejectReason, Rejection, Ticket};
use state::{Pending, Tag, Word};
pub use state::{State, Transition};
pub use window::{
    AnyWindow, Bucket, CountWindow, MAX_WINDOW_LEN, NoWindow, Slot, TimeWindow, Window,
    WindowTotals,
};

use crate::stats::{Counters, Stats};
use crate::sync::{AtomicU64, Ordering};
use crate::time::{Clock, Instant, duration_nanos};

/// A circuit breaker.
///
/// `C` is how the breaker reaches its [`BreakerConfig`]: a `&'static` reference
/// (a configuration in flash, the default) or an `Arc` in adapters. `W` is its
/// sliding window: [`NoWindow`] for the consecutive-failure rule, or a
/// [`CountWindow`], [`TimeWindow`] or [`AnyWindow`] for the rate rule.
///
/// With the consecutive rule the breaker is 64 bytes: the state word, the
/// Open deadline, five counters and the configuration reference.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::breaker::{BreakerConfig, CircuitBreaker, CountWindow, Slot, State};
/// use seawall_core::time::ManualClock;
///
/// // The rate rule: trip when half of the last 10 calls failed.
/// let config = BreakerConfig::builder()
///     .failure_rate_threshold(0.5)
///     .minimum_calls(10)
///     .build()
///     .unwrap();
/// let breaker = CircuitBreaker::with_window(&config, CountWindow::<[Slot; 10]>::new());
/// let clock = ManualClock::new();
/// for i in 0..10 {
///     let permit = breaker.try_acquire(&clock).unwrap();
///     if i % 2 == 0 { permit.failure(&clock); } else { permit.success(&clock); }
/// }
/// assert_eq!(breaker.state(), State::Open);
/// assert_eq!(breaker.stats().failed, 5);
/// ```
pub struct CircuitBreaker<C = &'static BreakerConfig, W = NoWindow>
where
    C: Deref<Target = BreakerConfig>,
    W: Window,
{
    config: C,
    /// The packed [`Word`].
    state: AtomicU64,
    /// Open: the deadline (nanoseconds). HalfOpen, with `max_wait_in_half_open`:
    /// the last time a probe was admitted or answered. Written only while the
    /// state word says which of the two it is (see `trip`).
    instant: AtomicU64,
    counters: Counters,
    window: W,
}

impl<C: Deref<Target = BreakerConfig>> CircuitBreaker<C, NoWindow> {
    loom_const_fn! {
        /// A breaker that trips on `failure_threshold` consecutive failures.
        pub fn new(config: C) -> Self {
            Self::with_window(config, NoWindow)
        }
    }
}

impl<C: Deref<Target = BreakerConfig>, W: Window> CircuitBreaker<C, W> {
    loom_const_fn! {
        /// A breaker whose trip rule is decided by `window`: the rate rule for a
        /// count- or time-based window, the consecutive rule for [`NoWindow`].
        pub fn with_window(config: C, window: W) -> Self {
            Self {
                config,
                state: AtomicU64::new(Word::closed(0, 0).0),
                instant: AtomicU64::new(0),
                counters: Counters::new(),
                window,
            }
        }
    }

    /// A breaker that starts where another left off: for adapters that restore
    /// a state kept elsewhere (the last state a fleet shared through Redis).
    /// It starts with zeroed counters and generation; consecutive failures are
    /// kept below the threshold and trips within 1 to 127.
    ///
    /// ```
    /// use core::time::Duration;
    /// use seawall_core::breaker::{BreakerConfig, CircuitBreaker, NoWindow, Resume, State};
    /// use seawall_core::time::Instant;
    ///
    /// let config = BreakerConfig::default();
    /// let until = Instant::from_secs(30);
    /// let breaker = CircuitBreaker::resume(&config, NoWindow, Resume::Open { trips: 2, until });
    /// assert_eq!(breaker.state(), State::Open);
    /// let rejection = breaker.try_acquire(&Instant::from_secs(10)).unwrap_err();
    /// assert_eq!(rejection.retry_after(), Some(Duration::from_secs(20)));
    /// ```
    pub fn resume(config: C, window: W, from: Resume) -> Self {
        let breaker = Self::with_window(config, window);
        let trips = |trips: u32| trips.clamp(1, MAX_TRIPS);
        let (word, instant) = match from {
            Resume::Closed {
                consecutive_failures,
            } => {
                let below = breaker.config.failure_threshold() - 1;
                (Word::closed(0, consecutive_failures.min(below)), 0)
            }
            Resume::Open { trips: t, until } => (Word::open(0, trips(t)), until.as_nanos()),
            Resume::HalfOpen { trips: t } => (Word::half_open(0, trips(t), 0, 0), 0),
            Resume::ForcedOpen => (Word::forced_open(0), 0),
            Resume::Disabled => (Word::disabled(0), 0),
        };
        breaker.state.store(word.0, Ordering::Release);
        breaker.instant.store(instant, Ordering::Release);
        breaker
    }

    /// The configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The sliding window.
    pub fn window(&self) -> &W {
        &self.window
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.load().state()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let word = self.load();
        self.counters
            .snapshot(word.state(), u64::from(word.generation()))
    }

    /// The outcomes in the sliding window now (all zero without a window).
    pub fn window_totals<K: Clock + ?Sized>(&self, clock: &K) -> WindowTotals {
        self.window.totals(clock)
    }

    /// Asks to make a call: a [`Permit`], or a [`Rejection`] with the time until
    /// the next try.
    #[inline]
    pub fn try_acquire<K: Clock + ?Sized>(&self, clock: &K) -> Result<Permit<'_, C, W>, Rejection> {
        match self.acquire_raw(clock) {
            Ok(raw) => Ok(Permit { breaker: self, raw }),
            Err(rejection) => Err(rejection),
        }
    }

    /// [`try_acquire`](Self::try_acquire) for adapters that need an owned
    /// [`Ticket`] instead of a borrowing permit.
    #[inline]
    pub fn try_acquire_ticket<K: Clock + ?Sized>(&self, clock: &K) -> Result<Ticket, Rejection> {
        match self.acquire_raw(clock) {
            Ok(raw) => Ok(Ticket { raw }),
            Err(rejection) => Err(rejection),
        }
    }

    /// Records the outcome of a ticket's call (see [`Permit::record`]).
    pub fn record<K: Clock + ?Sized>(
        &self,
        ticket: Ticket,
        outcome: Outcome,
        latency: Option<Duration>,
        clock: &K,
    ) -> Option<Transition> {
        self.record_raw(ticket.raw, outcome, latency, clock)
    }

    /// Releases a ticket without an outcome (see [`Permit::release`]).
    pub fn release(&self, ticket: Ticket) {
        self.release_raw(ticket.raw)
    }

    /// Wraps a ticket of this breaker back into a permit.
    pub fn permit(&self, ticket: Ticket) -> Permit<'_, C, W> {
        Permit {
            breaker: self,
            raw: ticket.raw,
        }
    }

    /// Opens the breaker until [`reset`](Self::reset) or [`disable`](Self::disable).
    pub fn force_open(&self) -> Option<Transition> {
        self.manual(Pending::ForceOpen)
    }

    /// Admits every call and counts it, without ever tripping, until
    /// [`reset`](Self::reset) or [`force_open`](Self::force_open).
    pub fn disable(&self) -> Option<Transition> {
        self.manual(Pending::Disable)
    }

    /// Closes the breaker and clears its consecutive failures, its window and
    /// the growth of its open duration. The statistics are kept.
    pub fn reset(&self) -> Option<Transition> {
        self.manual(Pending::Reset)
    }

    #[inline]
    fn load(&self) -> Word {
        Word(self.state.load(Ordering::Acquire))
    }

    #[inline]
    fn cas(&self, current: Word, next: Word) -> Result<(), Word> {
        match self
            .state
            .compare_exchange(current.0, next.0, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(actual) => Err(Word(actual)),
        }
    }

    // Always inlined, as is `record_raw`: out of line, the permit goes through
    // memory and back, which tripled an adapter's Closed call (BENCHMARKS.md).
    #[inline(always)]
    fn acquire_raw<K: Clock + ?Sized>(&self, clock: &K) -> Result<Raw, Rejection> {
        let word = self.load();
        match word.tag() {
            Tag::Closed => Ok(raw(word.generation(), Kind::Closed, None)),
            Tag::Open => self.acquire_open(word, clock),
            _ => self.acquire_slow(word, clock),
        }
    }

    /// The Open state: reject until the deadline, then become HalfOpen.
    #[inline]
    fn acquire_open<K: Clock + ?Sized>(&self, word: Word, clock: &K) -> Result<Raw, Rejection> {
        let now = clock.now().as_nanos();
        let deadline = self.instant.load(Ordering::Acquire);
        let remaining = deadline.saturating_sub(now);
        if remaining == 0 || remaining > self.config.longest_open_nanos() {
            return self.acquire_slow(word, &Instant::from_nanos(now));
        }
        Counters::count(&self.counters.rejected);
        Err(Rejection::packed(RejectReason::Open, Some(remaining), None))
    }

    #[inline(never)]
    fn acquire_slow<K: Clock + ?Sized>(&self, mut word: Word, clock: &K) -> Result<Raw, Rejection> {
        let config = &*self.config;
        let max_wait = config.max_wait_nanos();
        let mut now = None;
        let mut now = || *now.get_or_insert_with(|| clock.now().as_nanos());
        loop {
            match word.tag() {
                Tag::Closed => return Ok(raw(word.generation(), Kind::Closed, None)),
                Tag::Disabled => return Ok(raw(word.generation(), Kind::Disabled, None)),
                Tag::ForcedOpen => return Err(self.reject(RejectReason::ForcedOpen, None, None)),
                Tag::Opening => {
                    // The deadline is being written; it will be about this far.
                    let after = config.open_nanos_after(word.trips());
                    return Err(self.reject(RejectReason::Open, Some(after), None));
                }
                Tag::Open => {
                    let now = now();
                    let deadline = self.instant.load(Ordering::Acquire);
                    if now < deadline {
                        let mut remaining = deadline - now;
                        if remaining > config.longest_open_nanos() {
                            // The clock went backwards past anything this breaker
                            // could have set: restart the open duration from now
                            // rather than stay open for as long as the clock jumped.
                            remaining = config.open_nanos_after(word.trips());
                            let _ = self.instant.compare_exchange(
                                deadline,
                                now.saturating_add(remaining),
                                Ordering::AcqRel,
                                Ordering::Acquire,
                            );
                        }
                        return Err(self.reject(RejectReason::Open, Some(remaining), None));
                    }
                    if max_wait != 0 {
                        // HalfOpen's activity clock starts now. Writing it before the
                        // CAS is safe: `now` is past the deadline, so Open readers
                        // still see an expired deadline.
                        self.instant.fetch_max(now, Ordering::AcqRel);
                    }
                    let next =
                        Word::half_open(word.generation().wrapping_add(1), word.trips(), 1, 0);
                    match self.cas(word, next) {
                        Ok(()) => {
                            let transition = Transition {
                                from: State::Open,
                                to: State::HalfOpen,
                            };
                            return Ok(raw(next.generation(), Kind::Probe, Some(transition)));
                        }
                        Err(actual) => word = actual,
                    }
                }
                Tag::HalfOpen => {
                    if word.inflight() < config.half_open_max_calls() {
                        if max_wait != 0 {
                            self.instant.fetch_max(now(), Ordering::AcqRel);
                        }
                        let next = Word::half_open(
                            word.generation(),
                            word.trips(),
                            word.inflight() + 1,
                            word.successes(),
                        );
                        match self.cas(word, next) {
                            Ok(()) => return Ok(raw(word.generation(), Kind::Probe, None)),
                            Err(actual) => word = actual,
                        }
                        continue;
                    }
                    if max_wait != 0 {
                        let now = now();
                        let last = self.instant.load(Ordering::Acquire);
                        if now.saturating_sub(last) >= max_wait {
                            // Every slot is held by probes that do not answer.
                            let trips = next_trips(word.trips());
                            match self.trip(word, trips, &Instant::from_nanos(now)) {
                                Ok(transition) => {
                                    let after = config.open_nanos_after(trips);
                                    return Err(self.reject(
                                        RejectReason::Open,
                                        Some(after),
                                        transition,
                                    ));
                                }
                                Err(actual) => {
                                    word = actual;
                                    continue;
                                }
                            }
                        }
                    }
                    return Err(self.reject(RejectReason::HalfOpenFull, None, None));
                }
            }
        }
    }

    fn reject(
        &self,
        reason: RejectReason,
        retry_after: Option<u64>,
        transition: Option<Transition>,
    ) -> Rejection {
        Counters::count(&self.counters.rejected);
        Rejection::packed(reason, retry_after, transition)
    }

    #[inline(always)]
    pub(crate) fn record_raw<K: Clock + ?Sized>(
        &self,
        raw: Raw,
        outcome: Outcome,
        latency: Option<Duration>,
        clock: &K,
    ) -> Option<Transition> {
        let failed = outcome == Outcome::Failure;
        let slow = match latency {
            Some(latency) => duration_nanos(latency) > self.config.slow_call_nanos(),
            None => false,
        };
        // The state first, the counters after: the state's loads then need not
        // wait for a locked add to complete.
        let transition = match raw.kind() {
            Kind::Closed => self.record_closed(raw.generation(), failed, slow, clock),
            Kind::Probe => self.record_probe(raw.generation(), failed, clock),
            Kind::Disabled => None,
        };
        Counters::count(if failed {
            &self.counters.failed
        } else {
            &self.counters.successful
        });
        if slow {
            Counters::count(&self.counters.slow);
        }
        transition
    }

    #[inline(always)]
    fn record_closed<K: Clock + ?Sized>(
        &self,
        generation: u32,
        failed: bool,
        slow: bool,
        clock: &K,
    ) -> Option<Transition> {
        if self.window.is_active() {
            return self.record_closed_window(generation, failed, slow, clock);
        }
        let mut word = self.load();
        if !failed {
            // A success ends a run of failures; in the common case there is none
            // and nothing is written.
            while word.tag() == Tag::Closed
                && word.generation() == generation
                && word.failures() > 0
            {
                match self.cas(word, Word::closed(generation, 0)) {
                    Ok(()) => break,
                    Err(actual) => word = actual,
                }
            }
            return None;
        }
        self.record_closed_failure(word, generation, clock)
    }

    /// The rate rule: the outcome goes into the window, which may trip.
    #[inline(never)]
    fn record_closed_window<K: Clock + ?Sized>(
        &self,
        generation: u32,
        failed: bool,
        slow: bool,
        clock: &K,
    ) -> Option<Transition> {
        let mut word = self.load();
        let current = |word: Word| word.tag() == Tag::Closed && word.generation() == generation;
        if !current(word) {
            return None;
        }
        let totals = self.window.record(failed, slow, clock);
        let minimum = self.window.minimum_calls(self.config.minimum_calls());
        if !self
            .config
            .rates_trip(totals.calls, totals.failed, totals.slow, minimum)
        {
            return None;
        }
        while current(word) {
            match self.trip(word, 1, clock) {
                Ok(transition) => return transition,
                Err(actual) => word = actual,
            }
        }
        None
    }

    #[inline(never)]
    fn record_closed_failure<K: Clock + ?Sized>(
        &self,
        mut word: Word,
        generation: u32,
        clock: &K,
    ) -> Option<Transition> {
        while word.tag() == Tag::Closed && word.generation() == generation {
            let failures = word.failures() + 1;
            let result = if failures >= self.config.failure_threshold() {
                match self.trip(word, 1, clock) {
                    Ok(transition) => return transition,
                    Err(actual) => Err(actual),
                }
            } else {
                self.cas(word, Word::closed(generation, failures))
            };
            match result {
                Ok(()) => return None,
                Err(actual) => word = actual,
            }
        }
        None
    }

    #[inline(never)]
    fn record_probe<K: Clock + ?Sized>(
        &self,
        generation: u32,
        failed: bool,
        clock: &K,
    ) -> Option<Transition> {
        let mut word = self.load();
        let max_wait = self.config.max_wait_nanos() != 0;
        while word.tag() == Tag::HalfOpen && word.generation() == generation {
            if failed {
                match self.trip(word, next_trips(word.trips()), clock) {
                    Ok(transition) => return transition,
                    Err(actual) => {
                        word = actual;
                        continue;
                    }
                }
            }
            let successes = word.successes() + 1;
            let closes = successes >= self.config.success_threshold();
            let next = if closes {
                Word::closed(generation.wrapping_add(1), 0)
            } else {
                Word::half_open(
                    generation,
                    word.trips(),
                    word.inflight().saturating_sub(1),
                    successes,
                )
            };
            match self.cas(word, next) {
                Ok(()) if closes => {
                    return Some(Transition {
                        from: State::HalfOpen,
                        to: State::Closed,
                    });
                }
                Ok(()) => {
                    if max_wait {
                        self.instant
                            .fetch_max(clock.now().as_nanos(), Ordering::AcqRel);
                    }
                    return None;
                }
                Err(actual) => word = actual,
            }
        }
        None
    }

    pub(crate) fn release_raw(&self, raw: Raw) {
        Counters::count(&self.counters.released);
        if raw.kind() != Kind::Probe {
            return;
        }
        let mut word = self.load();
        while word.tag() == Tag::HalfOpen
            && word.generation() == raw.generation()
            && word.inflight() > 0
        {
            let next = Word::half_open(
                word.generation(),
                word.trips(),
                word.inflight() - 1,
                word.successes(),
            );
            match self.cas(word, next) {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// Opens the breaker from `from` (Closed or HalfOpen) with `trips`
    /// consecutive trips; `Err` with the current word if `from` is no longer current.
    ///
    /// The deadline cannot share the state word, so opening takes two steps: a
    /// CAS to `Opening` makes this thread the only writer of the deadline, then a
    /// CAS publishes `Open`. Readers treat `Opening` as Open. A manual operation
    /// arriving in between is left in the word as `pending` and applied here,
    /// so no thread ever waits for another.
    fn trip<K: Clock + ?Sized>(
        &self,
        from: Word,
        trips: u32,
        clock: &K,
    ) -> Result<Option<Transition>, Word> {
        let generation = from.generation().wrapping_add(1);
        let opening = Word::opening(generation, trips);
        self.cas(from, opening)?;
        self.window.reset();
        let deadline = clock
            .now()
            .as_nanos()
            .saturating_add(self.config.open_nanos_after(trips));
        self.instant.store(deadline, Ordering::Release);
        let mut current = opening;
        loop {
            let next = match current.pending() {
                Pending::None => Word::open(generation, trips),
                Pending::ForceOpen => Word::forced_open(generation),
                Pending::Disable => Word::disabled(generation),
                // A reset while tripping from Closed undoes the trip altogether:
                // back to the same generation, as if it never happened.
                Pending::Reset if from.tag() == Tag::Closed => Word::closed(from.generation(), 0),
                Pending::Reset => Word::closed(generation, 0),
            };
            match self.cas(current, next) {
                Ok(()) => {
                    let transition = Transition {
                        from: from.state(),
                        to: next.state(),
                    };
                    return Ok((transition.from != transition.to).then_some(transition));
                }
                Err(actual) => current = actual,
            }
        }
    }

    fn manual(&self, op: Pending) -> Option<Transition> {
        if op == Pending::Reset {
            self.window.reset();
        }
        let mut word = self.load();
        loop {
            let generation = word.generation().wrapping_add(1);
            let next = match (word.tag(), op) {
                (Tag::Opening, _) => word.with_pending(op),
                (Tag::ForcedOpen, Pending::ForceOpen) | (Tag::Disabled, Pending::Disable) => {
                    return None;
                }
                (Tag::Closed, Pending::Reset) if word.failures() == 0 => return None,
                (Tag::Closed, Pending::Reset) => Word::closed(word.generation(), 0),
                (_, Pending::ForceOpen) => Word::forced_open(generation),
                (_, Pending::Disable) => Word::disabled(generation),
                (_, _) => Word::closed(generation, 0),
            };
            match self.cas(word, next) {
                // Applied by the thread that is opening the breaker.
                Ok(()) if word.tag() == Tag::Opening => return None,
                Ok(()) => {
                    let transition = Transition {
                        from: word.state(),
                        to: next.state(),
                    };
                    return (transition.from != transition.to).then_some(transition);
                }
                Err(actual) => word = actual,
            }
        }
    }
}

/// Where [`CircuitBreaker::resume`] starts a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resume {
    /// Closed, after this many consecutive failures.
    Closed {
        /// Consecutive failures so far (kept below the threshold).
        consecutive_failures: u32,
    },
    /// Open until `until`, after `trips` consecutive trips (which set how long
    /// the next Open lasts).
    Open {
        /// Consecutive trips so far, the current one included.
        trips: u32,
        /// When the next call becomes a probe.
        until: Instant,
    },
    /// Half-open after `trips` consecutive trips, no probe in flight.
    HalfOpen {
        /// Consecutive trips so far.
        trips: u32,
    },
    /// Forced open.
    ForcedOpen,
    /// Disabled.
    Disabled,
}

#[inline(always)]
const fn raw(generation: u32, kind: Kind, transition: Option<Transition>) -> Raw {
    Raw::new(generation, kind, transition)
}

const fn next_trips(trips: u32) -> u32 {
    if trips >= MAX_TRIPS {
        MAX_TRIPS
    } else {
        trips + 1
    }
}

impl<C: Deref<Target = BreakerConfig>, W: Window> core::fmt::Debug for CircuitBreaker<C, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("state", &self.state())
            .field("config", &*self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
