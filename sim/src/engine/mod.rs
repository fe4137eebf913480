//! The discrete-event engine: one configuration over the run's traffic, in
//! virtual time.
//!
//! Time is a number of nanoseconds that jumps from one event to the next (a
//! call arrives, an attempt ends, a backoff or a wait is over); nothing sleeps.
//! Every decision is the core's, asked with the event's time as its clock
//! (`seawall_core::time::Instant` is a clock stopped at an instant).
//!
//! A call's attempt goes through the configuration in the order of
//! [`crate::policy`]: breaker, rate limiter, bulkhead, then the dependency,
//! limited by the timeout. When it ends, the breaker records it; a failure or
//! a refusal goes to the retry policy, which answers a delay or gives up.

use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};

use seawall_core::breaker::{Ticket, Transition};
use seawall_core::bulkhead::BulkheadTicket;
use seawall_core::retry::RetryState;
use seawall_core::rng::SplitMix64;
use serde::Serialize;

mod attempt;
mod event;
mod server;

use event::{Event, SEQ_BITS, What};

use crate::draw::{Draws, Stream};
use crate::episode::Conditions;
use crate::histogram::Histogram;
use crate::metrics::Summary;
use crate::policy::{Stack, Token};
use crate::slab::Slab;
use crate::timeline::{Row, Timeline};
use crate::trace::Trace;
use crate::traffic::{Load, OpenArrivals, client_key};
use server::Server;

/// A compiled scenario: the same for every configuration of a run.
pub(crate) struct Model {
    pub(crate) draws: Draws,
    /// No call arrives after this.
    pub(crate) duration: u64,
    pub(crate) step: u64,
    pub(crate) source: Source,
    pub(crate) keys: u32,
    /// `(max, delay)` of callers' own retries.
    pub(crate) client_retries: Option<(u32, u64)>,
    /// The dependency's workers, if it has a capacity.
    pub(crate) capacity: Option<u32>,
}

/// Where calls and the dependency's answers come from.
pub(crate) enum Source {
    /// A traffic model and the dependency's conditions over time.
    Model { load: Load, conditions: Conditions },
    /// A recorded trace.
    Trace(Trace),
}

/// A breaker's change of state during a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionRecord {
    /// When, in seconds from the start.
    pub t_s: f64,
    /// The key of a keyed breaker (empty for one breaker).
    pub key: String,
    /// The state before.
    pub from: &'static str,
    /// The state after.
    pub to: &'static str,
}

/// What one configuration did.
pub(crate) struct Outcomes {
    pub(crate) summary: Summary,
    pub(crate) rows: Vec<Row>,
    pub(crate) transitions: Vec<TransitionRecord>,
    /// `(time, key, transition)`, for detection times.
    pub(crate) changes: Vec<(u64, u32, Transition)>,
}

/// What the dependency does with one attempt.
#[derive(Debug, Clone, Copy)]
struct Answer {
    latency: u64,
    failed: bool,
    hang: bool,
}

struct Call {
    arrival: u64,
    /// The draw address of the call.
    id: u64,
    client: u32,
    key: u32,
    /// How many times its caller sent it again on their own.
    try_no: u32,
    attempts: u32,
    retry: Option<(RetryState, SplitMix64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the rate limiter's turn since the time given.
    Limiter(u64),
    /// Queued for a bulkhead place until the time given.
    Queued(u64),
    /// At the dependency since the time given.
    Running(u64),
}

struct Attempt {
    call: u32,
    ticket: Option<Ticket>,
    place: Option<BulkheadTicket>,
    /// The attempt's place under the adaptive limit, if any.
    limit: Option<Token>,
    phase: Phase,
    timed_out: bool,
    answer: Answer,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Succeeded,
    Failed,
    Rejected,
}

/// Closed-loop clients have no key of their own beyond this.
const NO_CLIENT: u32 = u32::MAX;

/// Events between two reports of progress.
const PROGRESS_EVERY: u32 = 1 << 16;

pub(crate) struct Engine<'a> {
    model: &'a Model,
    stack: Stack,
    queue: BinaryHeap<Event>,
    seq: u64,
    calls: Slab<Call>,
    attempts: Slab<Attempt>,
    open: Option<OpenArrivals>,
    next_record: usize,
    client_calls: Vec<u64>,
    cursor: usize,
    summary: Summary,
    latencies: Histogram,
    succeeded_latencies: Histogram,
    timeline: Timeline,
    changes: Vec<(u64, u32, Transition)>,
    server: Option<Server>,
    now: u64,
}

impl<'a> Engine<'a> {
    pub(crate) fn new(model: &'a Model, stack: Stack) -> Self {
        let mut engine = Self {
            model,
            stack,
            queue: BinaryHeap::new(),
            seq: 0,
            calls: Slab::default(),
            attempts: Slab::default(),
            open: None,
            next_record: 0,
            client_calls: Vec::new(),
            cursor: 0,
            summary: Summary::default(),
            latencies: Histogram::default(),
            succeeded_latencies: Histogram::default(),
            timeline: Timeline::new(model.step),
            changes: Vec::new(),
            server: model.capacity.map(Server::new),
            now: 0,
        };
        match &model.source {
            Source::Model {
                load: Load::Open { gap, keys, surges },
                ..
            } => {
                let arrivals = OpenArrivals::new(gap.clone(), *keys, surges.clone(), model.draws);
                engine.open = Some(arrivals);
            }
            Source::Model {
                load:
                    Load::Closed {
                        clients,
                        think,
                        keys,
                    },
                ..
            } => {
                engine.client_calls = vec![0; *clients as usize];
                for client in 0..*clients {
                    let mut rng = model.draws.rng(Stream::Think, u64::from(client), u64::MAX);
                    let first = think.sample(&mut rng);
                    engine.client_call(first, client, client_key(client, *keys));
                }
            }
            Source::Trace(_) => {}
        }
        engine
    }

    /// Runs to the end; `progress` is advanced to the virtual time reached
    /// (in nanoseconds), for a progress bar.
    pub(crate) fn run(mut self, progress: &AtomicU64) -> Outcomes {
        let mut reported = 0u64;
        let mut countdown = PROGRESS_EVERY;
        loop {
            let event_at = self.queue.peek().map(Event::at);
            let arrival_at = self.next_arrival();
            let now = match (event_at, arrival_at) {
                (None, None) => break,
                (Some(e), Some(a)) => e.min(a),
                (Some(t), None) | (None, Some(t)) => t,
            };
            self.now = now;
            while self.timeline.due(now) {
                self.close_step();
            }
            // Events before arrivals at the same time: an attempt that ends
            // frees its place before the next call asks for it.
            if event_at == Some(now) {
                let event = self.queue.pop().expect("peeked");
                self.dispatch(event);
            } else {
                self.arrive();
            }
            countdown -= 1;
            if countdown == 0 {
                countdown = PROGRESS_EVERY;
                let done = now.min(self.model.duration);
                progress.fetch_add(done - reported, Ordering::Relaxed);
                reported = done;
            }
        }
        progress.fetch_add(
            self.model.duration.saturating_sub(reported),
            Ordering::Relaxed,
        );
        // The last steps: up to the end of the run, or of the last event.
        let end = self.model.duration.max(self.now.saturating_add(1));
        while self.timeline.due(end.saturating_add(self.model.step - 1)) {
            self.close_step();
        }
        self.summary.unfinished = self.calls.len() as u64;
        self.summary
            .finish(&self.latencies, &self.succeeded_latencies);
        let transitions = self.transitions();
        Outcomes {
            summary: self.summary,
            rows: self.timeline.rows,
            transitions,
            changes: self.changes,
        }
    }

    /// The transitions, with the names of the keys of a keyed breaker.
    fn transitions(&self) -> Vec<TransitionRecord> {
        let keyed = self.stack.breakers.as_ref().is_some_and(|b| b.len() > 1);
        let name = |key: u32| match &self.model.source {
            _ if !keyed => String::new(),
            Source::Trace(trace) => trace.keys[key as usize].clone(),
            Source::Model { .. } => key.to_string(),
        };
        self.changes
            .iter()
            .map(|&(at, key, t)| TransitionRecord {
                t_s: at as f64 / 1e9,
                key: name(key),
                from: t.from.as_str(),
                to: t.to.as_str(),
            })
            .collect()
    }

    fn close_step(&mut self) {
        let (state, not_closed) = match &self.stack.breakers {
            Some(b) => (b.worst().as_str(), b.not_closed()),
            None => ("", 0),
        };
        let conditions = match &self.model.source {
            Source::Model { conditions, .. } => Some(conditions),
            Source::Trace(_) => None,
        };
        self.timeline.current.limit = self.stack.limit.as_ref().map_or(0, |l| l.limit());
        self.timeline.close(state, not_closed, conditions);
    }

    #[inline]
    fn schedule(&mut self, at: u64, what: What, slot: u32) {
        self.seq = (self.seq + 1) & ((1 << SEQ_BITS) - 1);
        self.queue.push(Event {
            key: (u128::from(at) << 64)
                | (u128::from(self.seq) << 35)
                | ((what as u128) << 32)
                | u128::from(slot),
        });
    }

    /// When the next open-loop or recorded call arrives, if one does.
    #[inline]
    fn next_arrival(&self) -> Option<u64> {
        let at = match (&self.open, &self.model.source) {
            (Some(open), _) => open.peek(),
            (None, Source::Trace(trace)) => trace.records.get(self.next_record)?.at,
            _ => return None,
        };
        (at < self.model.duration).then_some(at)
    }

    fn arrive(&mut self) {
        let now = self.now;
        let (id, key) = match &mut self.open {
            Some(open) => open.take(),
            None => {
                let Source::Trace(trace) = &self.model.source else {
                    unreachable!("arrivals come from the open loop or a trace")
                };
                let index = self.next_record;
                self.next_record += 1;
                (index as u64, trace.records[index].key)
            }
        };
        let slot = self.new_call(now, id, NO_CLIENT, key, 0);
        self.start_attempt(slot);
    }

    fn new_call(&mut self, arrival: u64, id: u64, client: u32, key: u32, try_no: u32) -> u32 {
        self.calls
            .insert(Call {
                arrival,
                id,
                client,
                key,
                try_no,
                attempts: 0,
                retry: None,
            })
            .0
    }

    /// A closed-loop client's next call, arriving at `at`.
    fn client_call(&mut self, at: u64, client: u32, key: u32) {
        let count = &mut self.client_calls[client as usize];
        let id = (u64::from(client) << 32) | *count;
        *count += 1;
        let slot = self.new_call(at, id, client, key, 0);
        self.schedule(at, What::Arrive, slot);
    }

    fn dispatch(&mut self, event: Event) {
        let slot = event.slot();
        match event.what() {
            What::Arrive | What::Retry => self.start_attempt(slot),
            What::Resume => self.pass_limiter(slot),
            What::Finish => self.finish(slot),
            What::Expire => self.expire(slot),
        }
    }

    fn end_call(&mut self, call_slot: u32, end: End) {
        let now = self.now;
        let call = self.calls.remove(call_slot);
        let latency = now - call.arrival;
        self.latencies.record(latency);
        self.timeline.current.ended(latency);
        match end {
            End::Succeeded => {
                self.summary.succeeded += 1;
                self.succeeded_latencies.record(latency);
                self.timeline.current.succeeded_latency(latency);
            }
            End::Failed => self.summary.failed += 1,
            End::Rejected => self.summary.rejected += 1,
        }
        // The caller's own retry, or a closed-loop client's next call.
        let again = match self.model.client_retries {
            Some((max, delay)) if end != End::Succeeded && call.try_no < max => {
                Some(now.saturating_add(delay))
            }
            _ => None,
        };
        if let Some(at) = again.filter(|at| *at < self.model.duration) {
            let slot = self.new_call(at, call.id, call.client, call.key, call.try_no + 1);
            self.schedule(at, What::Arrive, slot);
        } else if call.client != NO_CLIENT {
            let Source::Model {
                load: Load::Closed { think, .. },
                ..
            } = &self.model.source
            else {
                unreachable!("clients belong to a closed loop")
            };
            let count = self.client_calls[call.client as usize];
            let mut rng = self
                .model
                .draws
                .rng(Stream::Think, u64::from(call.client), count);
            let at = now.saturating_add(think.sample(&mut rng));
            if at < self.model.duration {
                self.client_call(at, call.client, call.key);
            }
        }
    }

    fn note(&mut self, key: u32, transition: Transition) {
        self.summary.transitions += 1;
        self.changes.push((self.now, key, transition));
    }
}
