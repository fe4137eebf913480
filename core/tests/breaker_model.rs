//! The breaker against a reference model: random sequences of operations, and
//! every decision, transition, state and counter must agree.
//!
//! The model is the rules of `seawall_core::breaker` written plainly, one call at
//! a time, with no atomics and no packing. Failing cases are kept in
//! `breaker_model.proptest-regressions` and replayed first.

use std::collections::VecDeque;
use std::time::Duration;

use proptest::prelude::*;
use seawall_core::breaker::{
    AnyWindow, BreakerConfig, Bucket, CircuitBreaker, CountWindow, Outcome, Permit, RejectReason,
    Slot, State, Transition,
};
use seawall_core::time::{Instant, ManualClock};

const MS: u64 = 1_000_000;

type Window = AnyWindow<Vec<Slot>, Vec<Bucket>>;

#[derive(Debug, Clone)]
struct Setup {
    failure_threshold: u32,
    success_threshold: u32,
    half_open_max_calls: u32,
    open_ms: u64,
    multiplier: f64,
    max_open_ms: Option<u64>,
    max_wait_ms: Option<u64>,
    slow_ms: u64,
    /// `Some((size, minimum_calls, failure ppm, slow ppm))`: rate rule on a count window.
    rate: Option<(usize, u32, u32, u32)>,
}

impl Setup {
    fn config(&self) -> BreakerConfig {
        let mut b = BreakerConfig::builder()
            .failure_threshold(self.failure_threshold)
            .success_threshold(self.success_threshold)
            .half_open_max_calls(self.half_open_max_calls)
            .open_duration(Duration::from_millis(self.open_ms))
            .open_duration_multiplier(self.multiplier)
            .slow_call_duration(Duration::from_millis(self.slow_ms));
        if let Some(max) = self.max_open_ms {
            b = b.max_open_duration(Duration::from_millis(max));
        }
        if let Some(wait) = self.max_wait_ms {
            b = b.max_wait_in_half_open(Duration::from_millis(wait));
        }
        if let Some((_, minimum, failure_ppm, slow_ppm)) = self.rate {
            b = b
                .minimum_calls(minimum)
                .failure_rate_threshold(f64::from(failure_ppm) / 1e6)
                .slow_call_rate_threshold(f64::from(slow_ppm) / 1e6);
        }
        b.build().unwrap()
    }

    fn window(&self) -> Window {
        match self.rate {
            None => AnyWindow::None,
            Some((size, ..)) => AnyWindow::Count(
                CountWindow::with_storage((0..size).map(|_| Slot::new()).collect()).unwrap(),
            ),
        }
    }

    fn open_after(&self, trips: u32) -> u64 {
        let base = self.open_ms * MS;
        let max = self.max_open_ms.map_or(u64::MAX, |m| m * MS);
        // Each trip after the first multiplies the previous duration, rounded
        // down to the nanosecond; trips saturate at 127, as the breaker's do.
        let factor = (self.multiplier * 65536.0) as u128;
        let mut d = u128::from(base);
        for _ in 1..trips.min(127) {
            d = (d * factor / 65536).min(u128::from(u64::MAX));
        }
        (d as u64).min(max)
    }

    fn longest_open(&self) -> u64 {
        self.open_after(127)
    }
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        1u32..5,
        1u32..4,
        1u32..4,
        1u64..6,
        prop_oneof![Just(1.0), Just(2.0), Just(1.5)],
        prop::option::of(6u64..20),
        prop::option::of(1u64..8),
        1u64..4,
        prop::option::of((
            1usize..7,
            1u32..8,
            prop_oneof![Just(250_000u32), Just(500_000), Just(1_000_000)],
            prop_oneof![Just(500_000u32), Just(1_000_000)],
        )),
    )
        .prop_map(
            |(f, s, h, open, multiplier, max_open, max_wait, slow, rate)| Setup {
                failure_threshold: f,
                success_threshold: s,
                half_open_max_calls: h,
                open_ms: open,
                multiplier,
                max_open_ms: max_open,
                max_wait_ms: max_wait,
                slow_ms: slow,
                rate,
            },
        )
}

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Back(u64),
    Acquire,
    Success(usize),
    Failure(usize),
    SlowSuccess(usize),
    SlowFailure(usize),
    Drop(usize),
    ForceOpen,
    Disable,
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..3_000).prop_map(Op::Advance),
        3 => (0u64..10).prop_map(Op::Advance),
        1 => (0u64..2_000).prop_map(Op::Back),
        8 => Just(Op::Acquire),
        4 => any::<usize>().prop_map(Op::Success),
        5 => any::<usize>().prop_map(Op::Failure),
        1 => any::<usize>().prop_map(Op::SlowSuccess),
        1 => any::<usize>().prop_map(Op::SlowFailure),
        2 => any::<usize>().prop_map(Op::Drop),
        1 => Just(Op::ForceOpen),
        1 => Just(Op::Disable),
        1 => Just(Op::Reset),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum MState {
    Closed {
        failures: u32,
    },
    Open {
        deadline: u64,
        trips: u32,
    },
    HalfOpen {
        trips: u32,
        inflight: u32,
        successes: u32,
        slow: u32,
    },
    Forced,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Closed,
    Probe,
    Disabled,
}

#[derive(Debug, Default, PartialEq)]
struct Counts {
    successful: u64,
    failed: u64,
    slow: u64,
    rejected: u64,
    released: u64,
}

struct Model {
    setup: Setup,
    state: MState,
    generation: u64,
    /// The breaker's `instant` word while half-open: the latest activity.
    activity: u64,
    window: VecDeque<(bool, bool)>,
    counts: Counts,
}

fn public(state: MState) -> State {
    match state {
        MState::Closed { .. } => State::Closed,
        MState::Open { .. } => State::Open,
        MState::HalfOpen { .. } => State::HalfOpen,
        MState::Forced => State::ForcedOpen,
        MState::Disabled => State::Disabled,
    }
}

type Acquired =
    Result<(u64, Kind, Option<Transition>), (RejectReason, Option<u64>, Option<Transition>)>;

impl Model {
    fn new(setup: Setup) -> Self {
        Model {
            setup,
            state: MState::Closed { failures: 0 },
            generation: 0,
            activity: 0,
            window: VecDeque::new(),
            counts: Counts::default(),
        }
    }

    fn go(&mut self, next: MState) -> Option<Transition> {
        let from = public(self.state);
        self.state = next;
        self.generation += 1;
        Some(Transition {
            from,
            to: public(next),
        })
    }

    /// Opens; the window keeps the outcomes that opened it.
    fn trip(&mut self, trips: u32, now: u64) -> Option<Transition> {
        let deadline = now.saturating_add(self.setup.open_after(trips));
        self.go(MState::Open { deadline, trips })
    }

    fn acquire(&mut self, now: u64) -> Acquired {
        let max_wait = self.setup.max_wait_ms.map(|ms| ms * MS);
        match self.state {
            MState::Closed { .. } => Ok((self.generation, Kind::Closed, None)),
            MState::Disabled => Ok((self.generation, Kind::Disabled, None)),
            MState::Forced => {
                self.counts.rejected += 1;
                Err((RejectReason::ForcedOpen, None, None))
            }
            MState::Open { deadline, trips } => {
                if now < deadline {
                    let mut remaining = deadline - now;
                    if remaining > self.setup.longest_open() {
                        remaining = self.setup.open_after(trips);
                        self.state = MState::Open {
                            deadline: now + remaining,
                            trips,
                        };
                    }
                    self.counts.rejected += 1;
                    return Err((RejectReason::Open, Some(remaining), None));
                }
                if max_wait.is_some() {
                    // A new round: its activity starts at the deadline or now.
                    self.activity = deadline.max(now);
                }
                let t = self.go(MState::HalfOpen {
                    trips,
                    inflight: 1,
                    successes: 0,
                    slow: 0,
                });
                Ok((self.generation, Kind::Probe, t))
            }
            MState::HalfOpen {
                trips,
                inflight,
                successes,
                slow,
            } => {
                if inflight < self.setup.half_open_max_calls {
                    if max_wait.is_some() {
                        self.activity = self.activity.max(now);
                    }
                    self.state = MState::HalfOpen {
                        trips,
                        inflight: inflight + 1,
                        successes,
                        slow,
                    };
                    return Ok((self.generation, Kind::Probe, None));
                }
                if let Some(wait) = max_wait
                    && now.saturating_sub(self.activity) >= wait
                {
                    {
                        let trips = (trips + 1).min(127);
                        let t = self.trip(trips, now);
                        self.counts.rejected += 1;
                        return Err((RejectReason::Open, Some(self.setup.open_after(trips)), t));
                    }
                }
                self.counts.rejected += 1;
                Err((RejectReason::HalfOpenFull, None, None))
            }
        }
    }

    fn record(
        &mut self,
        generation: u64,
        kind: Kind,
        failed: bool,
        latency_ms: Option<u64>,
        now: u64,
    ) -> Option<Transition> {
        if failed {
            self.counts.failed += 1;
        } else {
            self.counts.successful += 1;
        }
        let slow = latency_ms.is_some_and(|ms| ms > self.setup.slow_ms);
        if slow {
            self.counts.slow += 1;
        }
        let current = generation == self.generation;
        match (kind, self.state) {
            (Kind::Closed, MState::Closed { failures }) if current => match self.setup.rate {
                Some((size, minimum, failure_ppm, slow_ppm)) => {
                    self.window.push_back((failed, slow));
                    if self.window.len() > size {
                        self.window.pop_front();
                    }
                    let calls = self.window.len() as u64;
                    let f = self.window.iter().filter(|(f, _)| *f).count() as u64;
                    let s = self.window.iter().filter(|(_, s)| *s).count() as u64;
                    let minimum = u64::from(minimum).min(size as u64);
                    let trips = calls >= minimum
                        && (f * 1_000_000 >= u64::from(failure_ppm) * calls
                            || s * 1_000_000 >= u64::from(slow_ppm) * calls);
                    if trips { self.trip(1, now) } else { None }
                }
                None if failed => {
                    if failures + 1 >= self.setup.failure_threshold {
                        self.trip(1, now)
                    } else {
                        self.state = MState::Closed {
                            failures: failures + 1,
                        };
                        None
                    }
                }
                None => {
                    self.state = MState::Closed { failures: 0 };
                    None
                }
            },
            (
                Kind::Probe,
                MState::HalfOpen {
                    trips,
                    inflight,
                    successes,
                    slow: slow_probes,
                },
            ) if current => {
                if failed {
                    return self.trip((trips + 1).min(127), now);
                }
                let slow_probes = slow_probes + u32::from(slow);
                if successes + 1 >= self.setup.success_threshold {
                    // With a window, slow probes at the slow-call rate reopen.
                    if let Some((_, _, _, slow_ppm)) = self.setup.rate
                        && u64::from(slow_probes) * 1_000_000
                            >= u64::from(slow_ppm) * u64::from(successes + 1)
                    {
                        return self.trip((trips + 1).min(127), now);
                    }
                    // Closing starts a fresh window.
                    self.window.clear();
                    return self.go(MState::Closed { failures: 0 });
                }
                self.state = MState::HalfOpen {
                    trips,
                    inflight: inflight.saturating_sub(1),
                    successes: successes + 1,
                    slow: slow_probes,
                };
                if self.setup.max_wait_ms.is_some() {
                    self.activity = self.activity.max(now);
                }
                None
            }
            _ => None,
        }
    }

    fn release(&mut self, generation: u64, kind: Kind) {
        self.counts.released += 1;
        if let (
            Kind::Probe,
            MState::HalfOpen {
                trips,
                inflight,
                successes,
                slow,
            },
        ) = (kind, self.state)
            && generation == self.generation
            && inflight > 0
        {
            self.state = MState::HalfOpen {
                trips,
                inflight: inflight - 1,
                successes,
                slow,
            };
        }
    }

    fn force_open(&mut self) -> Option<Transition> {
        if self.state == MState::Forced {
            None
        } else {
            self.go(MState::Forced)
        }
    }

    fn disable(&mut self) -> Option<Transition> {
        if self.state == MState::Disabled {
            None
        } else {
            self.go(MState::Disabled)
        }
    }

    fn reset(&mut self) -> Option<Transition> {
        self.window.clear();
        match self.state {
            MState::Closed { .. } => {
                self.state = MState::Closed { failures: 0 };
                None
            }
            _ => self.go(MState::Closed { failures: 0 }),
        }
    }
}

fn run(setup: Setup, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let config = setup.config();
    let breaker = CircuitBreaker::with_window(&config, setup.window());
    let clock = ManualClock::starting_at(Instant::from_secs(10));
    let mut model = Model::new(setup);
    let mut held: Vec<(Permit<'_, &BreakerConfig, Window>, u64, Kind)> = Vec::new();

    for (step, op) in ops.into_iter().enumerate() {
        let now = clock.now_nanos();
        match op {
            Op::Advance(ms) => clock.advance(Duration::from_millis(ms)),
            Op::Back(ms) => clock.set(Instant::from_nanos(now.saturating_sub(ms * MS))),
            Op::Acquire => {
                let expected = model.acquire(now);
                match (breaker.try_acquire(&clock), expected) {
                    (Ok(permit), Ok((generation, kind, transition))) => {
                        prop_assert_eq!(permit.transition(), transition, "step {}", step);
                        prop_assert_eq!(permit.is_probe(), kind == Kind::Probe, "step {}", step);
                        held.push((permit, generation, kind));
                    }
                    (Err(rejection), Err((reason, retry_after, transition))) => {
                        prop_assert_eq!(rejection.reason(), reason, "step {}", step);
                        // A rejection reports at most 2^55 - 2 ns (416 days).
                        let reported = retry_after.map(|ns| ns.min((1 << 55) - 2));
                        prop_assert_eq!(
                            rejection.retry_after(),
                            reported.map(Duration::from_nanos),
                            "step {}",
                            step
                        );
                        prop_assert_eq!(rejection.transition(), transition, "step {}", step);
                    }
                    (actual, expected) => {
                        return Err(TestCaseError::fail(format!(
                            "step {step}: breaker {:?}, model {expected:?}",
                            actual.map(|p| p.transition())
                        )));
                    }
                }
            }
            Op::Success(i) | Op::Failure(i) | Op::SlowSuccess(i) | Op::SlowFailure(i)
                if !held.is_empty() =>
            {
                let (permit, generation, kind) = held.remove(i % held.len());
                let failed = matches!(op, Op::Failure(_) | Op::SlowFailure(_));
                let latency_ms = match op {
                    Op::SlowSuccess(_) | Op::SlowFailure(_) => Some(model.setup.slow_ms + 1),
                    _ => Some(model.setup.slow_ms),
                };
                let expected = model.record(generation, kind, failed, latency_ms, now);
                let outcome = if failed {
                    Outcome::Failure
                } else {
                    Outcome::Success
                };
                let actual = permit.record(outcome, latency_ms.map(Duration::from_millis), &clock);
                prop_assert_eq!(actual, expected, "step {}", step);
            }
            Op::Drop(i) if !held.is_empty() => {
                let (permit, generation, kind) = held.remove(i % held.len());
                model.release(generation, kind);
                drop(permit);
            }
            Op::ForceOpen => {
                prop_assert_eq!(breaker.force_open(), model.force_open(), "step {}", step)
            }
            Op::Disable => prop_assert_eq!(breaker.disable(), model.disable(), "step {}", step),
            Op::Reset => prop_assert_eq!(breaker.reset(), model.reset(), "step {}", step),
            _ => {}
        }
        let stats = breaker.stats();
        prop_assert_eq!(
            stats.state,
            public(model.state),
            "state after step {}",
            step
        );
        prop_assert_eq!(
            stats.state_transitions,
            model.generation,
            "transitions after step {}",
            step
        );
        let counts = Counts {
            successful: stats.successful,
            failed: stats.failed,
            slow: stats.slow,
            rejected: stats.rejected,
            released: stats.released,
        };
        prop_assert_eq!(&counts, &model.counts, "counters after step {}", step);
        prop_assert_eq!(
            stats.permitted,
            counts.successful + counts.failed + counts.released
        );
        let totals = breaker.window_totals(&clock);
        prop_assert_eq!(
            totals.calls as usize,
            model.window.len(),
            "window after step {}",
            step
        );
        prop_assert_eq!(
            totals.failed as usize,
            model.window.iter().filter(|(f, _)| *f).count()
        );
    }
    Ok(())
}

trait NowNanos {
    fn now_nanos(&self) -> u64;
}

impl NowNanos for ManualClock {
    fn now_nanos(&self) -> u64 {
        seawall_core::time::Clock::now(self).as_nanos()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn the_breaker_agrees_with_the_model(setup in setup(), ops in prop::collection::vec(op(), 1..80)) {
        run(setup, ops)?;
    }
}
