//! The breaker's rules: a pure function of a plain state value, an input and
//! the time given.
//!
//! Where the state lives is the caller's choice. The local
//! [`CircuitBreaker`](super::CircuitBreaker) keeps it in atomic words and runs
//! these functions in a compare-and-swap loop; the tokio adapter's shared
//! breaker keeps it in Redis and runs the same functions between a read and a
//! version-checked compare-and-set, with Redis's time as the clock. Nothing here
//! reads a clock on its own (a [`Clock`] argument is read only when a decision
//! needs the time), writes anything, or counts statistics.
//!
//! Each function answers "what follows": `None` when the state stays as it is,
//! or the [`Change`] to store. A caller that fails to store it (another writer
//! got there first) reads the state again and asks again.
//!
//! ```
//! use core::time::Duration;
//! use seawall_core::breaker::rules::{self, Counted, Phase, Run, Snapshot};
//! use seawall_core::breaker::{BreakerConfig, State};
//! use seawall_core::time::Instant;
//!
//! let config = BreakerConfig::builder().failure_threshold(2).build().unwrap();
//! let now = Instant::from_secs(100);
//! let closed = Snapshot { generation: 7, phase: Phase::Closed { failures: 1 } };
//! // One more failure of round 7 trips the breaker.
//! let change = rules::record_closed(&config, &closed, 7, Counted::Consecutive(Run::FAILURE), &now)
//!     .expect("a trip");
//! assert_eq!(change.next.state(), State::Open);
//! assert_eq!(change.next.phase, Phase::Open { trips: 1, until: now + Duration::from_secs(60) });
//! // The same failure from an earlier round changes nothing.
//! assert!(rules::record_closed(&config, &closed, 6, Counted::Consecutive(Run::FAILURE), &now).is_none());
//! ```

use super::config::MAX_TRIPS;
use super::{BreakerConfig, RejectReason, Rejection, State, Transition, WindowTotals};
use crate::time::{Clock, Instant};

/// Where a breaker is, with what its rules need to decide the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Calls go through.
    Closed {
        /// Consecutive failures so far (the consecutive rule; 0 with a window).
        failures: u32,
    },
    /// Calls are rejected until `until`.
    Open {
        /// Consecutive trips, this one included (sets how long Open lasts).
        trips: u32,
        /// When the next call becomes a probe.
        until: Instant,
    },
    /// Probes test the dependency.
    HalfOpen {
        /// Consecutive trips so far.
        trips: u32,
        /// Probes in flight.
        probes: u32,
        /// Successful probes in this round.
        successes: u32,
        /// Of those, slow ones.
        slow: u32,
        /// The last time a probe was admitted or answered (kept only with
        /// `max_wait_in_half_open`).
        active: Instant,
    },
    /// Opened by hand.
    ForcedOpen,
    /// Switched off by hand.
    Disabled,
}

/// A breaker's whole state as a plain value: its [`Phase`] and its round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Snapshot {
    /// The round: it moves on every transition, and the outcome of a permit
    /// issued in another round changes nothing. Stores may keep fewer bits of
    /// it (the local breaker keeps 22): rounds are only ever compared.
    pub generation: u64,
    /// The phase.
    pub phase: Phase,
}

impl Snapshot {
    /// A new breaker: Closed, no failures, round 0.
    pub const INITIAL: Snapshot = Snapshot {
        generation: 0,
        phase: Phase::Closed { failures: 0 },
    };

    /// The state as users see it.
    pub const fn state(&self) -> State {
        match self.phase {
            Phase::Closed { .. } => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen { .. } => State::HalfOpen,
            Phase::ForcedOpen => State::ForcedOpen,
            Phase::Disabled => State::Disabled,
        }
    }

    /// The next round in `phase`.
    const fn next(&self, phase: Phase) -> Snapshot {
        Snapshot {
            generation: self.generation.wrapping_add(1),
            phase,
        }
    }
}

/// What a permit was issued as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PermitKind {
    /// Admitted in Closed: its outcome counts towards the trip rule.
    Closed,
    /// A half-open probe: holds one of the probe slots.
    Probe,
    /// Admitted while disabled: only counted.
    Disabled,
}

/// A permit handed out by [`acquire`]: its round, its kind, and the transition
/// acquiring it caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Issued {
    /// The round it belongs to.
    pub generation: u64,
    /// What it was issued as.
    pub kind: PermitKind,
    /// Open to HalfOpen, when it is the first probe.
    pub transition: Option<Transition>,
}

/// A change to store: the next state, the transition it is, and whether the
/// sliding window starts afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Change {
    /// The state to store.
    pub next: Snapshot,
    /// The change of state, if the state changes.
    pub transition: Option<Transition>,
    /// The window is cleared: the breaker closed after probing, or was reset.
    /// A trip keeps it, so its rates still say why the breaker opened.
    pub clears_window: bool,
}

impl Change {
    fn to(from: &Snapshot, next: Snapshot) -> Change {
        let (before, after) = (from.state(), next.state());
        Change {
            next,
            transition: (before != after).then_some(Transition {
                from: before,
                to: after,
            }),
            clears_window: false,
        }
    }
}

/// Closed outcomes in the order they ended, summarised for the consecutive
/// rule, so that a batch of them applies at once (a shared breaker reports
/// its outcomes once per sync interval). Runs compose with [`then`](Self::then);
/// one outcome is [`Run::FAILURE`] or [`Run::SUCCESS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Run {
    /// Failures before the first success (all of them, without a success).
    pub leading: u32,
    /// The longest run of failures after the first success.
    pub longest: u32,
    /// Failures after the last success.
    pub trailing: u32,
    /// Whether the run holds a success.
    pub broken: bool,
}

impl Run {
    /// One failure.
    pub const FAILURE: Run = Run {
        leading: 1,
        longest: 0,
        trailing: 0,
        broken: false,
    };
    /// One success.
    pub const SUCCESS: Run = Run {
        leading: 0,
        longest: 0,
        trailing: 0,
        broken: true,
    };

    /// Whether the run holds no outcome.
    pub const fn is_empty(&self) -> bool {
        self.leading == 0 && !self.broken
    }

    /// This run followed by `later` (counts saturate).
    pub const fn then(self, later: Run) -> Run {
        if !self.broken {
            return Run {
                leading: self.leading.saturating_add(later.leading),
                ..later
            };
        }
        let middle = self.trailing.saturating_add(later.leading);
        let (trailing, longest) = if later.broken {
            (
                later.trailing,
                max(max(self.longest, middle), later.longest),
            )
        } else {
            (middle, max(self.longest, middle))
        };
        Run {
            leading: self.leading,
            longest,
            trailing,
            broken: true,
        }
    }

    /// The consecutive failures after this run, from `failures` before it:
    /// `None` when `threshold` is reached on the way (the breaker trips).
    #[inline(always)]
    pub const fn after(self, failures: u32, threshold: u32) -> Option<u32> {
        let first = failures.saturating_add(self.leading);
        if (self.leading != 0 && first >= threshold)
            || (self.longest != 0 && self.longest >= threshold)
        {
            return None;
        }
        Some(if self.broken { self.trailing } else { first })
    }
}

const fn max(a: u32, b: u32) -> u32 {
    if a > b { a } else { b }
}

/// What the trip rule of a Closed breaker is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counted {
    /// The consecutive rule: the outcomes, in order.
    Consecutive(Run),
    /// The rate rule: the window's totals with the outcomes included, and the
    /// calls it must hold before its rates count.
    Rates {
        /// The window's totals now.
        totals: WindowTotals,
        /// `minimum_calls`, capped by a count window's size.
        minimum: u32,
    },
}

/// A manual operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Manual {
    /// Open until reset or disabled.
    ForceOpen,
    /// Admit everything, count, never trip.
    Disable,
    /// Closed, counts and window cleared, growth forgotten.
    Reset,
}

/// Asks to make a call: the permit or the rejection, and the state to store
/// (`None`: unchanged). Reads the clock only past Closed, Disabled and
/// ForcedOpen.
///
/// - Open rejects until `until`; then the call is the first probe of a new
///   round (HalfOpen). An `until` further away than any open duration this
///   configuration can set means the clock went backwards: Open restarts from now.
/// - HalfOpen admits up to `half_open_max_calls` probes at once; with every slot
///   taken and nothing admitted or answered for `max_wait_in_half_open`, it
///   reopens (the call is rejected, with the transition).
#[inline(always)]
pub fn acquire<K: Clock + ?Sized>(
    config: &BreakerConfig,
    s: &Snapshot,
    clock: &K,
) -> (Result<Issued, Rejection>, Option<Snapshot>) {
    let admit = |kind| {
        Ok(Issued {
            generation: s.generation,
            kind,
            transition: None,
        })
    };
    match s.phase {
        Phase::Closed { .. } => (admit(PermitKind::Closed), None),
        Phase::Disabled => (admit(PermitKind::Disabled), None),
        Phase::ForcedOpen => (
            Err(Rejection::packed(RejectReason::ForcedOpen, None, None)),
            None,
        ),
        Phase::Open { trips, until } => {
            let now = clock.now();
            let remaining = until.as_nanos().saturating_sub(now.as_nanos());
            // 0 < remaining <= longest, in one comparison.
            if remaining.wrapping_sub(1) < config.longest_open_nanos() {
                return (
                    Err(Rejection::packed(RejectReason::Open, Some(remaining), None)),
                    None,
                );
            }
            acquire_open_slow(config, s.generation, trips, now, remaining)
        }
        Phase::HalfOpen {
            trips,
            probes,
            successes,
            slow,
            active,
        } => acquire_half_open(config, s, (trips, probes, successes, slow, active), clock),
    }
}

/// Open, past the deadline (a probe) or before an impossible one (restart).
#[inline(never)]
fn acquire_open_slow(
    config: &BreakerConfig,
    generation: u64,
    trips: u32,
    now: Instant,
    remaining: u64,
) -> (Result<Issued, Rejection>, Option<Snapshot>) {
    let s = Snapshot {
        generation,
        phase: Phase::Open { trips, until: now },
    };
    if remaining != 0 {
        // The clock went backwards past anything this breaker could have set:
        // restart the open duration from now rather than stay open for as
        // long as the clock jumped.
        let after = config.open_nanos_after(trips);
        let next = Snapshot {
            phase: Phase::Open {
                trips,
                until: at(now, after),
            },
            ..s
        };
        let rejection = Rejection::packed(RejectReason::Open, Some(after), None);
        return (Err(rejection), Some(next));
    }
    let next = s.next(Phase::HalfOpen {
        trips,
        probes: 1,
        successes: 0,
        slow: 0,
        active: now,
    });
    let issued = Issued {
        generation: next.generation,
        kind: PermitKind::Probe,
        transition: Some(Transition {
            from: State::Open,
            to: State::HalfOpen,
        }),
    };
    (Ok(issued), Some(next))
}

#[inline]
fn acquire_half_open<K: Clock + ?Sized>(
    config: &BreakerConfig,
    s: &Snapshot,
    (trips, probes, successes, slow, active): (u32, u32, u32, u32, Instant),
    clock: &K,
) -> (Result<Issued, Rejection>, Option<Snapshot>) {
    let max_wait = config.max_wait_nanos();
    if probes < config.half_open_max_calls() {
        let active = if max_wait != 0 {
            latest(active, clock.now())
        } else {
            active
        };
        let next = Snapshot {
            phase: Phase::HalfOpen {
                trips,
                probes: probes + 1,
                successes,
                slow,
                active,
            },
            ..*s
        };
        let issued = Issued {
            generation: s.generation,
            kind: PermitKind::Probe,
            transition: None,
        };
        return (Ok(issued), Some(next));
    }
    if max_wait != 0 {
        let now = clock.now();
        if now.as_nanos().saturating_sub(active.as_nanos()) >= max_wait {
            // Every slot is held by probes that do not answer.
            let trips = next_trips(trips);
            let change = trip(config, s, trips, now);
            let rejection = Rejection::packed(
                RejectReason::Open,
                Some(config.open_nanos_after(trips)),
                change.transition,
            );
            return (Err(rejection), Some(change.next));
        }
    }
    (
        Err(Rejection::packed(RejectReason::HalfOpenFull, None, None)),
        None,
    )
}

/// Whether the outcome of a permit of `generation` and `kind` still counts
/// towards the trip rule of `s`: a Closed permit of the current Closed round.
/// A store that keeps a window records into it only then.
#[inline(always)]
pub const fn counts(s: &Snapshot, generation: u64, kind: PermitKind) -> bool {
    matches!(kind, PermitKind::Closed)
        && matches!(s.phase, Phase::Closed { .. })
        && s.generation == generation
}

/// The end of Closed calls of round `generation`: the trip rule decides.
/// Trips (to Open, for the first open duration) when the consecutive failures
/// reach `failure_threshold`, or the window's failure or slow-call rate
/// reaches its threshold with at least the minimum of calls in it.
#[inline(always)]
pub fn record_closed<K: Clock + ?Sized>(
    config: &BreakerConfig,
    s: &Snapshot,
    generation: u64,
    counted: Counted,
    clock: &K,
) -> Option<Change> {
    let Phase::Closed { failures } = s.phase else {
        return None;
    };
    if s.generation != generation {
        return None;
    }
    let trips = match counted {
        Counted::Consecutive(run) => match run.after(failures, config.failure_threshold()) {
            Some(next) if next == failures => return None,
            Some(next) => {
                return Some(Change {
                    next: Snapshot {
                        generation,
                        phase: Phase::Closed { failures: next },
                    },
                    transition: None,
                    clears_window: false,
                });
            }
            None => true,
        },
        Counted::Rates { totals, minimum } => {
            config.rates_trip(totals.calls, totals.failed, totals.slow, minimum)
        }
    };
    if trips {
        Some(trip_closed(config, generation, clock.now()))
    } else {
        None
    }
}

/// The first trip, from Closed round `generation`.
#[inline(never)]
fn trip_closed(config: &BreakerConfig, generation: u64, now: Instant) -> Change {
    let from = Snapshot {
        generation,
        phase: Phase::Closed { failures: 0 },
    };
    trip(config, &from, 1, now)
}

/// The end of a probe of round `generation` (`rates`: the breaker has a
/// window, so the slow-call rule applies to probes too).
///
/// A failed probe reopens, for a longer open duration if it grows. After
/// `success_threshold` successful probes the breaker closes, unless the
/// probes' slow-call rate reaches `slow_call_rate_threshold`: then it reopens.
pub fn record_probe<K: Clock + ?Sized>(
    config: &BreakerConfig,
    s: &Snapshot,
    generation: u64,
    failed: bool,
    slow: bool,
    rates: bool,
    clock: &K,
) -> Option<Change> {
    let Phase::HalfOpen {
        trips,
        probes,
        successes,
        slow: slow_probes,
        active,
    } = s.phase
    else {
        return None;
    };
    if s.generation != generation {
        return None;
    }
    if failed {
        return Some(trip(config, s, next_trips(trips), clock.now()));
    }
    let successes = successes + 1;
    let slow_probes = slow_probes + u32::from(slow);
    if successes >= config.success_threshold() {
        if rates && config.slow_rate_reached(slow_probes, successes) {
            return Some(trip(config, s, next_trips(trips), clock.now()));
        }
        let mut change = Change::to(s, s.next(Phase::Closed { failures: 0 }));
        change.clears_window = true;
        return Some(change);
    }
    let active = if config.max_wait_nanos() != 0 {
        latest(active, clock.now())
    } else {
        active
    };
    let next = Snapshot {
        phase: Phase::HalfOpen {
            trips,
            probes: probes.saturating_sub(1),
            successes,
            slow: slow_probes,
            active,
        },
        ..*s
    };
    Some(Change::to(s, next))
}

/// A permit of round `generation` ended without an outcome: a probe frees its
/// slot; anything else changes nothing.
#[inline]
pub fn release(s: &Snapshot, generation: u64, kind: PermitKind) -> Option<Snapshot> {
    match (kind, s.phase) {
        (
            PermitKind::Probe,
            Phase::HalfOpen {
                trips,
                probes,
                successes,
                slow,
                active,
            },
        ) if s.generation == generation && probes > 0 => Some(Snapshot {
            phase: Phase::HalfOpen {
                trips,
                probes: probes - 1,
                successes,
                slow,
                active,
            },
            ..*s
        }),
        _ => None,
    }
}

/// A manual operation: force open, disable, or reset (which also clears the
/// consecutive failures of a Closed breaker, in the same round).
pub fn manual(s: &Snapshot, op: Manual) -> Option<Change> {
    let next = match (s.phase, op) {
        (Phase::ForcedOpen, Manual::ForceOpen) | (Phase::Disabled, Manual::Disable) => {
            return None;
        }
        (Phase::Closed { failures: 0 }, Manual::Reset) => return None,
        (Phase::Closed { .. }, Manual::Reset) => Snapshot {
            phase: Phase::Closed { failures: 0 },
            ..*s
        },
        (_, Manual::ForceOpen) => s.next(Phase::ForcedOpen),
        (_, Manual::Disable) => s.next(Phase::Disabled),
        (_, Manual::Reset) => s.next(Phase::Closed { failures: 0 }),
    };
    let mut change = Change::to(s, next);
    change.clears_window = op == Manual::Reset;
    Some(change)
}

/// Opens from `s` with `trips` consecutive trips, for the open duration they set.
fn trip(config: &BreakerConfig, s: &Snapshot, trips: u32, now: Instant) -> Change {
    let until = at(now, config.open_nanos_after(trips));
    Change::to(s, s.next(Phase::Open { trips, until }))
}

/// `trips + 1`, saturating where the open duration stops growing.
pub const fn next_trips(trips: u32) -> u32 {
    if trips >= MAX_TRIPS {
        MAX_TRIPS
    } else {
        trips + 1
    }
}

const fn at(now: Instant, nanos: u64) -> Instant {
    Instant::from_nanos(now.as_nanos().saturating_add(nanos))
}

const fn latest(a: Instant, b: Instant) -> Instant {
    if a.as_nanos() >= b.as_nanos() { a } else { b }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// `true` is a failure.
    fn fold(outcomes: &[bool]) -> Run {
        outcomes.iter().fold(Run::default(), |run, &failed| {
            run.then(if failed { Run::FAILURE } else { Run::SUCCESS })
        })
    }

    /// The consecutive rule applied one outcome at a time.
    fn one_by_one(mut failures: u32, threshold: u32, outcomes: &[bool]) -> Option<u32> {
        for &failed in outcomes {
            if failed {
                failures += 1;
                if failures >= threshold {
                    return None;
                }
            } else {
                failures = 0;
            }
        }
        Some(failures)
    }

    #[test]
    fn a_run_applies_as_its_outcomes_one_by_one() {
        // Every sequence of up to 8 outcomes, split anywhere, from any start.
        for len in 0..=8usize {
            for bits in 0..(1u32 << len) {
                let mut outcomes = [false; 8];
                for (i, failed) in outcomes.iter_mut().enumerate().take(len) {
                    *failed = bits >> i & 1 == 1;
                }
                let outcomes = &outcomes[..len];
                for split in 0..=len {
                    let (a, b) = outcomes.split_at(split);
                    let run = fold(a).then(fold(b));
                    assert_eq!(run, fold(outcomes), "{a:?}|{b:?}");
                    for threshold in 1..5 {
                        for start in 0..threshold {
                            assert_eq!(
                                run.after(start, threshold),
                                one_by_one(start, threshold, outcomes),
                                "{outcomes:?} from {start}, threshold {threshold}"
                            );
                        }
                    }
                }
            }
        }
        assert!(Run::default().is_empty());
        assert!(!Run::SUCCESS.is_empty());
    }

    #[test]
    fn slow_probes_reopen_instead_of_closing() {
        let config = BreakerConfig::builder()
            .success_threshold(2)
            .slow_call_rate_threshold(0.5)
            .build()
            .unwrap();
        let now = Instant::from_secs(5);
        let half_open = |successes, slow| Snapshot {
            generation: 3,
            phase: Phase::HalfOpen {
                trips: 1,
                probes: 1,
                successes,
                slow,
                active: Instant::ZERO,
            },
        };
        // Second success, one of two slow: reopens (rate rule only).
        let change = record_probe(&config, &half_open(1, 1), 3, false, false, true, &now).unwrap();
        assert_eq!(change.next.state(), State::Open);
        assert!(!change.clears_window);
        let change = record_probe(&config, &half_open(1, 1), 3, false, false, false, &now).unwrap();
        assert_eq!(change.next.state(), State::Closed);
        assert!(change.clears_window);
        // None slow: closes.
        let change = record_probe(&config, &half_open(1, 0), 3, false, false, true, &now).unwrap();
        assert_eq!(change.next.state(), State::Closed);
    }
}
