//! Property tests of the policies beside the breaker: backoff bounds and
//! determinism, the GCRA's limit and its fairness to a paced client, the
//! bulkhead's maximum, and the retry budget's bounds.

use std::time::Duration;

use proptest::prelude::*;
use seawall_core::backoff::{Backoff, BackoffState, Jitter, Strategy as BackoffStrategy};
use seawall_core::bulkhead::{Bulkhead, BulkheadTicket};
use seawall_core::rate_limit::{Quota, RateLimiter};
use seawall_core::retry::{Failure, RetryBudget, RetryDecision, RetryPolicy};
use seawall_core::rng::{Rng, SharedSplitMix64, SplitMix64};
use seawall_core::time::Instant;

fn nanos() -> impl Strategy<Value = u64> {
    // Small, large and extreme durations alike.
    prop_oneof![0..2_000_000_000u64, any::<u64>(), Just(u64::MAX)]
}

fn backoff_strategy() -> impl Strategy<Value = BackoffStrategy> {
    let d = Duration::from_nanos;
    prop_oneof![
        nanos().prop_map(move |delay| BackoffStrategy::Fixed { delay: d(delay) }),
        (nanos(), nanos(), nanos()).prop_map(move |(a, b, c)| BackoffStrategy::Linear {
            initial_delay: d(a.min(c)),
            increment: d(b),
            max_delay: d(a.max(c)),
        }),
        (1..u64::MAX, 1.0..1e6f64, nanos()).prop_map(move |(a, m, c)| {
            BackoffStrategy::Exponential {
                initial_delay: d(a.min(c.max(1))),
                multiplier: m,
                max_delay: d(a.max(c)),
            }
        }),
        (1..u64::MAX, nanos()).prop_map(move |(a, c)| BackoffStrategy::DecorrelatedJitter {
            base_delay: d(a.min(c.max(1))),
            max_delay: d(a.max(c)),
        }),
    ]
}

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![Just(Jitter::None), Just(Jitter::Full), Just(Jitter::Equal)]
}

fn attempt() -> impl Strategy<Value = u32> {
    prop_oneof![0..100u32, any::<u32>(), Just(u32::MAX)]
}

proptest! {
    #[test]
    fn every_delay_is_within_bounds(
        strategy in backoff_strategy(),
        jitter in jitter(),
        attempt in attempt(),
        previous in nanos(),
        seed in any::<u64>(),
    ) {
        let backoff = Backoff::new(strategy, jitter).unwrap();
        let mut rng = SplitMix64::new(seed);
        let delay = backoff.delay(attempt, Duration::from_nanos(previous), &mut rng);
        prop_assert!(delay <= backoff.max_delay());
        let base = backoff.base_delay(attempt);
        prop_assert!(base <= backoff.max_delay());
        match (strategy, jitter) {
            (BackoffStrategy::DecorrelatedJitter { base_delay: low, .. }, Jitter::None) => {
                prop_assert!(delay >= low);
                let top = Duration::from_nanos(previous.max(low.as_nanos() as u64).saturating_mul(3));
                prop_assert!(delay <= top);
            }
            (BackoffStrategy::DecorrelatedJitter { .. }, _) => {}
            (_, Jitter::None) => prop_assert_eq!(delay, base),
            (_, Jitter::Full) => prop_assert!(delay <= base),
            (_, Jitter::Equal) => prop_assert!(delay <= base && delay >= base / 2),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence(
        strategy in backoff_strategy(),
        jitter in jitter(),
        seed in any::<u64>(),
    ) {
        let backoff = Backoff::new(strategy, jitter).unwrap();
        let first: Vec<Duration> = backoff.iter(SplitMix64::new(seed)).take(40).collect();
        let second: Vec<Duration> = backoff.iter(SplitMix64::new(seed)).take(40).collect();
        prop_assert_eq!(&first, &second);
        // The shared generator draws the same words from the same seed.
        let shared = SharedSplitMix64::new(seed);
        let third: Vec<Duration> = backoff.iter(&shared).take(40).collect();
        prop_assert_eq!(&first, &third);
        // Stepping a state by hand is the iterator.
        let mut state = BackoffState::new();
        let mut rng = SplitMix64::new(seed);
        for expected in &first {
            prop_assert_eq!(backoff.next_delay(&mut state, &mut rng), *expected);
            prop_assert!(*expected <= backoff.max_delay());
        }
    }

    #[test]
    fn a_retry_policy_never_exceeds_its_attempts_nor_its_maximum(
        strategy in backoff_strategy(),
        jitter in jitter(),
        max_attempts in 1..20u32,
        seed in any::<u64>(),
        hints in proptest::collection::vec(proptest::option::of(nanos()), 20),
    ) {
        let policy = RetryPolicy::builder()
            .max_attempts(max_attempts)
            .strategy(strategy)
            .jitter(jitter)
            .build()
            .unwrap();
        let now = Instant::ZERO;
        let mut rng = SplitMix64::new(seed);
        let mut state = policy.start(&now);
        let mut retries = 0;
        for hint in hints {
            let failure = Failure {
                retry_after: hint.map(Duration::from_nanos),
                ..Failure::retryable()
            };
            match policy.on_failure(&mut state, failure, None, &now, &mut rng) {
                RetryDecision::Retry { delay } => {
                    prop_assert!(delay <= policy.backoff().max_delay());
                    retries += 1;
                }
                RetryDecision::GiveUp(_) => break,
            }
        }
        prop_assert_eq!(retries, max_attempts - 1);
    }
}

/// A quota and a list of requests: (time to advance in ns, cells).
fn quota_and_requests() -> impl Strategy<Value = (Quota, Vec<(u64, u32)>)> {
    (1..1_000u64, 1..10_000u64, 1..50u32).prop_flat_map(|(rate, period_ms, burst)| {
        let quota = Quota::new(rate, Duration::from_millis(period_ms), burst).unwrap();
        let interval = quota.interval().as_nanos() as u64;
        let step = prop_oneof![Just(0u64), 0..interval, 0..interval * 3];
        let requests = proptest::collection::vec((step, 0..=burst), 1..200);
        (Just(quota), requests)
    })
}

proptest! {
    #[test]
    fn gcra_admits_at_most_burst_plus_rate_times_t((quota, requests) in quota_and_requests()) {
        let limiter = RateLimiter::new(quota);
        let interval = quota.interval().as_nanos();
        let mut now = 1_000_000_000u64;
        // (time, cells) of every admitted request.
        let mut admitted: Vec<(u64, u128)> = Vec::new();
        for (advance, cells) in requests {
            now += advance;
            if let Ok(Ok(())) = limiter.check_n(cells, &Instant::from_nanos(now)) {
                admitted.push((now, u128::from(cells)));
            }
        }
        for i in 0..admitted.len() {
            let mut cells = 0u128;
            for j in i..admitted.len() {
                cells += admitted[j].1;
                let span = u128::from(admitted[j].0 - admitted[i].0);
                // cells <= burst + span / interval, and so <= burst + rate * span / period.
                prop_assert!(
                    cells * interval <= span + u128::from(quota.burst()) * interval,
                    "{} cells in {} ns", cells, span
                );
                prop_assert!(
                    cells * quota.period().as_nanos()
                        <= span * u128::from(quota.rate())
                            + u128::from(quota.burst()) * quota.period().as_nanos()
                );
            }
        }
    }

    #[test]
    fn a_client_pacing_at_the_rate_is_never_refused(
        rate in 1..10_000u64,
        period_ms in 1..60_000u64,
        burst in 1..20u32,
        start in any::<u32>(),
        cells in 1..20u32,
        gaps in proptest::collection::vec(0..1_000_000u64, 1..300),
    ) {
        let cells = cells.min(burst);
        let quota = Quota::new(rate, Duration::from_millis(period_ms), burst).unwrap();
        let limiter = RateLimiter::new(quota);
        let interval = quota.interval().as_nanos() as u64;
        let mut now = u64::from(start);
        for gap in gaps {
            prop_assert_eq!(limiter.check_n(cells, &Instant::from_nanos(now)), Ok(Ok(())));
            // The client waits at least its cells' worth of intervals.
            now += interval * u64::from(cells) + gap;
        }
    }

    #[test]
    fn a_refused_request_is_admitted_at_its_earliest_time(
        (quota, requests) in quota_and_requests(),
    ) {
        let limiter = RateLimiter::new(quota);
        let mut now = 0u64;
        for (advance, cells) in requests {
            now += advance;
            let cells = cells.max(1);
            if let Ok(Err(refused)) = limiter.check_n(cells, &Instant::from_nanos(now)) {
                let earliest = refused.earliest_possible();
                prop_assert!(earliest > Instant::from_nanos(now));
                prop_assert!(limiter.check_n(cells, &(earliest - Duration::from_nanos(1))).unwrap().is_err());
                prop_assert_eq!(limiter.check_n(cells, &earliest), Ok(Ok(())));
                now = earliest.as_nanos();
            }
        }
    }
}

#[derive(Debug, Clone)]
enum BulkheadOp {
    Enter,
    EnterTicket,
    /// Drops the held place at this index (modulo the places held).
    Exit(usize),
}

fn bulkhead_ops() -> impl Strategy<Value = Vec<BulkheadOp>> {
    proptest::collection::vec(
        prop_oneof![
            3 => Just(BulkheadOp::Enter),
            2 => Just(BulkheadOp::EnterTicket),
            4 => any::<usize>().prop_map(BulkheadOp::Exit),
        ],
        0..300,
    )
}

enum Held<'a> {
    Guard(#[allow(dead_code)] seawall_core::bulkhead::BulkheadPermit<'a>),
    Ticket(BulkheadTicket),
}

proptest! {
    #[test]
    fn the_bulkhead_never_exceeds_its_maximum(max in 1..10u32, ops in bulkhead_ops()) {
        let bulkhead = Bulkhead::new(max).unwrap();
        let mut held: Vec<Held<'_>> = Vec::new();
        for op in ops {
            match op {
                BulkheadOp::Enter => match bulkhead.try_enter() {
                    Ok(guard) => held.push(Held::Guard(guard)),
                    Err(full) => {
                        prop_assert_eq!(held.len(), max as usize);
                        prop_assert_eq!(full.max_concurrent, max);
                    }
                },
                BulkheadOp::EnterTicket => match bulkhead.try_enter_ticket() {
                    Ok(ticket) => held.push(Held::Ticket(ticket)),
                    Err(_) => prop_assert_eq!(held.len(), max as usize),
                },
                BulkheadOp::Exit(index) => {
                    if !held.is_empty() {
                        match held.swap_remove(index % held.len()) {
                            Held::Guard(guard) => drop(guard),
                            Held::Ticket(ticket) => bulkhead.release(ticket),
                        }
                    }
                }
            }
            prop_assert_eq!(bulkhead.in_flight() as usize, held.len());
            prop_assert!(bulkhead.in_flight() <= max);
            prop_assert_eq!(bulkhead.available(), max - bulkhead.in_flight());
        }
        for place in held.drain(..) {
            if let Held::Ticket(ticket) = place {
                bulkhead.release(ticket);
            }
        }
        prop_assert_eq!(bulkhead.in_flight(), 0);
    }

    #[test]
    fn the_retry_budget_stays_within_zero_and_its_maximum(
        max_tokens in 1..1_000u32,
        ratio_ppm in 1..=1_000_000u64,
        ops in proptest::collection::vec(any::<bool>(), 0..500),
    ) {
        let ratio = ratio_ppm as f64 / 1e6;
        let budget = RetryBudget::new(max_tokens, ratio).unwrap();
        // The same bucket in millionths of a token.
        let max = u64::from(max_tokens) * 1_000_000;
        let mut model = max;
        for success in ops {
            if success {
                budget.record_success();
                model = (model + ratio_ppm).min(max);
            } else {
                let allowed = budget.record_failure();
                model = model.saturating_sub(1_000_000);
                prop_assert_eq!(allowed, model * 2 > max);
            }
            let tokens = budget.tokens();
            prop_assert!(tokens >= 0.0 && tokens <= f64::from(max_tokens));
            prop_assert_eq!(tokens, model as f64 / 1e6);
            prop_assert_eq!(budget.allows_retry(), model * 2 > max);
        }
    }

    #[test]
    fn splitmix64_between_stays_in_range(seed in any::<u64>(), a in any::<u64>(), b in any::<u64>()) {
        let (low, high) = (a.min(b), a.max(b));
        let mut rng = SplitMix64::new(seed);
        let x = seawall_core::rng::between(&mut rng, low, high);
        prop_assert!(x >= low && x <= high);
        let mut again = SplitMix64::new(seed);
        prop_assert_eq!(again.next_u64(), SplitMix64::new(seed).next_u64());
    }
}

proptest! {
    #[test]
    fn the_adaptive_throttle_follows_the_sre_formula(
        k in 1.0..4.0f64,
        seed in any::<u64>(),
        events in proptest::collection::vec(any::<bool>(), 0..300),
    ) {
        use seawall_core::retry::AdaptiveThrottle;
        let throttle = AdaptiveThrottle::<[_; 4]>::new(k, Duration::from_secs(4)).unwrap();
        let now = Instant::from_secs(1);
        let mut rng = SplitMix64::new(seed);
        let (mut requests, mut accepts) = (0u64, 0u64);
        for request in events {
            let expected = (requests as f64 - k * accepts as f64).max(0.0) / (requests as f64 + 1.0);
            let p = throttle.rejection_probability(&now);
            prop_assert_eq!(p, expected);
            prop_assert!((0.0..1.0).contains(&p));
            if request {
                let before = rng.clone();
                let outcome = throttle.try_acquire(&now, &mut rng);
                requests += 1;
                if p == 0.0 {
                    prop_assert!(outcome.is_ok());
                    prop_assert_eq!(&rng, &before, "no draw at probability zero");
                } else if let Err(throttled) = outcome {
                    prop_assert_eq!(throttled.probability(), p);
                }
            } else {
                throttle.record_accepted(&now);
                accepts += 1;
            }
            prop_assert_eq!(throttle.totals(&now), (requests, accepts));
        }
    }
}

proptest! {
    #[test]
    fn a_refusal_never_waits_more_than_its_cells_whatever_the_clock_does(
        (quota, requests) in quota_and_requests(),
        jumps in proptest::collection::vec(any::<bool>(), 200),
    ) {
        let limiter = RateLimiter::new(quota);
        let interval = quota.interval();
        let mut now = 1u64 << 50;
        for ((step, cells), back) in requests.into_iter().zip(jumps) {
            // Time goes forward, or back by up to a thousand intervals.
            now = if back { now.saturating_sub(step * 1_000) } else { now + step };
            if let Ok(Err(refused)) = limiter.check_n(cells, &Instant::from_nanos(now)) {
                prop_assert!(refused.retry_after() <= interval * cells);
                prop_assert!(refused.retry_after() > Duration::ZERO);
            }
        }
    }
}
