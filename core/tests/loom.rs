//! loom models of the breaker's atomics: every interleaving of a few threads.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p seawall-core --test loom --release`
//! (the `loom` stage of `scripts/test.sh`).
#![cfg(loom)]

use std::time::Duration;

use loom::sync::Arc;
use loom::thread;
use seawall_core::breaker::{BreakerConfig, CircuitBreaker, State, Ticket, Transition};
use seawall_core::time::ManualClock;

type Breaker = CircuitBreaker<Arc<BreakerConfig>>;

fn breaker(failure_threshold: u32, half_open_max_calls: u32) -> (Arc<Breaker>, Arc<ManualClock>) {
    let config = BreakerConfig::builder()
        .failure_threshold(failure_threshold)
        .half_open_max_calls(half_open_max_calls)
        .success_threshold(1)
        .open_duration(Duration::from_secs(1))
        .build()
        .unwrap();
    (
        Arc::new(CircuitBreaker::new(Arc::new(config))),
        Arc::new(ManualClock::new()),
    )
}

/// Trips the breaker and lets its open duration pass: the next call is a probe.
fn ready_to_probe(breaker: &Breaker, clock: &ManualClock) {
    for _ in 0..breaker.config().failure_threshold() {
        breaker.try_acquire(clock).unwrap().failure(clock);
    }
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(1));
}

fn count(transitions: impl IntoIterator<Item = Option<Transition>>) -> u64 {
    transitions.into_iter().flatten().count() as u64
}

#[test]
fn racing_probes_never_exceed_the_limit() {
    loom::model(|| {
        let (breaker, clock) = breaker(1, 2);
        ready_to_probe(&breaker, &clock);
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let (breaker, clock) = (breaker.clone(), clock.clone());
                thread::spawn(move || breaker.try_acquire_ticket(&*clock).ok())
            })
            .collect();
        let tickets: Vec<Ticket> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(
            tickets.len(),
            2,
            "exactly the two probe slots are handed out"
        );
        assert_eq!(
            count(tickets.iter().map(Ticket::transition)),
            1,
            "one caller moved it to half-open"
        );
        assert_eq!(breaker.stats().rejected, 1);
        for ticket in tickets {
            breaker.release(ticket);
        }
        assert!(
            breaker.try_acquire(&*clock).unwrap().is_probe(),
            "released slots are free again"
        );
    });
}

#[test]
fn concurrent_failures_trip_exactly_once() {
    loom::model(|| {
        let (breaker, clock) = breaker(2, 1);
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let (breaker, clock) = (breaker.clone(), clock.clone());
                thread::spawn(move || match breaker.try_acquire(&*clock) {
                    Ok(permit) => permit.failure(&*clock),
                    Err(rejection) => rejection.transition(),
                })
            })
            .collect();
        let transitions = handles.into_iter().map(|h| h.join().unwrap());
        assert_eq!(count(transitions), 1);
        let stats = breaker.stats();
        assert_eq!(stats.state, State::Open);
        assert_eq!(stats.state_transitions, 1);
        assert_eq!(stats.failed + stats.rejected, 3);
    });
}

#[test]
fn a_probe_dropped_on_one_thread_frees_its_slot_for_another() {
    loom::model(|| {
        let (breaker, clock) = breaker(1, 1);
        ready_to_probe(&breaker, &clock);
        let probe = breaker.try_acquire_ticket(&*clock).unwrap();
        let dropper = {
            let breaker = breaker.clone();
            thread::spawn(move || breaker.release(probe))
        };
        let taker = {
            let (breaker, clock) = (breaker.clone(), clock.clone());
            thread::spawn(move || breaker.try_acquire_ticket(&*clock).ok())
        };
        dropper.join().unwrap();
        match taker.join().unwrap() {
            // Taken after the release: the slot moved from one thread to the other.
            Some(ticket) => {
                assert!(
                    breaker.try_acquire(&*clock).is_err(),
                    "one slot, held by the taker"
                );
                breaker.release(ticket);
            }
            // Tried before the release, and rejected.
            None => assert_eq!(breaker.stats().rejected, 1),
        }
        assert!(
            breaker.try_acquire(&*clock).unwrap().is_probe(),
            "the slot is free at the end"
        );
    });
}

#[test]
fn force_open_racing_a_trip_ends_forced_open() {
    loom::model(|| {
        let (breaker, clock) = breaker(1, 1);
        let permit_holder = {
            let (breaker, clock) = (breaker.clone(), clock.clone());
            thread::spawn(move || {
                breaker
                    .try_acquire(&*clock)
                    .ok()
                    .and_then(|p| p.failure(&*clock))
            })
        };
        let forcer = {
            let breaker = breaker.clone();
            thread::spawn(move || breaker.force_open())
        };
        let reported = count([permit_holder.join().unwrap(), forcer.join().unwrap()]);
        let stats = breaker.stats();
        assert_eq!(stats.state, State::ForcedOpen);
        assert_eq!(
            stats.state_transitions, reported,
            "every transition is reported once"
        );
    });
}

#[test]
fn reset_racing_a_trip_reports_every_transition() {
    loom::model(|| {
        let (breaker, clock) = breaker(1, 1);
        let tripper = {
            let (breaker, clock) = (breaker.clone(), clock.clone());
            thread::spawn(move || breaker.try_acquire(&*clock).unwrap().failure(&*clock))
        };
        let resetter = {
            let breaker = breaker.clone();
            thread::spawn(move || breaker.reset())
        };
        let reported = count([tripper.join().unwrap(), resetter.join().unwrap()]);
        let stats = breaker.stats();
        assert!(
            matches!(stats.state, State::Closed | State::Open),
            "{:?}",
            stats.state
        );
        assert_eq!(stats.state_transitions, reported);
        assert_eq!(stats.failed, 1);
    });
}
