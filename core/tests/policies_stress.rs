//! Real threads contending for one rate limiter, one bulkhead and one retry
//! budget: the counts at the end are exact.

use std::sync::Barrier;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use seawall_core::bulkhead::Bulkhead;
use seawall_core::rate_limit::{Quota, RateLimiter};
use seawall_core::retry::RetryBudget;
use seawall_core::time::{Instant, ManualClock};

const THREADS: usize = 4;

/// Runs `work(id)` on `THREADS` threads released together; returns their results.
fn race<T: Send>(work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|id| {
                let (barrier, work) = (&barrier, &work);
                scope.spawn(move || {
                    barrier.wait();
                    work(id)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn at_one_instant_the_limiter_admits_exactly_its_burst() {
    let limiter = RateLimiter::new(Quota::new(1_000, Duration::from_secs(1), 5_000).unwrap());
    let now = Instant::from_secs(3);
    let admitted: u64 =
        race(|_| (0..100_000).filter(|_| limiter.check(&now).is_ok()).count() as u64)
            .into_iter()
            .sum();
    assert_eq!(admitted, 5_000);
}

#[test]
fn over_moving_time_the_limiter_admits_exactly_its_burst_each_round() {
    // 1 cell per microsecond, burst 10; the clock moves 1 ms between rounds,
    // so each round starts with exactly the whole burst available.
    let limiter = RateLimiter::new(Quota::new(1, Duration::from_micros(1), 10).unwrap());
    let clock = ManualClock::starting_at(Instant::from_secs(1));
    const ROUNDS: usize = 3_000;
    let barrier = Barrier::new(THREADS);
    let per_round: Vec<AtomicU32> = (0..ROUNDS).map(|_| AtomicU32::new(0)).collect();
    thread::scope(|scope| {
        for id in 0..THREADS {
            let (limiter, clock, barrier, per_round) = (&limiter, &clock, &barrier, &per_round);
            scope.spawn(move || {
                for round in per_round {
                    barrier.wait();
                    if id == 0 {
                        clock.advance(Duration::from_millis(1));
                    }
                    barrier.wait();
                    for _ in 0..8 {
                        if limiter.check(clock).is_ok() {
                            round.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    for (i, round) in per_round.iter().enumerate() {
        assert_eq!(round.load(Ordering::Relaxed), 10, "round {i}");
    }
}

#[test]
fn weighted_requests_never_overdraw_the_burst() {
    let limiter = RateLimiter::new(Quota::new(1, Duration::from_micros(1), 10).unwrap());
    let now = Instant::from_secs(1);
    let admitted: u32 = race(|id| {
        let cells = 1 + (id as u32 % 3);
        let mut admitted = 0;
        while let Ok(Ok(())) = limiter.check_n(cells, &now) {
            admitted += cells;
        }
        admitted
    })
    .into_iter()
    .sum();
    // The threads fill the burst to within the largest request that no longer fits.
    assert!((8..=10).contains(&admitted), "{admitted}");
    // And exactly the rest of it is left.
    let left = 10 - admitted;
    if left > 0 {
        assert_eq!(limiter.check_n(left, &now), Ok(Ok(())));
    }
    assert!(limiter.check(&now).is_err());
}

#[test]
fn the_bulkhead_never_holds_more_than_its_maximum() {
    const MAX: u32 = 3;
    let bulkhead = Bulkhead::new(MAX).unwrap();
    // Our own count of the places held, checked against the maximum each time.
    let held = AtomicU32::new(0);
    let peak = AtomicU32::new(0);
    let admitted: u64 = race(|_| {
        let mut admitted = 0;
        for i in 0..200_000u32 {
            let entered = if i % 2 == 0 {
                bulkhead.try_enter().map(|guard| guard.into_ticket())
            } else {
                bulkhead.try_enter_ticket()
            };
            if let Ok(ticket) = entered {
                admitted += 1;
                let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::Relaxed);
                assert!(now <= MAX, "{now} places held");
                held.fetch_sub(1, Ordering::SeqCst);
                bulkhead.release(ticket);
            }
        }
        admitted
    })
    .into_iter()
    .sum();
    assert_eq!(bulkhead.in_flight(), 0);
    assert!(admitted > 0);
    assert!(peak.into_inner() <= MAX);
}

#[test]
fn exactly_the_maximum_enter_when_all_hold_their_place() {
    let bulkhead = Bulkhead::new(3).unwrap();
    for _ in 0..200 {
        let hold = Barrier::new(THREADS);
        let entered: u32 = race(|_| {
            let guard = bulkhead.try_enter();
            // Everyone tries before anyone gives a place back.
            hold.wait();
            u32::from(guard.is_ok())
        })
        .into_iter()
        .sum();
        assert_eq!(entered, 3);
        assert_eq!(bulkhead.in_flight(), 0);
    }
}

#[test]
fn the_retry_budget_counts_every_failure_and_success() {
    // 4 threads, each alternating 1,000 failures and 1,000 successes of 0.5,
    // failure first: no success can meet a full bucket, and no failure an empty
    // one, so the end is exact.
    let budget = RetryBudget::new(10_000, 0.5).unwrap();
    race(|_| {
        for i in 0..2_000 {
            if i % 2 == 0 {
                budget.record_failure();
            } else {
                budget.record_success();
            }
        }
    });
    assert_eq!(budget.tokens(), 10_000.0 - 4_000.0 + 2_000.0);
}
