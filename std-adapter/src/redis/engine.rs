//! The shared breaker's machinery, apart from its classifier: the local view,
//! the decisions taken locally, the script calls, and the switch to and from
//! the local fallback.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use seawall_core::Stats;
use std::time::Duration;

use seawall_core::breaker::{
    self as core_breaker, BreakerConfig, Outcome, RejectReason, Rejection, State, Transition,
};
use seawall_core::time::Clock;
use tokio::sync::Notify;

use super::scripts::{self, Arg, Reply, Verdict};
use super::state::SharedState;
use super::store::{RedisStore, StoreError, WhenUnavailable};
use super::view::{Batch, LocalBreaker, Mirror, View};
use crate::breaker::Listener;

/// The generation of a batch that belongs to no round (Redis is unreachable).
const NO_ROUND: i64 = i64::MIN;
/// The generation of permits issued before the state was first read.
const UNKNOWN_ROUND: i64 = -1;

const FORCED_OPEN: Rejection = Rejection::new(RejectReason::ForcedOpen, None);
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
    /// Admitted in the shared Closed state of `generation`; `counting`: the
    /// fleet was counting failures then (a success must end their run).
    Closed { generation: i64, counting: bool },
    /// Admitted while the breaker is disabled: only counted.
    Disabled,
    /// A half-open probe holding the lease `token` in Redis.
    Probe { generation: i64, token: String },
    /// Admitted by the local fallback breaker.
    Local {
        breaker: Arc<LocalBreaker>,
        ticket: core_breaker::Ticket,
    },
}

/// A probe's end, as `probe.lua` spells it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ProbeEnd {
    Success = 0,
    Failure = 1,
    Release = 2,
}

/// This process's counters of calls through the breaker.
#[derive(Debug, Default)]
struct Counters {
    successful: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
    released: AtomicU64,
    transitions: AtomicU64,
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Everything a shared breaker's handles, permits and sync task share.
pub(crate) struct Engine {
    pub(crate) store: RedisStore,
    key: String,
    pub(crate) name: Box<str>,
    pub(crate) config: crate::CircuitBreakerConfig,
    core_config: BreakerConfig,
    clock: Arc<dyn Clock + Send + Sync>,
    view: ArcSwap<View>,
    /// Serialises the writers of `view` (replies and the sync task), and holds
    /// the version of the hash in the view; readers never wait.
    writer: Mutex<i64>,
    batch: Mutex<Batch>,
    /// Held by the sync in progress.
    syncing: tokio::sync::Mutex<()>,
    /// Whether failures were recorded that the view does not show yet (read
    /// on the success path without a lock; written under the batch's lock).
    pending: AtomicBool,
    counters: Counters,
    listener: Option<Listener>,
    /// Wakes the sync task: a failure waits to be reported.
    pub(crate) wake: Arc<Notify>,
    token_prefix: u64,
    tokens: AtomicU64,
}

/// Locks a mutex whose data stays consistent even if a holder panicked.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine {
    pub(crate) fn new(
        store: RedisStore,
        name: String,
        config: crate::CircuitBreakerConfig,
        core_config: BreakerConfig,
        clock: Arc<dyn Clock + Send + Sync>,
        listener: Option<Listener>,
    ) -> Self {
        Self {
            key: store.key("breaker", &name),
            store,
            name: name.into_boxed_str(),
            config,
            core_config,
            clock,
            view: ArcSwap::from_pointee(View::Shared(Mirror::new(
                SharedState::UNKNOWN,
                seawall_core::Instant::ZERO,
                false,
            ))),
            writer: Mutex::new(i64::MIN),
            batch: Mutex::new(Batch::new(UNKNOWN_ROUND)),
            syncing: tokio::sync::Mutex::const_new(()),
            pending: AtomicBool::new(false),
            counters: Counters::default(),
            listener,
            wake: Arc::new(Notify::new()),
            token_prefix: token_prefix(),
            tokens: AtomicU64::new(0),
        }
    }

    pub(crate) fn state(&self) -> State {
        self.view.load().state()
    }

    pub(crate) fn is_fallback(&self) -> bool {
        !matches!(**self.view.load(), View::Shared(_))
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
            slow: 0,
            rejected: c.rejected.load(Ordering::Relaxed),
            released,
            state_transitions: c.transitions.load(Ordering::Relaxed),
        }
    }

    // --- acquiring -------------------------------------------------------

    /// A ticket, or the rejection; asks Redis only past the end of an open
    /// duration and in half-open.
    pub(crate) async fn acquire(&self) -> Result<Ticket, Rejection> {
        let result = match self.acquire_local() {
            Some(result) => result,
            None => self.acquire_remote().await,
        };
        if result.is_err() {
            count(&self.counters.rejected);
        }
        result
    }

    /// The decision the local view can take alone; `None` to ask Redis.
    #[inline]
    fn acquire_local(&self) -> Option<Result<Ticket, Rejection>> {
        let view = self.view.load();
        match &**view {
            View::Shared(mirror) => match mirror.shared.state {
                // Not read yet (a process that just started): Redis decides.
                State::Closed if mirror.shared.generation == UNKNOWN_ROUND => None,
                State::Closed => Some(Ok(Ticket::Closed {
                    generation: mirror.shared.generation,
                    counting: mirror.counts_failures(),
                })),
                State::Disabled => Some(Ok(Ticket::Disabled)),
                State::ForcedOpen => Some(Err(FORCED_OPEN)),
                State::Open => {
                    let now = self.clock.now();
                    let remaining = mirror.deadline.saturating_duration_since(now);
                    // Further than Redis said (the local clock went backwards):
                    // ask Redis rather than trust it.
                    (!remaining.is_zero() && remaining <= mirror.shared.open_remaining)
                        .then(|| Err(open(remaining)))
                }
                State::HalfOpen => mirror.probes_full.then_some(Err(HALF_OPEN_FULL)),
            },
            View::Fallback(local) => Some(match local.try_acquire_ticket(&*self.clock) {
                Ok(ticket) => {
                    self.notify(ticket.transition());
                    Ok(Ticket::Local {
                        breaker: Arc::clone(local),
                        ticket,
                    })
                }
                Err(rejection) => {
                    self.notify(rejection.transition());
                    Err(rejection)
                }
            }),
            View::Unavailable => Some(Err(open(self.store.config().sync_interval))),
        }
    }

    async fn acquire_remote(&self) -> Result<Ticket, Rejection> {
        let token = format!(
            "{:016x}.{}",
            self.token_prefix,
            self.tokens.fetch_add(1, Ordering::Relaxed)
        );
        match self.eval(&scripts::ACQUIRE, &[Arg::Str(&token)]).await {
            Ok(reply) => {
                self.apply(&reply, false);
                let shared = reply.state;
                match reply.verdict {
                    Verdict::Probe => Ok(Ticket::Probe {
                        generation: shared.generation,
                        token,
                    }),
                    Verdict::Admitted if shared.state == State::Disabled => Ok(Ticket::Disabled),
                    Verdict::Admitted => Ok(Ticket::Closed {
                        generation: shared.generation,
                        counting: shared.consecutive_failures > 0,
                    }),
                    Verdict::Rejected => Err(self.rejection(&shared)),
                }
            }
            Err(_) => {
                self.fall_back();
                self.acquire_local()
                    .unwrap_or_else(|| Err(open(self.store.config().sync_interval)))
            }
        }
    }

    fn rejection(&self, shared: &SharedState) -> Rejection {
        match shared.state {
            State::HalfOpen => HALF_OPEN_FULL,
            State::ForcedOpen => FORCED_OPEN,
            State::Open => open(shared.open_remaining),
            // Not a rejecting state: come back at the next sync.
            State::Closed | State::Disabled => open(self.store.config().sync_interval),
        }
    }

    // --- recording -------------------------------------------------------

    /// Records the outcome of a ticket; a probe's goes to Redis at once.
    pub(crate) async fn record(&self, ticket: Ticket, outcome: Outcome) -> Option<Transition> {
        let failed = outcome == Outcome::Failure;
        count(if failed {
            &self.counters.failed
        } else {
            &self.counters.successful
        });
        match ticket {
            Ticket::Closed {
                generation,
                counting,
            } => {
                self.record_closed(generation, counting, failed);
                None
            }
            Ticket::Disabled => None,
            Ticket::Probe { generation, token } => {
                let end = if failed {
                    ProbeEnd::Failure
                } else {
                    ProbeEnd::Success
                };
                self.end_probe(generation, &token, end).await
            }
            Ticket::Local { breaker, ticket } => {
                let transition = breaker.record(ticket, outcome, None, &*self.clock);
                self.notify(transition);
                transition
            }
        }
    }

    /// A Closed outcome: a failure joins the batch and wakes the sync task; a
    /// success matters only when it ends a run of failures the fleet counted
    /// when the call was admitted, or that this process recorded since.
    #[inline]
    fn record_closed(&self, generation: i64, counting: bool, failed: bool) {
        if !failed && !counting && !self.pending.load(Ordering::Relaxed) {
            return;
        }
        {
            let mut batch = lock(&self.batch);
            let current = batch.generation == generation
                || (generation == UNKNOWN_ROUND && batch.generation != NO_ROUND);
            if !current {
                // A permit of an earlier round, or Redis is unreachable.
                return;
            }
            if failed {
                batch.failure();
                self.pending.store(true, Ordering::Relaxed);
            } else {
                batch.success();
            }
        }
        if failed {
            self.wake.notify_one();
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
                self.store.runtime().spawn(async move {
                    engine
                        .end_probe(generation, &token, ProbeEnd::Release)
                        .await;
                });
            }
        }
    }

    pub(crate) async fn end_probe(
        &self,
        generation: i64,
        token: &str,
        end: ProbeEnd,
    ) -> Option<Transition> {
        let args = [Arg::Int(generation), Arg::Str(token), Arg::Uint(end as u64)];
        match self.eval(&scripts::PROBE, &args).await {
            Ok(reply) => {
                self.apply(&reply, false);
                reply.transition
            }
            Err(_) => {
                self.fall_back();
                None
            }
        }
    }

    // --- talking to Redis ------------------------------------------------

    async fn eval(&self, script: &redis::Script, extra: &[Arg<'_>]) -> Result<Reply, StoreError> {
        let config = scripts::config_args(&self.core_config, self.store.config().probe_lease);
        let args: Vec<Arg<'_>> = config.iter().chain(extra).copied().collect();
        let values = self.store.eval(script, &self.key, &args).await?;
        Reply::parse(&values)
    }

    /// Reports the batch (if any) and reads the shared state; in fallback,
    /// tries Redis and resumes the shared state if it answers.
    pub(crate) async fn sync(&self) -> Result<SharedState, StoreError> {
        // One at a time: a sync that returns has seen every outcome recorded
        // before it started, even those another sync was sending.
        let _one = self.syncing.lock().await;
        let batch = if matches!(**self.view.load(), View::Shared(_)) {
            // `pending` stays set until the reply is in the view: a success
            // meanwhile must still be reported.
            let mut batch = lock(&self.batch);
            let generation = batch.generation;
            batch.take(generation)
        } else {
            Batch::new(NO_ROUND)
        };
        let result = if batch.is_empty() {
            self.eval(&scripts::READ, &[]).await
        } else {
            let args = [
                Arg::Int(batch.generation),
                Arg::Uint(batch.failures.into()),
                Arg::Uint(batch.trailing.into()),
                Arg::Uint(batch.reset.into()),
            ];
            self.eval(&scripts::REPORT, &args).await
        };
        match result {
            Ok(reply) => {
                self.apply(&reply, true);
                Ok(reply.state)
            }
            Err(error) => {
                self.fall_back();
                Err(error)
            }
        }
    }

    /// `force_open`, `disable` or `reset`, for the whole fleet.
    pub(crate) async fn manual(&self, op: &str) -> Result<Option<Transition>, StoreError> {
        match self.eval(&scripts::MANUAL, &[Arg::Str(op)]).await {
            Ok(reply) => {
                self.apply(&reply, true);
                Ok(reply.transition)
            }
            Err(error) => {
                self.fall_back();
                Err(error)
            }
        }
    }

    // --- the view --------------------------------------------------------

    /// Takes in a reply, unless the view holds a newer version of the state
    /// already. `authoritative` (a sync, a manual operation) ends a fallback; a
    /// reply to a call is taken only while Redis is in use.
    fn apply(&self, reply: &Reply, authoritative: bool) {
        let mut version = lock(&self.writer);
        let old = self.view.load_full();
        match &*old {
            // A newer state is in the view already: the tasks waiting for
            // replies run in any order.
            View::Shared(_) if reply.version < *version => return,
            // The same state read earlier: more of its open duration left.
            View::Shared(mirror)
                if reply.version == *version
                    && reply.state.open_remaining > mirror.shared.open_remaining =>
            {
                return;
            }
            View::Shared(_) => {}
            // Back from a fallback: whatever Redis holds now (it may have
            // lost its data) is the state.
            _ if authoritative => {}
            _ => return,
        }
        let shared = reply.state;
        let full = shared.state == State::HalfOpen
            && (reply.verdict == Verdict::Rejected
                || shared.probes_in_flight >= self.core_config.half_open_max_calls());
        {
            let mut batch = lock(&self.batch);
            if batch.generation != shared.generation {
                if batch.generation == UNKNOWN_ROUND && shared.state == State::Closed {
                    batch.generation = shared.generation;
                } else {
                    // Outcomes of a round that is over, or counted by the
                    // fallback: never replayed.
                    *batch = Batch::new(shared.generation);
                }
            }
        }
        *version = reply.version;
        let mirror = Mirror::new(shared, self.clock.now(), full);
        self.replace(&old, View::Shared(mirror));
        // Now that the view shows the fleet's count, successes need reporting
        // only if failures wait in the batch.
        let batch = lock(&self.batch);
        self.pending.store(batch.failures > 0, Ordering::Relaxed);
    }

    /// Redis did not answer: the local fallback (or the rejection of every
    /// call) takes over, from the last shared state seen.
    fn fall_back(&self) {
        let _writer = lock(&self.writer);
        let old = self.view.load_full();
        let View::Shared(mirror) = &*old else {
            return;
        };
        *lock(&self.batch) = Batch::new(NO_ROUND);
        self.pending.store(false, Ordering::Relaxed);
        let view = match self.store.config().when_unavailable {
            WhenUnavailable::FailOpen => View::Fallback(Arc::new(
                mirror.fallback(&self.core_config, self.clock.now()),
            )),
            WhenUnavailable::FailClosed => View::Unavailable,
        };
        self.replace(&old, view);
    }

    /// Installs `view` (the caller holds `writer`) and reports the change of state.
    fn replace(&self, old: &View, view: View) {
        let (from, to) = (old.state(), view.state());
        self.view.store(Arc::new(view));
        if from != to {
            self.notify(Some(Transition { from, to }));
        }
    }

    fn notify(&self, transition: Option<Transition>) {
        if let Some(transition) = transition {
            count(&self.counters.transitions);
            if let Some(listener) = &self.listener {
                listener(&self.name, transition);
            }
        }
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
