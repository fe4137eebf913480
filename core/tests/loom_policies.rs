//! loom models of the rate limiter's, the bulkhead's, the retry budget's and
//! quota's, the adaptive limiter's, the adaptive rate's and the rolling
//! histogram's atomics: every interleaving of a few threads.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p seawall-core --test loom_policies --release`
//! (the `loom` stage of `scripts/test.sh`).
#![cfg(loom)]

use std::time::Duration;

use loom::sync::Arc;
use loom::thread;
use seawall_core::bulkhead::Bulkhead;
use seawall_core::histogram::RollingHistogram;
use seawall_core::limit::{AdaptiveLimiter, Aimd, Algorithm, LimitConfig, Outcome};
use seawall_core::rate_limit::{Quota, RateLimiter};
use seawall_core::retry::{
    AdaptiveRate, AdaptiveRateConfig, ErrorKind, QuotaCosts, RetryBudget, RetryQuota,
};
use seawall_core::rng::{Rng, SharedSplitMix64, SplitMix64};
use seawall_core::time::Instant;

fn limiter(burst: u32) -> Arc<RateLimiter> {
    Arc::new(RateLimiter::new(
        Quota::new(1, Duration::from_secs(1), burst).unwrap(),
    ))
}

#[test]
fn racing_checks_admit_exactly_the_burst() {
    loom::model(|| {
        let limiter = limiter(2);
        let now = Instant::from_secs(10);
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let limiter = limiter.clone();
                thread::spawn(move || limiter.check(&now).is_ok())
            })
            .collect();
        let admitted = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(admitted, 2);
        let refused = limiter.check(&now).unwrap_err();
        assert_eq!(refused.retry_after(), Duration::from_secs(1));
    });
}

#[test]
fn racing_weighted_checks_never_overdraw() {
    loom::model(|| {
        let limiter = limiter(3);
        let now = Instant::from_secs(10);
        let two = {
            let limiter = limiter.clone();
            thread::spawn(move || limiter.check_n(2, &now).unwrap().is_ok())
        };
        let also_two = {
            let limiter = limiter.clone();
            thread::spawn(move || limiter.check_n(2, &now).unwrap().is_ok())
        };
        let one = limiter.check(&now).is_ok();
        let (two, also_two) = (two.join().unwrap(), also_two.join().unwrap());
        // 2 + 2 > 3: exactly one two-cell request fits, and the one cell always
        // fits beside it, in every order.
        assert!(two != also_two, "two-cell requests: {two}, {also_two}");
        assert!(one);
        assert!(limiter.check(&now).is_err());
    });
}

#[test]
fn racing_entries_never_exceed_the_bulkhead() {
    loom::model(|| {
        let bulkhead = Arc::new(Bulkhead::new(2).unwrap());
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let bulkhead = bulkhead.clone();
                thread::spawn(move || match bulkhead.try_enter_ticket() {
                    Ok(ticket) => {
                        assert!(bulkhead.in_flight() <= 2);
                        bulkhead.release(ticket);
                        true
                    }
                    Err(_) => false,
                })
            })
            .collect();
        let admitted = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        // At least two always get in; the third only if someone left first.
        assert!(admitted >= 2);
        assert_eq!(bulkhead.in_flight(), 0);
    });
}

#[test]
fn held_places_block_exactly_the_excess() {
    loom::model(|| {
        let bulkhead = Arc::new(Bulkhead::new(1).unwrap());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let bulkhead = bulkhead.clone();
                thread::spawn(move || bulkhead.try_enter_ticket().ok())
            })
            .collect();
        let tickets: Vec<_> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(tickets.len(), 1);
        assert_eq!(bulkhead.in_flight(), 1);
        for ticket in tickets {
            bulkhead.release(ticket);
        }
        assert_eq!(bulkhead.in_flight(), 0);
    });
}

#[test]
fn racing_failures_and_successes_keep_the_budget_exact() {
    loom::model(|| {
        let budget = Arc::new(RetryBudget::new(3, 0.5).unwrap());
        let failing: Vec<_> = (0..2)
            .map(|_| {
                let budget = budget.clone();
                thread::spawn(move || budget.record_failure())
            })
            .collect();
        budget.record_success();
        let allowed: Vec<bool> = failing.into_iter().map(|h| h.join().unwrap()).collect();
        // In every order exactly one failure leaves more than half of 3 tokens:
        // F F S: 2 (yes), 1 (no), 1.5. F S F: 2 (yes), 2.5, 1.5 (no).
        // S F F: 3 (the success meets a full bucket), 2 (yes), 1 (no).
        assert_eq!(allowed.iter().filter(|a| **a).count(), 1, "{allowed:?}");
        let tokens = budget.tokens();
        assert!(tokens == 1.5 || tokens == 1.0, "{tokens}");
    });
}

#[test]
fn the_shared_generator_gives_each_draw_its_own_output() {
    loom::model(|| {
        let rng = Arc::new(SharedSplitMix64::new(5));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let rng = rng.clone();
                thread::spawn(move || (&*rng).next_u64())
            })
            .collect();
        let mut drawn: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        drawn.sort_unstable();
        let mut plain = SplitMix64::new(5);
        let mut expected = vec![plain.next_u64(), plain.next_u64()];
        expected.sort_unstable();
        assert_eq!(drawn, expected);
    });
}

#[test]
fn racing_checks_after_the_clock_went_back_wait_one_interval() {
    loom::model(|| {
        let limiter = limiter(2);
        let later = Instant::from_secs(10);
        limiter.check(&later).unwrap();
        limiter.check(&later).unwrap();
        let earlier = Instant::from_secs(5);
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let limiter = limiter.clone();
                thread::spawn(move || limiter.check(&earlier).unwrap_err().earliest_possible())
            })
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), Instant::from_secs(6));
        }
        let then = Instant::from_secs(6);
        assert!(limiter.check(&then).is_ok());
        assert!(limiter.check(&then).is_err());
    });
}

fn adaptive(initial: u32) -> Arc<AdaptiveLimiter> {
    let config = LimitConfig::builder()
        .algorithm(Algorithm::Aimd(Aimd::DEFAULT))
        .initial_limit(initial)
        .min_samples(1)
        .build()
        .unwrap();
    Arc::new(AdaptiveLimiter::new(config))
}

#[test]
fn racing_acquires_never_exceed_the_adaptive_limit() {
    loom::model(|| {
        let limiter = adaptive(1);
        let now = Instant::ZERO;
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let limiter = limiter.clone();
                thread::spawn(move || match limiter.try_acquire_ticket(&now) {
                    Ok(ticket) => {
                        assert!(limiter.in_flight() <= 1);
                        limiter.release(ticket);
                        true
                    }
                    Err(_) => false,
                })
            })
            .collect();
        let admitted = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert!(admitted >= 1);
        let stats = limiter.stats();
        assert_eq!(stats.in_flight, 0);
        assert_eq!(stats.released + stats.rejected, 2);
    });
}

#[test]
fn racing_window_closes_decide_once() {
    loom::model(|| {
        // Two calls in flight end together after the window: one of them closes
        // it and decides (+1: both places were used), the other is the first of
        // the next window.
        let limiter = adaptive(2);
        let start = Instant::ZERO;
        limiter
            .try_acquire_ticket(&start)
            .map(|t| limiter.record(t, Outcome::Success, &start))
            .unwrap();
        let tickets: Vec<_> = (0..2)
            .map(|_| limiter.try_acquire_ticket(&start).unwrap())
            .collect();
        let end = Instant::from_millis(100);
        let handles: Vec<_> = tickets
            .into_iter()
            .map(|ticket| {
                let limiter = limiter.clone();
                thread::spawn(move || limiter.record(ticket, Outcome::Success, &end))
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(limiter.limit(), 3);
        assert_eq!(limiter.in_flight(), 0);
        assert_eq!(limiter.stats().succeeded, 3);
    });
}

#[test]
fn racing_quota_charges_never_overdraw() {
    loom::model(|| {
        let quota = Arc::new(RetryQuota::new(20, QuotaCosts::DEFAULT).unwrap());
        let transient = {
            let quota = quota.clone();
            thread::spawn(move || quota.try_acquire(ErrorKind::Transient))
        };
        let throttling = {
            let quota = quota.clone();
            thread::spawn(move || quota.try_acquire(ErrorKind::Throttling))
        };
        quota.release(3);
        let paid = [transient.join().unwrap(), throttling.join().unwrap()];
        // 14 + 5 fit in 20, whatever the order; the release meets a bucket
        // that is full or short of at most 19.
        assert_eq!(paid, [Some(14), Some(5)]);
        let left = quota.available();
        assert!(left == 1 || left == 4, "{left}");
    });
}

#[test]
fn the_adaptive_rate_is_consistent_under_races() {
    loom::model(|| {
        let rate = Arc::new(AdaptiveRate::new(AdaptiveRateConfig::DEFAULT).unwrap());
        rate.on_response(&Instant::ZERO, true);
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let rate = rate.clone();
                thread::spawn(move || {
                    let now = Instant::from_secs(3);
                    if i == 0 {
                        rate.try_acquire(&now).is_ok()
                    } else {
                        rate.on_response(&now, false);
                        true
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let state = rate.state();
        assert!(state.capacity >= 0.0 && state.capacity <= state.max_capacity);
        // Both responses counted: two in the 3 s since the first bucket.
        assert_eq!(state.measured_rate, 2.0 / 3.0 * 0.8);
    });
}

#[test]
fn a_turn_of_the_rolling_histogram_loses_at_most_a_racing_sample() {
    loom::model(|| {
        let histogram = Arc::new(
            RollingHistogram::<16>::new(Duration::from_millis(1), Duration::from_secs(2)).unwrap(),
        );
        histogram.record(&Instant::from_millis(500), Duration::from_millis(3));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let histogram = histogram.clone();
                thread::spawn(move || {
                    histogram.record(&Instant::from_millis(1500), Duration::from_millis(5))
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let now = Instant::from_millis(1500);
        // The old half is still in the window. A sample recorded while the
        // other thread clears the half it turned to may be lost, never more.
        let count = histogram.count(&now);
        assert!(count == 2 || count == 3, "{count}");
        assert_eq!(
            histogram.percentile(&now, 1.0),
            Some(Duration::from_millis(5))
        );
    });
}
