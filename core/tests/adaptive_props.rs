//! Property tests of the adaptive parts: the histogram's percentiles against
//! the exact ones, the retry quota against a reference model, the adaptive
//! limiter's invariants under any sequence of calls, and the adaptive rate's
//! bounds under any sequence of responses.

use std::time::Duration;

use proptest::prelude::*;
use seawall_core::histogram::Histogram;
use seawall_core::limit::{
    AdaptiveLimiter, Aimd, Algorithm, Gradient, LimitConfig, LimitTicket, Outcome, Vegas,
};
use seawall_core::retry::{AdaptiveRateConfig, ErrorKind, QuotaCosts, RateState, RetryQuota};
use seawall_core::time::Instant;

proptest! {
    #[test]
    fn a_percentile_is_never_below_the_exact_one_nor_an_eighth_above(
        mut samples in prop::collection::vec(0..5_000_000u64, 1..300),
        q in 0.0..=1.0f64,
    ) {
        let histogram = Histogram::<192>::new(Duration::from_micros(1)).unwrap();
        for &us in &samples {
            histogram.record(Duration::from_micros(us));
        }
        samples.sort_unstable();
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        let exact = samples[rank - 1];
        let reported = histogram.percentile(q).unwrap().as_micros() as u64;
        prop_assert!(reported >= exact, "{reported} < {exact}");
        prop_assert!(reported <= exact + exact / 8, "{reported} > 9/8 of {exact}");
        prop_assert_eq!(histogram.count(), samples.len() as u64);
    }
}

#[derive(Debug, Clone)]
enum QuotaOp {
    Acquire(ErrorKind),
    Release(u32),
    Success(u32),
}

fn quota_op() -> impl Strategy<Value = QuotaOp> {
    prop_oneof![
        prop_oneof![
            Just(ErrorKind::Transient),
            Just(ErrorKind::Throttling),
            Just(ErrorKind::Timeout)
        ]
        .prop_map(QuotaOp::Acquire),
        (0..30u32).prop_map(QuotaOp::Release),
        (0..30u32).prop_map(QuotaOp::Success),
    ]
}

proptest! {
    #[test]
    fn the_quota_follows_its_model(
        capacity in 14..200u32,
        ops in prop::collection::vec(quota_op(), 0..200),
    ) {
        let costs = QuotaCosts::DEFAULT;
        let quota = RetryQuota::new(capacity, costs).unwrap();
        let mut model = capacity;
        for op in ops {
            match op {
                QuotaOp::Acquire(kind) => {
                    let cost = costs.of(kind);
                    let expected = (model >= cost).then(|| {
                        model -= cost;
                        cost
                    });
                    prop_assert_eq!(quota.try_acquire(kind), expected);
                }
                QuotaOp::Release(amount) => {
                    model = (model + amount).min(capacity);
                    quota.release(amount);
                }
                QuotaOp::Success(last_cost) => {
                    let back = if last_cost == 0 { costs.success } else { last_cost };
                    model = (model + back).min(capacity);
                    quota.record_success(last_cost);
                }
            }
            prop_assert_eq!(quota.available(), model);
        }
    }
}

#[derive(Debug, Clone)]
enum CallOp {
    Acquire,
    End { which: usize, overload: bool },
    Release { which: usize },
    Advance { ms: u64 },
}

fn call_op() -> impl Strategy<Value = CallOp> {
    prop_oneof![
        4 => Just(CallOp::Acquire),
        3 => (any::<usize>(), any::<bool>())
            .prop_map(|(which, overload)| CallOp::End { which, overload }),
        1 => any::<usize>().prop_map(|which| CallOp::Release { which }),
        3 => (0..200u64).prop_map(|ms| CallOp::Advance { ms }),
    ]
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Aimd(Aimd::DEFAULT)),
        Just(Algorithm::Gradient(Gradient::DEFAULT)),
        Just(Algorithm::Vegas(Vegas::DEFAULT)),
    ]
}

proptest! {
    #[test]
    fn the_limiter_keeps_its_invariants(
        algorithm in algorithm(),
        min in 1..5u32,
        span in 0..40u32,
        ops in prop::collection::vec(call_op(), 0..300),
    ) {
        let config = LimitConfig::builder()
            .algorithm(algorithm)
            .min_limit(min)
            .initial_limit(min + span / 2)
            .max_limit(min + span)
            .min_samples(1)
            .probe_limit(1)
            .probe_samples(3)
            .probe_interval(Duration::from_secs(2))
            .build()
            .unwrap();
        let limiter = AdaptiveLimiter::new(config);
        let mut now = 0u64;
        let mut held: Vec<LimitTicket> = Vec::new();
        let (mut rejected, mut ended, mut released) = (0, 0, 0);
        for op in ops {
            let clock = Instant::from_millis(now);
            match op {
                CallOp::Acquire => {
                    let limit = if limiter.is_probing() { 1 } else { limiter.limit() };
                    match limiter.try_acquire_ticket(&clock) {
                        Ok(ticket) => {
                            held.push(ticket);
                            prop_assert!(held.len() as u32 <= limit);
                        }
                        Err(exceeded) => {
                            rejected += 1;
                            prop_assert_eq!(exceeded.limit, limit);
                            prop_assert!(held.len() as u32 >= limit);
                        }
                    }
                }
                CallOp::End { which, overload } if !held.is_empty() => {
                    let ticket = held.swap_remove(which % held.len());
                    let outcome = if overload { Outcome::Overload } else { Outcome::Success };
                    limiter.record(ticket, outcome, &clock);
                    ended += 1;
                }
                CallOp::Release { which } if !held.is_empty() => {
                    limiter.release(held.swap_remove(which % held.len()));
                    released += 1;
                }
                CallOp::Advance { ms } => now += ms,
                _ => {}
            }
            let stats = limiter.stats();
            prop_assert_eq!(stats.in_flight, held.len() as u32);
            prop_assert!(stats.limit >= min && stats.limit <= min + span, "{:?}", stats);
            prop_assert_eq!(stats.rejected, rejected);
            prop_assert_eq!(stats.released, released);
            // (AIMD's timeout may count a slow success as an overload.)
            prop_assert_eq!(stats.succeeded + stats.overloaded, ended);
        }
    }
}

proptest! {
    #[test]
    fn the_adaptive_rate_stays_within_its_bounds(
        events in prop::collection::vec((0..2_000u64, any::<bool>(), any::<bool>()), 0..300),
    ) {
        let config = AdaptiveRateConfig::DEFAULT;
        let mut state = RateState::starting_at(Instant::ZERO);
        let mut now = 0u64;
        for (ms, throttled, acquire) in events {
            now += ms;
            let at = Instant::from_millis(now);
            if acquire {
                if let Err(wait) = state.acquire(at) {
                    prop_assert!(wait > Duration::ZERO);
                }
            } else {
                state.on_response(&config, at, throttled);
            }
            prop_assert!(state.capacity >= 0.0 && state.capacity <= state.max_capacity.max(1.0));
            prop_assert!(state.fill_rate.is_finite() && state.measured_rate.is_finite());
            prop_assert!(!state.enabled || state.fill_rate >= config.min_rate);
        }
    }
}
