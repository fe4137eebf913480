use core::time::Duration;

use super::*;
use crate::retry::{QuotaCosts, RetryBudget, RetryQuota};
use crate::time::ManualClock;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn fixed(max_attempts: u32, delay_ms: u64) -> Hedge<64> {
    Hedge::new(HedgeConfig {
        max_attempts,
        delay: HedgeDelay::fixed(MS(delay_ms)),
        at_once: 1,
    })
    .unwrap()
}

#[test]
fn hedges_are_sent_a_delay_apart_up_to_max_attempts() {
    let hedge = fixed(3, 10);
    let clock = ManualClock::new();
    let mut call = hedge.start(&clock);
    assert_eq!((call.sent(), call.in_flight()), (1, 1));
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Wait(MS(10)));
    clock.advance(MS(4));
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Wait(MS(6)));
    clock.advance(MS(7)); // late: sent at once, the next due 10 ms from now
    assert_eq!(
        hedge.poll(&mut call, &clock, None),
        Next::Send { attempt: 2 }
    );
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Wait(MS(10)));
    clock.advance(MS(10));
    assert_eq!(
        hedge.poll(&mut call, &clock, None),
        Next::Send { attempt: 3 }
    );
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Idle);
    let answer = hedge.on_success(&mut call, 1, &clock, None);
    assert_eq!(
        answer,
        Answered {
            hedged: false,
            cancelled: 2
        }
    );
    assert!(call.is_ended());
    assert_eq!(
        hedge.stats(),
        HedgeStats {
            calls: 1,
            hedges: 2,
            won: 0,
            refused: 0,
            cancelled: 2
        }
    );
    // Nothing more happens to an ended call.
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Idle);
    assert_eq!(hedge.on_cancel(&mut call), 0);
}

#[test]
fn a_zero_delay_sends_every_attempt_at_once() {
    let hedge = fixed(3, 0);
    let clock = ManualClock::new();
    let mut call = hedge.start(&clock);
    assert_eq!(
        hedge.poll(&mut call, &clock, None),
        Next::Send { attempt: 2 }
    );
    assert_eq!(
        hedge.poll(&mut call, &clock, None),
        Next::Send { attempt: 3 }
    );
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Idle);
}

#[test]
fn failures_send_the_next_attempt_or_wait_or_give_up() {
    let hedge = fixed(2, 10);
    let clock = ManualClock::new();
    // A retryable failure with an attempt left: the next one goes at once.
    let mut call = hedge.start(&clock);
    assert_eq!(
        hedge.on_failure(&mut call, Failure::retryable(), &clock, None),
        Failed::Send { attempt: 2 }
    );
    // The last attempt fails too: nothing in flight, attempts exhausted.
    assert_eq!(
        hedge.on_failure(&mut call, Failure::retryable(), &clock, None),
        Failed::GiveUp(GiveUp::AttemptsExhausted)
    );
    assert!(call.is_ended());

    // A failure while the hedge is in flight: wait for it.
    let mut call = hedge.start(&clock);
    clock.advance(MS(10));
    assert_eq!(
        hedge.poll(&mut call, &clock, None),
        Next::Send { attempt: 2 }
    );
    assert_eq!(
        hedge.on_failure(&mut call, Failure::retryable(), &clock, None),
        Failed::Continue
    );
    assert_eq!(call.in_flight(), 1);
    let answer = hedge.on_success(&mut call, 2, &clock, None);
    assert!(answer.hedged);
    assert_eq!(answer.cancelled, 0);

    // A failure not worth retrying ends the call and cancels the others.
    let mut call = hedge.start(&clock);
    clock.advance(MS(10));
    hedge.poll(&mut call, &clock, None);
    assert_eq!(
        hedge.on_failure(&mut call, Failure::not_retryable(), &clock, None),
        Failed::GiveUp(GiveUp::NotRetryable)
    );
    let stats = hedge.stats();
    assert_eq!(
        (stats.calls, stats.hedges, stats.won, stats.cancelled),
        (3, 3, 1, 1)
    );
}

#[test]
fn a_hedge_after_a_failure_resets_the_timer() {
    let hedge = fixed(3, 10);
    let clock = ManualClock::new();
    let mut call = hedge.start(&clock);
    clock.advance(MS(3));
    assert_eq!(
        hedge.on_failure(&mut call, Failure::retryable(), &clock, None),
        Failed::Send { attempt: 2 }
    );
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Wait(MS(10)));
}

#[test]
fn the_budget_bounds_hedges_sent_by_time() {
    // 4 tokens: hedges while more than 2 remain.
    let budget = RetryBudget::new(4, 0.5).unwrap();
    let hedge = fixed(2, 10);
    let clock = ManualClock::new();
    let mut sent = 0;
    for _ in 0..4 {
        let mut call = hedge.start(&clock);
        clock.advance(MS(10));
        if let Next::Send { .. } = hedge.poll(&mut call, &clock, &budget) {
            sent += 1;
        }
        hedge.on_cancel(&mut call);
    }
    assert_eq!(sent, 2);
    assert_eq!(budget.tokens(), 2.0);
    assert_eq!(hedge.stats().refused, 2);
    // A refused call sends no more hedges by time, even once tokens return.
    let mut call = hedge.start(&clock);
    clock.advance(MS(10));
    assert_eq!(hedge.poll(&mut call, &clock, &budget), Next::Idle);
    budget.record_success();
    assert_eq!(hedge.poll(&mut call, &clock, &budget), Next::Idle);
    // A success pays back a first-attempt success: the ratio, not the hedge.
    hedge.on_success(&mut call, 1, &clock, &budget);
    assert_eq!(budget.tokens(), 3.0);
}

#[test]
fn failures_take_budget_tokens_as_retries_do() {
    let budget = RetryBudget::new(2, 0.1).unwrap();
    let hedge = fixed(3, 10);
    let clock = ManualClock::new();
    let mut call = hedge.start(&clock);
    // 2 -> 1 token: not more than half, so no attempt follows the failure.
    assert_eq!(
        hedge.on_failure(&mut call, Failure::retryable(), &clock, &budget),
        Failed::GiveUp(GiveUp::BudgetEmpty)
    );
    assert_eq!(budget.tokens(), 1.0);
}

#[test]
fn a_quota_prices_timed_hedges_as_timeouts_and_failures_by_kind() {
    let quota = RetryQuota::new(30, QuotaCosts::DEFAULT).unwrap();
    let hedge = fixed(3, 10);
    let clock = ManualClock::new();
    let mut call = hedge.start(&clock);
    clock.advance(MS(10));
    assert_eq!(
        hedge.poll(&mut call, &clock, &quota),
        Next::Send { attempt: 2 }
    );
    assert_eq!(quota.available(), 16);
    assert_eq!(
        hedge.on_failure(&mut call, Failure::throttling(), &clock, &quota),
        Failed::Send { attempt: 3 }
    );
    assert_eq!(quota.available(), 11);
    hedge.on_success(&mut call, 3, &clock, &quota);
    assert_eq!(quota.available(), 12, "the success reward only");
    let mut call = hedge.start(&clock);
    clock.advance(MS(10));
    assert_eq!(hedge.poll(&mut call, &clock, &quota), Next::Idle, "12 < 14");
}

#[test]
fn a_percentile_delay_follows_recent_latencies() {
    let hedge = Hedge::<192>::new(HedgeConfig {
        max_attempts: 2,
        delay: HedgeDelay::Percentile {
            percentile: 0.9,
            min: MS(2),
            max: MS(500),
            min_samples: 10,
            window: Duration::from_secs(10),
        },
        at_once: 1,
    })
    .unwrap();
    let clock = ManualClock::new();
    assert_eq!(hedge.delay(&clock), MS(500), "nothing known yet");
    for ms in 1..=10 {
        let mut call = hedge.start(&clock);
        clock.advance(MS(ms));
        hedge.on_success(&mut call, 1, &clock, None);
    }
    assert_eq!(hedge.samples(&clock), 10);
    // The 9th of 10 latencies is 9 ms (its bucket: up to 9.215 ms).
    assert_eq!(hedge.delay(&clock), Duration::from_micros(9_215));
    let call = hedge.start(&clock);
    assert_eq!(call.delay(), Duration::from_micros(9_215));
    // Old latencies leave the window.
    clock.advance(Duration::from_secs(10));
    assert_eq!(hedge.delay(&clock), MS(500));
    hedge.reset();
    assert_eq!(hedge.samples(&clock), 0);
}

#[test]
fn a_won_hedge_records_a_lower_bound_of_the_first_attempt() {
    let hedge = Hedge::<192>::new(HedgeConfig {
        max_attempts: 2,
        delay: HedgeDelay::Percentile {
            percentile: 1.0,
            min: Duration::ZERO,
            max: Duration::from_secs(1),
            min_samples: 1,
            window: Duration::from_secs(10),
        },
        at_once: 1,
    })
    .unwrap();
    let clock = ManualClock::new();
    let mut call = hedge.start(&clock);
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        hedge.poll(&mut call, &clock, None),
        Next::Send { attempt: 2 }
    );
    clock.advance(MS(30));
    hedge.on_success(&mut call, 2, &clock, None);
    // From the first attempt's start: 1.03 s (to within its bucket).
    let delay = hedge.delay(&clock);
    assert!(delay >= Duration::from_secs(1), "{delay:?}");
}

#[test]
fn every_invalid_field_is_named() {
    let field = |config: HedgeConfig| Hedge::<64>::new(config).unwrap_err().field();
    let d = HedgeConfig::DEFAULT;
    assert_eq!(
        field(HedgeConfig {
            max_attempts: 1,
            ..d
        }),
        "max_attempts"
    );
    let percentile = |p: f64, min: u64, max: u64, samples: u32, window: u64| HedgeConfig {
        max_attempts: 2,
        delay: HedgeDelay::Percentile {
            percentile: p,
            min: MS(min),
            max: MS(max),
            min_samples: samples,
            window: MS(window),
        },
        at_once: 1,
    };
    for bad in [0.0, 1.01, f64::NAN] {
        assert_eq!(field(percentile(bad, 1, 2, 1, 1000)), "percentile");
    }
    assert_eq!(field(percentile(0.5, 3, 2, 1, 1000)), "max");
    assert_eq!(field(percentile(0.5, 1, 2, 0, 1000)), "min_samples");
    assert_eq!(field(percentile(0.5, 1, 2, 1, 1)), "window");
    assert!(Hedge::<64>::new(percentile(1.0, 0, 0, 1, 2)).is_ok());
    assert_eq!(
        Hedge::<8>::new(HedgeConfig::DEFAULT).unwrap_err().field(),
        "buckets"
    );
    assert_eq!(HedgeConfig::default(), HedgeConfig::DEFAULT);
    assert_eq!(
        HedgeDelay::percentile(0.99),
        match HedgeDelay::DEFAULT {
            HedgeDelay::Percentile {
                min,
                max,
                min_samples,
                window,
                ..
            } => HedgeDelay::Percentile {
                percentile: 0.99,
                min,
                max,
                min_samples,
                window
            },
            other => other,
        }
    );
}

#[test]
fn time_going_backwards_only_waits_longer() {
    let hedge = fixed(2, 10);
    let clock = ManualClock::starting_at(crate::time::Instant::from_secs(5));
    let mut call = hedge.start(&clock);
    clock.set(crate::time::Instant::from_secs(1));
    assert_eq!(
        hedge.poll(&mut call, &clock, None),
        Next::Wait(Duration::from_millis(4010))
    );
    hedge.on_success(&mut call, 1, &clock, None);
}

#[test]
fn at_once_sends_a_round_of_hedges_together() {
    let hedge = Hedge::<64>::new(HedgeConfig {
        max_attempts: 4,
        delay: HedgeDelay::fixed(MS(10)),
        at_once: 2,
    })
    .unwrap();
    let clock = ManualClock::new();
    let mut call = hedge.start(&clock);
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Wait(MS(10)));
    clock.advance(MS(10));
    assert_eq!(
        hedge.poll(&mut call, &clock, None),
        Next::Send { attempt: 2 }
    );
    assert_eq!(
        hedge.poll(&mut call, &clock, None),
        Next::Send { attempt: 3 }
    );
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Wait(MS(10)));
    clock.advance(MS(10));
    assert_eq!(
        hedge.poll(&mut call, &clock, None),
        Next::Send { attempt: 4 }
    );
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Idle);
    // A failure starts a new round a delay after the attempt it sends.
    let mut call = hedge.start(&clock);
    clock.advance(MS(10));
    hedge.poll(&mut call, &clock, None);
    assert_eq!(
        hedge.on_failure(&mut call, Failure::retryable(), &clock, None),
        Failed::Send { attempt: 3 }
    );
    assert_eq!(hedge.poll(&mut call, &clock, None), Next::Wait(MS(10)));
    assert_eq!(
        Hedge::<64>::new(HedgeConfig {
            at_once: 0,
            ..HedgeConfig::DEFAULT
        })
        .unwrap_err()
        .field(),
        "at_once"
    );
}
