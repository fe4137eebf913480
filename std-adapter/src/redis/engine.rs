//! The shared breaker's machinery, apart from its classifier: the local view,
//! the batch of outcomes, the calls to Redis and the switch to and from the
//! local fallback.
//!
//! Every decision is the core's ([`rules`]), on the state Redis holds, with
//! the fleet's time (Redis's `TIME`, or a test's time source) as the clock.
//! A decision that changes nothing (admit in Closed, reject in Open) is taken
//! on the view alone; one that changes the state is written with a
//! compare-and-set on the state's version, and taken again on the state the
//! set found if another process wrote first.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use seawall_core::breaker::rules::{self, Counted, Issued, Manual, PermitKind, Phase, Snapshot};
use seawall_core::breaker::{
    self as core_breaker, BreakerConfig, Outcome, RejectReason, Rejection, State, Transition,
    WindowTotals, count_minimum,
};
use seawall_core::time::{Clock, Instant};
use seawall_core::{ConfigError, Stats, transitions};
use tokio::sync::Notify;

use super::batch::{Batch, Recorded, Taken};
use super::codec::{self, FIELDS, Lease, Problems, Stored, WindowKind};
use super::scripts::{self, Arg};
use super::state::SharedState;
use super::store::{RedisStore, StoreError, WhenUnavailable};
use super::view::{LocalBreaker, Mirror, View};
use crate::breaker::Listener;
use crate::events::Hooks;
use crate::{CircuitBreakerConfig, SlidingWindow};

/// How many times a decision is taken again when another process wrote the
/// state first, before giving up (a probe is then rejected as if every slot
/// were taken, an outcome is left to the next sync or to its lease).
const ATTEMPTS: usize = 8;

const HALF_OPEN_FULL: Rejection = Rejection::new(RejectReason::HalfOpenFull, None);

/// Open for `remaining` more (at least a nanosecond: a retry is never "now").
fn open(remaining: Duration) -> Rejection {
    Rejection::new(
        RejectReason::Open,
        Some(remaining.max(Duration::from_nanos(1))),
    )
}

/// What a permit holds.
pub(crate) enum Ticket {
    /// Admitted in the shared Closed state of round `generation`.
    Closed { generation: u64 },
    /// Admitted while the breaker is disabled: only counted.
    Disabled,
    /// A half-open probe of round `generation` holding the lease `token`.
    Probe { generation: u64, token: String },
    /// Admitted by the local fallback breaker.
    Local {
        breaker: Arc<LocalBreaker>,
        ticket: core_breaker::Ticket,
    },
}

/// This process's counters.
#[derive(Debug, Default)]
struct Counters {
    successful: AtomicU64,
    failed: AtomicU64,
    slow: AtomicU64,
    rejected: AtomicU64,
    released: AtomicU64,
    transitions: AtomicU64,
    corrupt: AtomicU64,
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Locks a mutex whose data stays consistent even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The fallback breaker's transitions reported and not told yet: its threads
/// may report two of them in the opposite order, so they are told in the
/// order it made them (`seawall_core::transitions`, as the local breaker does).
struct Deliveries {
    /// The fallback breaker they are of (its address).
    of: usize,
    buffer: Vec<Transition>,
    /// Its count of transitions (which starts at the fleet's round) as of
    /// the last one told, and the state that one ended in.
    told: u64,
    last: State,
}

impl Deliveries {
    /// For a new fallback breaker, before any call reaches it.
    fn of(breaker: &Arc<LocalBreaker>) -> Self {
        Self {
            of: Arc::as_ptr(breaker) as usize,
            buffer: Vec::new(),
            told: breaker.stats().state_transitions,
            last: breaker.state(),
        }
    }
}

/// The next step of a decision taken on the shared state.
enum Step<T> {
    /// Nothing to write: the answer.
    Done(T),
    /// Write `next` (with `leases`, clearing the window if `clear`), then answer.
    Write {
        next: Snapshot,
        leases: Vec<Lease>,
        clear: bool,
        then: T,
    },
}

/// What a compare-and-set found.
enum Cas {
    Written,
    /// Another process wrote first: the state now.
    Conflict(Vec<Option<String>>),
    /// Redis ran it after the caller's deadline: nothing was written.
    TooLate,
}

/// The fleet's time and the local time of a reply, and how many views were
/// installed before its request was sent.
#[derive(Debug, Clone, Copy)]
struct At {
    fleet: Instant,
    local: Instant,
    round_trip: Duration,
    installed: u64,
}

/// Everything a shared breaker's handles, permits and sync task share.
pub(crate) struct Engine {
    pub(crate) store: RedisStore,
    keys: [String; 2],
    pub(crate) name: Box<str>,
    pub(crate) config: CircuitBreakerConfig,
    core: BreakerConfig,
    window: WindowKind,
    /// This process's clock: measures latencies, and the fleet's time since
    /// the last reply.
    clock: Arc<dyn Clock + Send + Sync>,
    /// The fleet's clock when given (tests): replaces Redis's `TIME`.
    fleet_clock: Option<Arc<dyn Clock + Send + Sync>>,
    view: ArcSwap<View>,
    /// Serialises the writers of `view`; readers never wait.
    writer: Mutex<()>,
    batch: Batch,
    /// Held by the sync in progress (from construction: by the sync task's
    /// first one, so that every other sync comes after it).
    syncing: Arc<tokio::sync::Mutex<()>>,
    counters: Counters,
    listener: Option<Listener>,
    pub(crate) hooks: Hooks,
    /// Wakes the sync task early: a trip is in sight, or the batch fills up.
    pub(crate) wake: Arc<Notify>,
    /// When the sync task was last woken early (local nanoseconds).
    woken: AtomicU64,
    token_prefix: u64,
    tokens: AtomicU64,
    /// Probes being released in the background, and the signal that the
    /// last one is done (a sync waits for them).
    releasing: AtomicUsize,
    released: Notify,
    /// Views installed so far: a reply whose request went out before the
    /// latest install, with an older version, is stale.
    installs: AtomicU64,
    /// The fallback breaker's transitions, told in order (held while told).
    deliveries: Mutex<Deliveries>,
}

impl Engine {
    pub(crate) fn new(
        store: RedisStore,
        name: String,
        config: CircuitBreakerConfig,
        clock: Arc<dyn Clock + Send + Sync>,
        fleet_clock: Option<Arc<dyn Clock + Send + Sync>>,
        listener: Option<Listener>,
    ) -> Result<Self, ConfigError> {
        let core = config.to_core()?;
        // Validates the window as the local breaker does.
        config.build()?;
        let window = match config.window {
            None => WindowKind::None,
            Some(SlidingWindow::Count { size }) => WindowKind::Count { size },
            Some(SlidingWindow::Time { duration, buckets }) => {
                WindowKind::Time(seawall_core::breaker::TimeSlices::new(duration, buckets)?)
            }
        };
        Ok(Self {
            keys: store.breaker_keys(&name),
            store,
            name: name.into_boxed_str(),
            config,
            core,
            window,
            clock,
            fleet_clock,
            view: ArcSwap::from_pointee(View::Shared(Mirror::unknown())),
            writer: Mutex::new(()),
            batch: Batch::new(0),
            syncing: Arc::new(tokio::sync::Mutex::const_new(())),
            counters: Counters::default(),
            listener,
            hooks: Hooks::new(),
            wake: Arc::new(Notify::new()),
            woken: AtomicU64::new(0),
            token_prefix: token_prefix(),
            tokens: AtomicU64::new(0),
            releasing: AtomicUsize::new(0),
            released: Notify::new(),
            installs: AtomicU64::new(0),
            deliveries: Mutex::new(Deliveries {
                of: 0,
                buffer: Vec::new(),
                told: 0,
                last: State::Closed,
            }),
        })
    }

    pub(crate) fn state(&self) -> State {
        self.view.load().state()
    }

    pub(crate) fn is_fallback(&self) -> bool {
        !matches!(**self.view.load(), View::Shared(_))
    }

    /// Whether calls are timed: only the window's rules look at slow calls.
    pub(crate) fn measures_latency(&self) -> bool {
        self.window != WindowKind::None
    }

    pub(crate) fn local_now(&self) -> Instant {
        self.clock.now()
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        let successful = c.successful.load(Ordering::Relaxed);
        let failed = c.failed.load(Ordering::Relaxed);
        let released = c.released.load(Ordering::Relaxed);
        Stats {
            state: self.state(),
            permitted: successful.saturating_add(failed).saturating_add(released),
            successful,
            failed,
            slow: c.slow.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            released,
            state_transitions: c.transitions.load(Ordering::Relaxed),
        }
    }

    /// How many times the state read from Redis held corrupt values.
    pub(crate) fn corrupt_reads(&self) -> u64 {
        self.counters.corrupt.load(Ordering::Relaxed)
    }

    /// The fleet's window as last read (the local fallback's while Redis is
    /// unreachable).
    pub(crate) fn window_totals(&self) -> WindowTotals {
        match &**self.view.load() {
            View::Shared(mirror) => mirror.totals,
            View::Fallback(local) => local.window_totals(&*self.clock),
            View::Unavailable => WindowTotals::default(),
        }
    }

    /// The shared state as this process last read it.
    pub(crate) fn shared_state(&self) -> SharedState {
        match &**self.view.load() {
            View::Shared(mirror) => {
                let now = self.fleet_now(mirror);
                let (snapshot, _) = mirror.stored.at(now);
                SharedState::of(&snapshot, now, mirror.totals)
            }
            _ => SharedState::UNKNOWN,
        }
    }

    /// The fleet's time now, as `mirror` tells it.
    fn fleet_now(&self, mirror: &Mirror) -> Instant {
        match &self.fleet_clock {
            Some(clock) => clock.now(),
            None => mirror.fleet_at(self.clock.now()),
        }
    }

    // --- acquiring -------------------------------------------------------

    /// A ticket, or the rejection; asks Redis only for a change of state (a
    /// probe, a reopening).
    pub(crate) async fn acquire(&self) -> Result<Ticket, Rejection> {
        let result = match self.acquire_local() {
            Some(result) => result,
            None => self.acquire_remote().await,
        };
        if let Err(rejection) = &result {
            count(&self.counters.rejected);
            #[cfg(feature = "tracing")]
            self.hooks
                .rejections
                .rejected(&self.name, rejection, &*self.clock);
            #[cfg(not(feature = "tracing"))]
            let _ = rejection;
        }
        result
    }

    /// The decision the view can take alone; `None` to ask Redis.
    #[inline]
    fn acquire_local(&self) -> Option<Result<Ticket, Rejection>> {
        let view = self.view.load();
        match &**view {
            View::Shared(mirror) if !mirror.known => None,
            View::Shared(mirror) => {
                let now = FleetNow::new(self, mirror);
                let decision = match mirror.stored.snapshot.phase {
                    // Leases may have lapsed since the read.
                    Phase::HalfOpen { .. } => {
                        let (snapshot, _) = mirror.stored.at(now.now());
                        rules::acquire(&self.core, &snapshot, &now)
                    }
                    _ => rules::acquire(&self.core, &mirror.stored.snapshot, &now),
                };
                match decision {
                    (Ok(issued), None) => Some(Ok(admitted(issued))),
                    (Err(rejection), None) => Some(Err(rejection)),
                    _ => None,
                }
            }
            View::Fallback(local) => Some(match local.try_acquire_ticket(&*self.clock) {
                Ok(ticket) => {
                    self.notify_local(local, ticket.transition());
                    Ok(Ticket::Local {
                        breaker: Arc::clone(local),
                        ticket,
                    })
                }
                Err(rejection) => {
                    self.notify_local(local, rejection.transition());
                    Err(rejection)
                }
            }),
            View::Unavailable => Some(Err(open(self.store.config().sync_interval))),
        }
    }

    async fn acquire_remote(&self) -> Result<Ticket, Rejection> {
        if !self.known() {
            // A process that has not read the state yet reads it first.
            let _ = self.sync().await;
            if let Some(decided) = self.acquire_local() {
                return decided;
            }
        }
        let token = format!(
            "{:016x}.{}",
            self.token_prefix,
            self.tokens.fetch_add(1, Ordering::Relaxed)
        );
        let lease = self.store.config().probe_lease;
        let deadline = self.deadline();
        let decided = self
            .change(deadline, |stored, now| {
                let (snapshot, mut leases) = stored.at(now);
                let (result, next) = rules::acquire(&self.core, &snapshot, &now);
                let Some(next) = next else {
                    return Step::Done(result);
                };
                if matches!(result, Ok(issued) if issued.kind == PermitKind::Probe) {
                    leases.push(Lease {
                        token: token.clone(),
                        expiry: now + lease,
                    });
                }
                Step::Write {
                    next,
                    leases,
                    clear: false,
                    then: result,
                }
            })
            .await;
        match decided {
            Ok(Some(Ok(issued))) if issued.kind == PermitKind::Probe => Ok(Ticket::Probe {
                generation: issued.generation,
                token,
            }),
            Ok(Some(Ok(issued))) => Ok(admitted(issued)),
            Ok(Some(Err(rejection))) => Err(rejection),
            // Others keep taking the slots first.
            Ok(None) => Err(HALF_OPEN_FULL),
            Err(_) => {
                self.fall_back();
                self.acquire_local()
                    .unwrap_or_else(|| Err(open(self.store.config().sync_interval)))
            }
        }
    }

    fn known(&self) -> bool {
        matches!(&**self.view.load(), View::Shared(mirror) if mirror.known)
    }

    /// The latest fleet time at which a request for a probe may still be
    /// granted: this call stops waiting for Redis after the store's timeout,
    /// and a request Redis runs later (after a stall) must not take a slot
    /// that nobody would use. None with a test's clock (Redis's is not it).
    fn deadline(&self) -> Option<u64> {
        if self.fleet_clock.is_some() {
            return None;
        }
        let view = self.view.load();
        let View::Shared(mirror) = &**view else {
            return None;
        };
        let now = self.fleet_now(mirror);
        // The fleet's time is known within half a round trip: a whole one
        // off keeps the deadline before this call stops waiting.
        let wait = self
            .store
            .config()
            .timeout
            .saturating_sub(mirror.round_trip);
        Some(codec::micros(now + wait))
    }

    // --- recording -------------------------------------------------------

    /// Records the outcome of a ticket (`latency`: the call's, when timed);
    /// a probe's goes to Redis at once.
    pub(crate) async fn record(
        &self,
        ticket: Ticket,
        outcome: Outcome,
        latency: Option<Duration>,
    ) -> Option<Transition> {
        let (failed, slow) = self.counted_outcome(outcome, latency);
        match ticket {
            Ticket::Closed { generation } => {
                self.record_closed(generation, failed, slow);
                None
            }
            Ticket::Disabled => None,
            Ticket::Probe { generation, token } => {
                self.end_probe(generation, &token, Some((failed, slow)))
                    .await
            }
            Ticket::Local { breaker, ticket } => {
                self.record_local(&breaker, ticket, outcome, latency)
            }
        }
    }

    /// Counts an outcome in this process's stats: whether it failed, and
    /// whether it was slow (timed only when the rules look at slow calls).
    fn counted_outcome(&self, outcome: Outcome, latency: Option<Duration>) -> (bool, bool) {
        let failed = outcome == Outcome::Failure;
        count(if failed {
            &self.counters.failed
        } else {
            &self.counters.successful
        });
        let slow = self.measures_latency()
            && latency.is_some_and(|latency| latency > self.config.slow_call_duration);
        if slow {
            count(&self.counters.slow);
        }
        (failed, slow)
    }

    fn record_local(
        &self,
        breaker: &Arc<LocalBreaker>,
        ticket: core_breaker::Ticket,
        outcome: Outcome,
        latency: Option<Duration>,
    ) -> Option<Transition> {
        let latency = latency.filter(|_| self.measures_latency());
        let transition = breaker.record(ticket, outcome, latency, &*self.clock);
        self.notify_local(breaker, transition);
        transition
    }

    /// A ticket dropped without an outcome: released, unless its call
    /// panicked (then a failure, as the local breaker counts it).
    pub(crate) fn dropped(self: &Arc<Self>, ticket: Ticket) {
        if std::thread::panicking() {
            self.record_panicked(ticket);
        } else {
            self.release(ticket);
        }
    }

    /// A ticket whose call panicked (its permit dropped while unwinding): a
    /// failure, as the local breaker counts it. Dropping cannot wait: a
    /// probe's outcome goes to Redis in the background.
    fn record_panicked(self: &Arc<Self>, ticket: Ticket) {
        let (failed, slow) = self.counted_outcome(Outcome::Failure, None);
        match ticket {
            Ticket::Closed { generation } => self.record_closed(generation, failed, slow),
            Ticket::Disabled => {}
            Ticket::Local { breaker, ticket } => {
                self.record_local(&breaker, ticket, Outcome::Failure, None);
            }
            Ticket::Probe { generation, token } => {
                let engine = Arc::clone(self);
                self.releasing.fetch_add(1, Ordering::AcqRel);
                self.store.runtime().spawn(async move {
                    engine
                        .end_probe(generation, &token, Some((failed, slow)))
                        .await;
                    if engine.releasing.fetch_sub(1, Ordering::AcqRel) == 1 {
                        engine.released.notify_waiters();
                    }
                });
            }
        }
    }

    /// A Closed outcome joins the batch; the sync task is woken early when
    /// the batch would trip the breaker or fills up.
    #[inline]
    fn record_closed(&self, generation: u64, failed: bool, slow: bool) {
        let recorded = match self.window {
            WindowKind::None => self.batch.record_run(generation, failed),
            _ => self.batch.record_counts(generation, failed, slow),
        };
        match recorded {
            Recorded::Stale => {}
            Recorded::Full => self.wake_early(),
            Recorded::Added if failed && self.trip_in_sight() => self.wake_early(),
            Recorded::Added => {}
        }
    }

    /// Whether the rules trip the breaker on the view and the batch.
    #[cold]
    fn trip_in_sight(&self) -> bool {
        let view = self.view.load();
        let View::Shared(mirror) = &**view else {
            return false;
        };
        let (run, counts) = self.batch.peek();
        let counted = self.counted(run, add(mirror.totals, counts));
        let now = FleetNow::new(self, mirror);
        let generation = self.batch.generation();
        rules::record_closed(
            &self.core,
            &mirror.stored.snapshot,
            generation,
            counted,
            &now,
        )
        .is_some_and(|change| change.next.state() == State::Open)
    }

    /// Wakes the sync task, at most once per sync interval.
    fn wake_early(&self) {
        let interval = self.store.config().sync_interval.as_nanos() as u64;
        let now = self.clock.now().as_nanos();
        let last = self.woken.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= interval)
            && self
                .woken
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.wake.notify_one();
        }
    }

    /// What the trip rule is given: the run of outcomes, or the window's totals.
    fn counted(&self, run: rules::Run, totals: WindowTotals) -> Counted {
        match self.window {
            WindowKind::None => Counted::Consecutive(run),
            WindowKind::Count { size } => Counted::Rates {
                totals,
                minimum: count_minimum(self.core.minimum_calls(), size),
            },
            WindowKind::Time(_) => Counted::Rates {
                totals,
                minimum: self.core.minimum_calls(),
            },
        }
    }

    /// Releases a ticket without an outcome (a cancelled call, an ignored error).
    pub(crate) fn release(self: &Arc<Self>, ticket: Ticket) {
        count(&self.counters.released);
        match ticket {
            Ticket::Closed { .. } | Ticket::Disabled => {}
            Ticket::Local { breaker, ticket } => breaker.release(ticket),
            Ticket::Probe { generation, token } => {
                // Dropping cannot wait: free the slot in the background. Should
                // that fail too, the lease expires.
                let engine = Arc::clone(self);
                self.releasing.fetch_add(1, Ordering::AcqRel);
                self.store.runtime().spawn(async move {
                    engine.end_probe(generation, &token, None).await;
                    if engine.releasing.fetch_sub(1, Ordering::AcqRel) == 1 {
                        engine.released.notify_waiters();
                    }
                });
            }
        }
    }

    /// The end of a probe: recorded (`failed`, `slow`) or released (`None`).
    async fn end_probe(
        &self,
        generation: u64,
        token: &str,
        outcome: Option<(bool, bool)>,
    ) -> Option<Transition> {
        let rates = self.window != WindowKind::None;
        let mut decide = |stored: &Stored, now: Instant| {
            let (snapshot, leases) = stored.at(now);
            let change = match outcome {
                Some((failed, slow)) => rules::record_probe(
                    &self.core, &snapshot, generation, failed, slow, rates, &now,
                ),
                None => rules::release(&snapshot, generation, PermitKind::Probe).map(|next| {
                    rules::Change {
                        next,
                        transition: None,
                        clears_window: false,
                    }
                }),
            };
            match change {
                // `None`: nothing to write; `Some(transition)`: written.
                None => Step::Done(None),
                Some(change) => Step::Write {
                    next: change.next,
                    leases: leases.into_iter().filter(|l| l.token != token).collect(),
                    clear: change.clears_window,
                    then: Some(change.transition),
                },
            }
        };
        let mut decided = self.change(None, &mut decide).await;
        if matches!(decided, Ok(Some(None))) && self.refresh().await.is_ok() {
            // Nothing to do on the view: make sure it is not a stale one (the
            // probe's outcome must not be lost, nor its slot kept).
            decided = self.change(None, &mut decide).await;
        }
        let decided = decided.map(|answer| answer.flatten());
        match decided {
            Ok(transition) => transition.flatten(),
            Err(_) => {
                self.fall_back();
                None
            }
        }
    }

    // --- talking to Redis ------------------------------------------------

    /// Takes a decision on the shared state and stores its change, again on
    /// the state found if another process wrote first. `Ok(None)` after
    /// [`ATTEMPTS`] such losses.
    async fn change<T>(
        &self,
        deadline: Option<u64>,
        mut decide: impl FnMut(&Stored, Instant) -> Step<T>,
    ) -> Result<Option<T>, StoreError> {
        for _ in 0..ATTEMPTS {
            let (stored, now) = {
                let view = self.view.load();
                match &**view {
                    View::Shared(mirror) if mirror.known => {
                        (mirror.stored.clone(), self.fleet_now(mirror))
                    }
                    _ => return Err(StoreError::Reply),
                }
            };
            let (next, leases, clear, then) = match decide(&stored, now) {
                Step::Done(answer) => return Ok(Some(answer)),
                Step::Write {
                    next,
                    leases,
                    clear,
                    then,
                } => (next, leases, clear, then),
            };
            let version = codec::next_version(&stored, now);
            let (found, at) = self
                .cas(&stored.version, version, &next, &leases, clear, deadline)
                .await?;
            match found {
                Cas::Written => {
                    let stored = Stored {
                        version: version.to_string(),
                        snapshot: next,
                        leases,
                    };
                    let totals = clear.then(WindowTotals::default);
                    self.install(stored, totals, at, false);
                    return Ok(Some(then));
                }
                Cas::Conflict(values) => {
                    let (stored, problems) = self.decode(&values, at.fleet);
                    if !problems.is_empty() {
                        // Repaired by this decision's write, or the next sync's.
                        self.corrupt(&problems);
                    }
                    self.install(stored, None, at, false);
                }
                Cas::TooLate => return Err(StoreError::Timeout(self.store.config().timeout)),
            }
        }
        Ok(None)
    }

    fn decode(&self, values: &[Option<String>], now: Instant) -> (Stored, Problems) {
        codec::decode(values, &self.core, self.store.config().probe_lease, now)
    }

    /// The time of a reply (the fleet clock's, or Redis's `TIME` in it) to a
    /// request sent at local time `sent` after `installed` installs. Redis
    /// read its time about halfway between sending and receiving.
    fn at(
        &self,
        values: &[Option<String>],
        sent: Instant,
        installed: u64,
    ) -> Result<At, StoreError> {
        let received = self.clock.now();
        let round_trip = received.saturating_duration_since(sent);
        let (fleet, local) = match &self.fleet_clock {
            Some(clock) => (clock.now(), received),
            None => (
                codec::instant(scripts::time(values)?),
                sent + round_trip / 2,
            ),
        };
        Ok(At {
            fleet,
            local,
            round_trip,
            installed,
        })
    }

    fn keys(&self) -> [&str; 2] {
        [&self.keys[0], &self.keys[1]]
    }

    /// Sets the state to `next` (`leases`, `version`) if its version is still
    /// `expected`; clears the window if `clear`.
    async fn cas(
        &self,
        expected: &str,
        version: u64,
        next: &Snapshot,
        leases: &[Lease],
        clear: bool,
        deadline: Option<u64>,
    ) -> Result<(Cas, At), StoreError> {
        let pairs = codec::encode(version, next, leases);
        let mut args: Vec<Arg> = vec![
            expected.into(),
            deadline.map_or_else(String::new, |d| d.to_string()).into(),
            (if clear { "1" } else { "0" }).into(),
            (pairs.len() as u64).into(),
        ];
        for (field, value) in pairs {
            args.push(field.into());
            args.push(value.into());
        }
        args.push((FIELDS.len() as u64).into());
        args.extend(FIELDS.iter().map(|f| Arg::from(*f)));
        let installed = self.installs.load(Ordering::Acquire);
        let sent = self.clock.now();
        let reply: redis::Value = self.store.eval(&scripts::CAS, &self.keys(), &args).await?;
        let values = scripts::texts(reply)?;
        let at = self.at(values.get(1..).unwrap_or_default(), sent, installed)?;
        let found = match values.first().and_then(Option::as_deref) {
            Some("1") => Cas::Written,
            Some("0") if values.len() == 3 + FIELDS.len() => Cas::Conflict(values[3..].to_vec()),
            Some("2") => Cas::TooLate,
            _ => return Err(StoreError::Reply),
        };
        Ok((found, at))
    }

    /// Adds `taken` to the window (if it is still of the state's round) and
    /// reads the state and the window.
    async fn read(
        &self,
        taken: &Taken,
        now: Instant,
    ) -> Result<(Vec<Option<String>>, At), StoreError> {
        let window_fields = self.window.fields();
        let mut args: Vec<Arg> = vec![(FIELDS.len() as u64).into()];
        args.extend(FIELDS.iter().map(|f| Arg::from(*f)));
        args.push((window_fields.len() as u64).into());
        args.extend(window_fields.iter().map(|f| Arg::from(f.as_str())));
        let counts = taken.counts;
        let kind = match self.window {
            _ if counts.calls == 0 => "none",
            WindowKind::None => "none",
            WindowKind::Count { .. } => "count",
            WindowKind::Time(_) => "time",
        };
        args.extend([
            kind.into(),
            taken.generation.to_string().into(),
            counts.calls.into(),
            counts.failed.into(),
            counts.slow.into(),
        ]);
        match self.window {
            WindowKind::Count { size } => args.push((size as u64).into()),
            WindowKind::Time(slices) => {
                let index = slices.index(now);
                let slot = index % slices.buckets() as u64;
                args.push(format!("b{slot}").into());
                args.push(index.into());
            }
            WindowKind::None => {}
        }
        let installed = self.installs.load(Ordering::Acquire);
        let sent = self.clock.now();
        let reply: redis::Value = self.store.eval(&scripts::READ, &self.keys(), &args).await?;
        let values = scripts::texts(reply)?;
        if values.len() != 2 + FIELDS.len() + window_fields.len() {
            return Err(StoreError::Reply);
        }
        let at = self.at(&values, sent, installed)?;
        Ok((values[2..].to_vec(), at))
    }

    /// Reports the batch, reads the shared state and applies the rules to the
    /// batch; in fallback, tries Redis and resumes the shared state if it
    /// answers. A corrupt state is repaired, and reported as an error.
    pub(crate) async fn sync(&self) -> Result<SharedState, StoreError> {
        // One at a time: a sync that returns has seen every outcome recorded
        // before it started, even those another sync was sending, and every
        // probe released before it started.
        self.releases_done().await;
        let one = Arc::clone(&self.syncing).lock_owned().await;
        self.sync_locked(one).await
    }

    /// The lock a sync holds, taken now: for the sync task's first sync.
    pub(crate) fn first_sync_lock(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        Arc::clone(&self.syncing).try_lock_owned().ok()
    }

    /// [`sync`](Self::sync) with its lock taken.
    pub(crate) async fn sync_locked(
        &self,
        _one: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<SharedState, StoreError> {
        let (taken, now) = {
            let view = self.view.load();
            match &**view {
                View::Shared(mirror) if mirror.known => (self.batch.take(), self.fleet_now(mirror)),
                _ => (
                    Batch::new(0).take(),
                    self.fleet_clock.as_ref().map_or(Instant::ZERO, |c| c.now()),
                ),
            }
        };
        let result = self.sync_with(&taken, now).await;
        if let Err(StoreError::Timeout(_) | StoreError::Redis(_) | StoreError::Reply) = &result {
            self.fall_back();
        }
        result
    }

    /// Reads the state now, without reporting anything.
    async fn refresh(&self) -> Result<(), StoreError> {
        let (values, at) = self.read(&Batch::new(0).take(), Instant::ZERO).await?;
        let (stored, mut problems) = self.decode(&values[..FIELDS.len()], at.fleet);
        let totals = self
            .window
            .totals(&values[FIELDS.len()..], at.fleet, &mut problems);
        if !problems.is_empty() {
            // Repaired by the next sync.
            self.corrupt(&problems);
        }
        self.install(stored, Some(totals), at, false);
        Ok(())
    }

    /// Waits (at most the store's timeout) for the probes being released.
    async fn releases_done(&self) {
        let wait = async {
            loop {
                let notified = self.released.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.releasing.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(self.store.config().timeout, wait).await;
    }

    async fn sync_with(&self, taken: &Taken, now: Instant) -> Result<SharedState, StoreError> {
        let (values, at) = self.read(taken, now).await?;
        let (mut stored, mut problems) = self.decode(&values[..FIELDS.len()], at.fleet);
        let totals = self
            .window
            .totals(&values[FIELDS.len()..], at.fleet, &mut problems);
        if !problems.is_empty() {
            self.corrupt(&problems);
            // Written back as read: every field in range again.
            let version = codec::next_version(&stored, at.fleet);
            let clear = problems.0.contains(&"window");
            let (found, _) = self
                .cas(
                    &stored.version,
                    version,
                    &stored.snapshot,
                    &stored.leases,
                    clear,
                    None,
                )
                .await?;
            if let Cas::Written = found {
                stored.version = version.to_string();
            }
        }
        self.install(stored, Some(totals), at, true);
        if !taken.run.is_empty() || taken.counts.calls > 0 {
            let counted = self.counted(taken.run, totals);
            self.change(None, |stored, now| {
                match rules::record_closed(
                    &self.core,
                    &stored.snapshot,
                    taken.generation,
                    counted,
                    &now,
                ) {
                    None => Step::Done(()),
                    Some(change) => Step::Write {
                        next: change.next,
                        leases: Vec::new(),
                        clear: change.clears_window,
                        then: (),
                    },
                }
            })
            .await?;
        }
        if problems.is_empty() {
            Ok(self.shared_state())
        } else {
            Err(StoreError::Corrupt(problems.0))
        }
    }

    /// A manual operation for the whole fleet.
    pub(crate) async fn manual(&self, op: Manual) -> Result<Option<Transition>, StoreError> {
        // Decided on the state as it is now, not as last read: the view may
        // say "forced open already" of a state someone has since changed.
        match self.sync().await {
            Ok(_) | Err(StoreError::Corrupt(_)) => {}
            Err(error) => return Err(error),
        }
        let decided = self
            .change(None, |stored, now| {
                let (snapshot, _) = stored.at(now);
                match rules::manual(&snapshot, op) {
                    None => Step::Done(None),
                    Some(change) => Step::Write {
                        next: change.next,
                        leases: Vec::new(),
                        clear: change.clears_window,
                        then: change.transition,
                    },
                }
            })
            .await;
        match decided {
            Ok(transition) => Ok(transition.flatten()),
            Err(error) => {
                self.fall_back();
                Err(error)
            }
        }
    }

    /// Counts and reports a corrupt state.
    fn corrupt(&self, problems: &Problems) {
        count(&self.counters.corrupt);
        #[cfg(feature = "tracing")]
        crate::events::log::corrupt(&self.name, &problems.0);
        #[cfg(not(feature = "tracing"))]
        let _ = problems;
    }

    // --- the view --------------------------------------------------------

    /// Takes in a state read at `at`, unless it is stale: an older version
    /// than the view's, from a request sent before the view was installed
    /// (replies arrive in any order). An older version read after the view
    /// was installed is taken (Redis was restored to an older state).
    /// `authoritative` (a sync) ends a fallback.
    fn install(&self, stored: Stored, totals: Option<WindowTotals>, at: At, authoritative: bool) {
        let _writer = lock(&self.writer);
        let old = self.view.load_full();
        let old_totals = match &*old {
            View::Shared(mirror) if mirror.known => {
                let older = stored.version_number() < mirror.stored.version_number();
                if older && at.installed != self.installs.load(Ordering::Acquire) {
                    return;
                }
                mirror.totals
            }
            View::Shared(_) => WindowTotals::default(),
            _ if authoritative => WindowTotals::default(),
            _ => return,
        };
        self.batch.retag(stored.snapshot.generation);
        let mirror = Mirror {
            stored,
            totals: totals.unwrap_or(old_totals),
            fleet: at.fleet,
            local: at.local,
            round_trip: at.round_trip,
            known: true,
        };
        self.replace(&old, View::Shared(mirror));
    }

    /// Redis did not answer: the local fallback (or the rejection of every
    /// call) takes over, from the last shared state seen.
    fn fall_back(&self) {
        let _writer = lock(&self.writer);
        let old = self.view.load_full();
        let View::Shared(mirror) = &*old else {
            return;
        };
        // What this process counts alone is never reported to the fleet.
        self.batch.retag(self.batch.generation().wrapping_add(4));
        let view = match self.store.config().when_unavailable {
            WhenUnavailable::FailOpen => {
                let window = match self.config.build() {
                    Ok((_, window)) => window,
                    Err(_) => seawall_core::breaker::AnyWindow::None,
                };
                let local = self.clock.now();
                let fallback =
                    Arc::new(mirror.fallback(&self.core, window, self.fleet_now(mirror), local));
                // Before any call can reach it and report a transition.
                *lock(&self.deliveries) = Deliveries::of(&fallback);
                View::Fallback(fallback)
            }
            WhenUnavailable::FailClosed => View::Unavailable,
        };
        self.replace(&old, view);
    }

    /// Installs `view` (the caller holds `writer`) and reports the change of state.
    fn replace(&self, old: &View, view: View) {
        let (from, to) = (old.state(), view.state());
        self.view.store(Arc::new(view));
        self.installs.fetch_add(1, Ordering::AcqRel);
        if from != to {
            self.notify(Some(Transition { from, to }));
        }
    }

    /// Tells the listener and the hooks of a transition of the fallback
    /// breaker `local`, and of those other threads reported, in the order it
    /// made them: the thread that completes a batch tells it.
    fn notify_local(&self, local: &Arc<LocalBreaker>, transition: Option<Transition>) {
        let Some(transition) = transition else {
            return;
        };
        let mut deliveries = lock(&self.deliveries);
        if deliveries.of != Arc::as_ptr(local) as usize {
            // A fallback replaced since: its transitions are told as they come.
            drop(deliveries);
            return self.notify(Some(transition));
        }
        deliveries.buffer.push(transition);
        let made = local.stats().state_transitions;
        let pending = deliveries.buffer.len();
        if !(transitions::complete(made, deliveries.told, pending)
            || pending >= transitions::MAX_BATCH)
        {
            return;
        }
        let last = deliveries.last;
        transitions::order(last, &mut deliveries.buffer);
        let batch = std::mem::take(&mut deliveries.buffer);
        deliveries.told += batch.len() as u64;
        deliveries.last = batch.last().map_or(last, |t| t.to);
        // Told with the lock held: one teller at a time, in order.
        for transition in batch {
            self.notify(Some(transition));
        }
    }

    fn notify(&self, transition: Option<Transition>) {
        if let Some(transition) = transition {
            count(&self.counters.transitions);
            if let Some(listener) = &self.listener {
                listener(&self.name, transition);
            }
            self.hooks.transition(&self.name, transition);
        }
    }
}

/// The fleet's time for one decision, read at most once.
struct FleetNow<'a> {
    engine: &'a Engine,
    mirror: &'a Mirror,
    now: std::cell::Cell<Option<Instant>>,
}

impl<'a> FleetNow<'a> {
    fn new(engine: &'a Engine, mirror: &'a Mirror) -> Self {
        Self {
            engine,
            mirror,
            now: std::cell::Cell::new(None),
        }
    }
}

impl Clock for FleetNow<'_> {
    fn now(&self) -> Instant {
        match self.now.get() {
            Some(now) => now,
            None => {
                let now = self.engine.fleet_now(self.mirror);
                self.now.set(Some(now));
                now
            }
        }
    }
}

/// The ticket of a permit admitted without a change of state.
#[inline]
fn admitted(issued: Issued) -> Ticket {
    match issued.kind {
        PermitKind::Disabled => Ticket::Disabled,
        _ => Ticket::Closed {
            generation: issued.generation,
        },
    }
}

/// The window's totals with a batch's counts added.
fn add(totals: WindowTotals, counts: super::batch::Counts) -> WindowTotals {
    let add = |a: u32, b: u64| a.saturating_add(u32::try_from(b).unwrap_or(u32::MAX));
    WindowTotals {
        calls: add(totals.calls, counts.calls),
        failed: add(totals.failed, counts.failed),
        slow: add(totals.slow, counts.slow),
    }
}

/// A prefix for lease tokens that no other process picks: std's random hash
/// keys, mixed with the process id and the time.
fn token_prefix() -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    std::process::id().hash(&mut hasher);
    std::time::SystemTime::now().hash(&mut hasher);
    hasher.finish()
}
