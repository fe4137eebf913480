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
//! - A trip keeps the sliding window: its rates still say why the breaker
//!   opened (for health reports and metrics) until it closes again, which
//!   clears it.
//!
//! The rules themselves are [`rules`]: a pure function of a plain state value,
//! the input and the time given. This type stores that state in atomics; the
//! tokio adapter's shared breaker stores it in Redis and runs the same rules.
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
pub mod rules;
mod state;
mod window;

use core::ops::Deref;
use core::time::Duration;

pub use classify::{Classify, ErrorsAreFailures, FailureWhen};
use config::MAX_TRIPS;
pub use config::{BreakerConfig, BreakerConfigBuilder, MAX_FAILURE_THRESHOLD, MAX_HALF_OPEN_CALLS};
use permit::Raw;
pub use permit::{Outcome, Permit, RejectReason, Rejection, Ticket};
use rules::{Counted, Issued, Manual, PermitKind as Kind, Phase, Run, Snapshot};
use state::{Pending, Tag, Word};
pub use state::{State, Transition};
pub use window::{
    AnyWindow, Bucket, CountWindow, MAX_WINDOW_LEN, NoWindow, Slot, TimeSlices, TimeWindow, Window,
    WindowTotals, count_minimum,
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

    /// A breaker that starts from `from`: for adapters that restore a state
    /// kept elsewhere (the last state a fleet shared through Redis). Its
    /// counters start at zero. Values its configuration could not reach are
    /// brought within reach: consecutive failures below the threshold, trips
    /// within 1 to 127, probes and successes within their limits.
    ///
    /// ```
    /// use core::time::Duration;
    /// use seawall_core::breaker::rules::{Phase, Snapshot};
    /// use seawall_core::breaker::{BreakerConfig, CircuitBreaker, NoWindow, State};
    /// use seawall_core::time::Instant;
    ///
    /// let config = BreakerConfig::default();
    /// let until = Instant::from_secs(30);
    /// let from = Snapshot { generation: 4, phase: Phase::Open { trips: 2, until } };
    /// let breaker = CircuitBreaker::resume(&config, NoWindow, from);
    /// assert_eq!(breaker.state(), State::Open);
    /// let rejection = breaker.try_acquire(&Instant::from_secs(10)).unwrap_err();
    /// assert_eq!(rejection.retry_after(), Some(Duration::from_secs(20)));
    /// ```
    pub fn resume(config: C, window: W, from: Snapshot) -> Self {
        let breaker = Self::with_window(config, window);
        let config = &*breaker.config;
        let trips = |trips: u32| trips.clamp(1, MAX_TRIPS);
        let generation = from.generation;
        let (word, instant) = match from.phase {
            Phase::Closed { failures } => (
                Word::closed(generation, failures.min(config.failure_threshold() - 1)),
                0,
            ),
            Phase::Open { trips: t, until } => (Word::open(generation, trips(t)), until.as_nanos()),
            Phase::HalfOpen {
                trips: t,
                probes,
                successes,
                slow,
                active,
            } => {
                let successes = successes.min(config.success_threshold() - 1);
                for _ in 0..slow.min(successes) {
                    breaker.window.slow_probe(generation);
                }
                let probes = probes.min(config.half_open_max_calls());
                let word = Word::half_open(generation, trips(t), probes, successes);
                (word, active.as_nanos())
            }
            Phase::ForcedOpen => (Word::forced_open(generation), 0),
            Phase::Disabled => (Word::disabled(generation), 0),
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
        self.counters.snapshot(word.state(), word.generation())
    }

    /// The outcomes in the sliding window now (all zero without a window).
    /// After a trip they are those that opened the breaker, until it closes.
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
        self.manual(Manual::ForceOpen)
    }

    /// Admits every call and counts it, without ever tripping, until
    /// [`reset`](Self::reset) or [`force_open`](Self::force_open).
    pub fn disable(&self) -> Option<Transition> {
        self.manual(Manual::Disable)
    }

    /// Closes the breaker and clears its consecutive failures, its window and
    /// the growth of its open duration. The statistics are kept.
    pub fn reset(&self) -> Option<Transition> {
        self.manual(Manual::Reset)
    }

    #[inline(always)]
    fn load(&self) -> Word {
        Word(self.state.load(Ordering::Acquire))
    }

    #[inline(always)]
    fn cas(&self, current: Word, next: Word) -> Result<(), Word> {
        match self
            .state
            .compare_exchange(current.0, next.0, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(()),
            Err(actual) => Err(Word(actual)),
        }
    }

    /// The snapshot `word` holds, with the instant from the second word (in
    /// HalfOpen, only when `max_wait_in_half_open` keeps one) and the slow
    /// probes from the window.
    #[inline(always)]
    fn snapshot(&self, word: Word) -> Snapshot {
        let instant = || match word.tag() {
            Tag::HalfOpen if self.config.max_wait_nanos() == 0 => Instant::ZERO,
            _ => self.instant(),
        };
        word.snapshot(instant, |generation| self.window.slow_probes(generation))
    }

    // Always inlined, as is `record_raw`: out of line, the permit goes through
    // memory and back, which tripled an adapter's Closed call (BENCHMARKS.md).
    #[inline(always)]
    fn acquire_raw<K: Clock + ?Sized>(&self, clock: &K) -> Result<Raw, Rejection> {
        let word = self.load();
        // The decisions that change nothing (admit in Closed, reject in Open)
        // are taken here, each phase built whole so the rules fold into a few
        // instructions; a change goes through the CAS loop.
        let current = match word.tag() {
            Tag::Closed => word.as_closed(),
            Tag::Open => word.as_open(self.instant()),
            _ => return self.acquire_slow(word, clock),
        };
        match rules::acquire(&self.config, &current, clock) {
            (Ok(issued), None) => Ok(raw(issued)),
            (Err(rejection), None) => Err(self.rejected(rejection)),
            _ => self.acquire_slow(word, clock),
        }
    }

    #[inline(always)]
    fn instant(&self) -> Instant {
        Instant::from_nanos(self.instant.load(Ordering::Acquire))
    }

    #[inline(never)]
    fn acquire_slow<K: Clock + ?Sized>(&self, mut word: Word, clock: &K) -> Result<Raw, Rejection> {
        loop {
            if word.tag() == Tag::Opening {
                // The deadline is being written; it will be about this far.
                let after = self.config.open_nanos_after(word.trips());
                let rejection = Rejection::packed(RejectReason::Open, Some(after), None);
                return Err(self.rejected(rejection));
            }
            let current = self.snapshot(word);
            let (result, next) = rules::acquire(&self.config, &current, clock);
            let Some(next) = next else {
                return result.map(raw).map_err(|r| self.rejected(r));
            };
            match self.store(word, &current, &next) {
                Ok(transition) => {
                    return match result {
                        Ok(issued) => Ok(raw(issued)),
                        // A trip may have ended elsewhere (a manual operation
                        // that came meanwhile): report what happened.
                        Err(r) => Err(self.rejected(Rejection::packed(
                            r.reason(),
                            r.retry_after_nanos(),
                            transition,
                        ))),
                    };
                }
                Err(actual) => word = actual,
            }
        }
    }

    #[inline(always)]
    fn rejected(&self, rejection: Rejection) -> Rejection {
        Counters::count(&self.counters.rejected);
        rejection
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
            Kind::Probe => self.record_probe(raw.generation(), failed, slow, clock),
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
        generation: u64,
        failed: bool,
        slow: bool,
        clock: &K,
    ) -> Option<Transition> {
        if self.window.is_active() {
            return self.record_closed_window(generation, failed, slow, clock);
        }
        let run = if failed { Run::FAILURE } else { Run::SUCCESS };
        // Only a Closed word changes on a Closed outcome.
        let word = self.load();
        if word.tag() != Tag::Closed {
            return None;
        }
        // In the common case (a success, no failures to forget) nothing changes.
        let counted = Counted::Consecutive(run);
        rules::record_closed(&self.config, &word.as_closed(), generation, counted, clock)?;
        self.record_closed_consecutive(word, generation, failed, clock)
    }

    #[inline(never)]
    fn record_closed_consecutive<K: Clock + ?Sized>(
        &self,
        word: Word,
        generation: u64,
        failed: bool,
        clock: &K,
    ) -> Option<Transition> {
        let run = if failed { Run::FAILURE } else { Run::SUCCESS };
        self.record_closed_slow(word, generation, Counted::Consecutive(run), clock)
    }

    /// The rate rule: the outcome goes into the window, whose totals decide.
    #[inline(never)]
    fn record_closed_window<K: Clock + ?Sized>(
        &self,
        generation: u64,
        failed: bool,
        slow: bool,
        clock: &K,
    ) -> Option<Transition> {
        let word = self.load();
        if word.tag() != Tag::Closed || !rules::counts(&word.as_closed(), generation, Kind::Closed)
        {
            return None;
        }
        let totals = self.window.record(failed, slow, clock);
        let minimum = self.window.minimum_calls(self.config.minimum_calls());
        let counted = Counted::Rates { totals, minimum };
        // In the common case the rates do not trip: nothing to store.
        rules::record_closed(&self.config, &word.as_closed(), generation, counted, clock)?;
        self.record_closed_slow(word, generation, counted, clock)
    }

    fn record_closed_slow<K: Clock + ?Sized>(
        &self,
        mut word: Word,
        generation: u64,
        counted: Counted,
        clock: &K,
    ) -> Option<Transition> {
        let clock = &Memo::new(clock);
        while word.tag() == Tag::Closed {
            let current = word.as_closed();
            let change = rules::record_closed(&self.config, &current, generation, counted, clock)?;
            match self.store(word, &current, &change.next) {
                Ok(transition) => return transition,
                Err(actual) => word = actual,
            }
        }
        None
    }

    #[inline(never)]
    fn record_probe<K: Clock + ?Sized>(
        &self,
        generation: u64,
        failed: bool,
        slow: bool,
        clock: &K,
    ) -> Option<Transition> {
        let clock = &Memo::new(clock);
        let rates = self.window.is_active();
        if rates && slow && !failed {
            // Counted first, so the probe that decides sees every slow probe
            // counted before it (and, racing, perhaps one that is not yet).
            self.window.slow_probe(generation);
        }
        let mut word = self.load();
        loop {
            let current = self.snapshot(word);
            // This probe's slowness is in `current` already.
            let change = rules::record_probe(
                &self.config,
                &current,
                generation,
                failed,
                false,
                rates,
                clock,
            )?;
            if change.clears_window {
                // Before the breaker closes: no call records into it meanwhile.
                self.window.reset();
            }
            match self.store(word, &current, &change.next) {
                Ok(transition) => return transition,
                Err(actual) => word = actual,
            }
        }
    }

    pub(crate) fn release_raw(&self, raw: Raw) {
        Counters::count(&self.counters.released);
        if raw.kind() != Kind::Probe {
            return;
        }
        let mut word = self.load();
        while word.tag() == Tag::HalfOpen {
            // Only the probe count changes: no instant, no slow probe is read.
            let current = word.snapshot(|| Instant::ZERO, |_| 0);
            let Some(next) = rules::release(&current, raw.generation(), raw.kind()) else {
                return;
            };
            match self.cas(word, Word::of(&next)) {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// Stores `next` in place of `current` (held in `word`), and returns the
    /// transition it made; `Err` with the current word if `word` is no longer
    /// current.
    #[inline(always)]
    fn store(
        &self,
        word: Word,
        current: &Snapshot,
        next: &Snapshot,
    ) -> Result<Option<Transition>, Word> {
        let transition = match (current.phase, next.phase) {
            (Phase::Open { until: old, .. }, Phase::Open { until, .. })
                if word.tag() == Tag::Open =>
            {
                // Only the deadline moves (the clock went backwards); a lost
                // race means another call moved it already.
                let _ = self.instant.compare_exchange(
                    old.as_nanos(),
                    until.as_nanos(),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                return Ok(None);
            }
            (_, Phase::Open { trips, until }) => {
                return self.trip(word, next.generation, trips, until);
            }
            (_, Phase::HalfOpen { active, .. }) => {
                if self.config.max_wait_nanos() != 0 {
                    // Safe before the CAS: an Open deadline it might still
                    // see is past (or the state moved on and rewrites it).
                    self.instant.fetch_max(active.as_nanos(), Ordering::AcqRel);
                }
                self.cas(word, Word::of(next))?;
                transition(current.state(), next.state())
            }
            _ => {
                self.cas(word, Word::of(next))?;
                transition(current.state(), next.state())
            }
        };
        Ok(transition)
    }

    /// Opens the breaker from `from` (Closed or HalfOpen), as round
    /// `generation` with `trips` consecutive trips until `until`; `Err` with
    /// the current word if `from` is no longer current.
    ///
    /// The deadline cannot share the state word, so opening takes two steps: a
    /// CAS to `Opening` makes this thread the only writer of the deadline, then a
    /// CAS publishes `Open`. Readers treat `Opening` as Open. A manual operation
    /// arriving in between is left in the word as `pending` and applied here,
    /// so no thread ever waits for another.
    fn trip(
        &self,
        from: Word,
        generation: u64,
        trips: u32,
        until: Instant,
    ) -> Result<Option<Transition>, Word> {
        let opening = Word::opening(generation, trips);
        self.cas(from, opening)?;
        self.instant.store(until.as_nanos(), Ordering::Release);
        let mut current = opening;
        loop {
            // The manual operation and the trip are one transition (the
            // generation counts transitions).
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
                Ok(()) => return Ok(transition(from.state(), next.state())),
                Err(actual) => current = actual,
            }
        }
    }

    fn manual(&self, op: Manual) -> Option<Transition> {
        if op == Manual::Reset {
            self.window.reset();
        }
        let mut word = self.load();
        loop {
            if word.tag() == Tag::Opening {
                // Applied by the thread that is opening the breaker.
                match self.cas(word, word.with_pending(Pending::of(op))) {
                    Ok(()) => return None,
                    Err(actual) => {
                        word = actual;
                        continue;
                    }
                }
            }
            let current = self.snapshot(word);
            let change = rules::manual(&current, op)?;
            match self.store(word, &current, &change.next) {
                Ok(transition) => return transition,
                Err(actual) => word = actual,
            }
        }
    }
}

#[inline]
fn transition(from: State, to: State) -> Option<Transition> {
    (from != to).then_some(Transition { from, to })
}

#[inline(always)]
const fn raw(issued: Issued) -> Raw {
    Raw::new(issued.generation, issued.kind, issued.transition)
}

/// A clock read at most once: a decision retried in a CAS loop sees one time.
struct Memo<'a, K: ?Sized> {
    clock: &'a K,
    now: core::cell::Cell<Option<Instant>>,
}

impl<'a, K: Clock + ?Sized> Memo<'a, K> {
    fn new(clock: &'a K) -> Self {
        Self {
            clock,
            now: core::cell::Cell::new(None),
        }
    }
}

impl<K: Clock + ?Sized> Clock for Memo<'_, K> {
    fn now(&self) -> Instant {
        match self.now.get() {
            Some(now) => now,
            None => {
                let now = self.clock.now();
                self.now.set(Some(now));
                now
            }
        }
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
