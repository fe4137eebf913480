//! Real threads hammering one breaker: 1,000,000 calls, and at the end every
//! counter is exact and every transition was reported to exactly one caller.

use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use seawall_core::breaker::{BreakerConfig, CircuitBreaker, Outcome, State};
use seawall_core::time::ManualClock;

const THREADS: usize = 4;
const CALLS_PER_THREAD: u64 = 250_000;

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    successful: u64,
    failed: u64,
    slow: u64,
    released: u64,
    rejected: u64,
    transitions: u64,
}

/// xorshift64*: a deterministic stream of outcomes per thread.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn a_million_calls_on_four_threads_count_exactly() {
    let config = BreakerConfig::builder()
        .failure_threshold(3)
        .success_threshold(2)
        .half_open_max_calls(2)
        .open_duration(Duration::from_micros(50))
        .slow_call_duration(Duration::from_micros(1))
        .build()
        .unwrap();
    let breaker = CircuitBreaker::new(&config);
    let clock = ManualClock::new();
    let barrier = Barrier::new(THREADS);

    let tallies: Vec<Tally> = thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|id| {
                let (breaker, clock, barrier) = (&breaker, &clock, &barrier);
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    let mut rng = 0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1);
                    barrier.wait();
                    for _ in 0..CALLS_PER_THREAD {
                        let roll = next(&mut rng);
                        if roll.is_multiple_of(16) {
                            clock.advance(Duration::from_micros(10));
                        }
                        match breaker.try_acquire(clock) {
                            Err(rejection) => {
                                tally.rejected += 1;
                                tally.transitions += u64::from(rejection.transition().is_some());
                            }
                            Ok(permit) => {
                                tally.transitions += u64::from(permit.transition().is_some());
                                // Phases of a few thousand calls: mostly failing, then mostly healthy.
                                let failing = (roll >> 40) % 8 < 3;
                                let slow = (roll >> 20).is_multiple_of(10);
                                let latency = Some(Duration::from_micros(if slow { 2 } else { 0 }));
                                let transition = match (roll >> 8) % 10 {
                                    0 => {
                                        drop(permit);
                                        tally.released += 1;
                                        None
                                    }
                                    _ if failing => {
                                        tally.failed += 1;
                                        tally.slow += u64::from(slow);
                                        permit.record(Outcome::Failure, latency, clock)
                                    }
                                    _ => {
                                        tally.successful += 1;
                                        tally.slow += u64::from(slow);
                                        permit.record(Outcome::Success, latency, clock)
                                    }
                                };
                                tally.transitions += u64::from(transition.is_some());
                            }
                        }
                    }
                    tally
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let total = tallies.iter().fold(Tally::default(), |a, t| Tally {
        successful: a.successful + t.successful,
        failed: a.failed + t.failed,
        slow: a.slow + t.slow,
        released: a.released + t.released,
        rejected: a.rejected + t.rejected,
        transitions: a.transitions + t.transitions,
    });
    let stats = breaker.stats();
    assert_eq!(stats.total_calls(), THREADS as u64 * CALLS_PER_THREAD);
    assert_eq!(stats.successful, total.successful);
    assert_eq!(stats.failed, total.failed);
    assert_eq!(stats.slow, total.slow);
    assert_eq!(stats.released, total.released);
    assert_eq!(stats.rejected, total.rejected);
    assert_eq!(
        stats.state_transitions, total.transitions,
        "every transition reported once"
    );
    assert!(
        stats.state_transitions > 100,
        "the run went through many rounds: {stats:?}"
    );
    assert!(stats.rejected > 0 && stats.failed > 0 && stats.successful > 0);

    // No probe slot leaked: once open time has passed, the breaker admits a probe.
    clock.advance(Duration::from_secs(1));
    if breaker.state() != State::Closed {
        let probe = breaker.try_acquire(&clock).expect("a free probe slot");
        assert!(probe.is_probe());
    }
}
