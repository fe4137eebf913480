use super::*;
use crate::rng::SplitMix64;
use crate::time::ManualClock;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn exponential(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(max_attempts)
        .strategy(Strategy::Exponential {
            initial_delay: MS(100),
            multiplier: 2.0,
            max_delay: MS(1000),
        })
        .build()
        .unwrap()
}

fn retry(delay: Duration) -> RetryDecision {
    RetryDecision::Retry { delay }
}

fn give_up(reason: GiveUp) -> RetryDecision {
    RetryDecision::GiveUp(reason)
}

#[test]
fn defaults() {
    let policy = RetryPolicy::default();
    assert_eq!(policy.max_attempts(), 3);
    assert_eq!(*policy.backoff(), Backoff::DEFAULT);
    assert_eq!(policy.deadline(), None);
    assert_eq!(policy.to_builder().build(), Ok(policy));
}

#[test]
fn max_attempts_counts_the_first_call() {
    let policy = exponential(4);
    let clock = ManualClock::new();
    let mut rng = SplitMix64::new(0);
    let mut state = policy.start(&clock);
    assert_eq!(state.attempt(), 1);
    for expected in [100, 200, 400] {
        let decision = policy.on_failure(&mut state, Failure::retryable(), None, &clock, &mut rng);
        assert_eq!(decision, retry(MS(expected)));
    }
    assert_eq!(state.attempt(), 4);
    let decision = policy.on_failure(&mut state, Failure::retryable(), None, &clock, &mut rng);
    assert_eq!(decision, give_up(GiveUp::AttemptsExhausted));
    assert_eq!(state.attempt(), 4);
    assert_eq!(state.backoff().attempt(), 3);

    let once = exponential(1);
    let mut state = once.start(&clock);
    let decision = once.on_failure(&mut state, Failure::retryable(), None, &clock, &mut rng);
    assert_eq!(decision, give_up(GiveUp::AttemptsExhausted));
}

#[test]
fn a_failure_that_is_not_retryable_gives_up_at_once() {
    let policy = exponential(5);
    let clock = ManualClock::new();
    let budget = RetryBudget::new(10, 0.1).unwrap();
    let mut rng = SplitMix64::new(0);
    let mut state = policy.start(&clock);
    let decision = policy.on_failure(
        &mut state,
        Failure::not_retryable(),
        Some(&budget),
        &clock,
        &mut rng,
    );
    assert_eq!(decision, give_up(GiveUp::NotRetryable));
    assert_eq!(budget.tokens(), 10.0, "no token taken");
    assert_eq!(state.attempt(), 1);
}

#[test]
fn retry_after_is_honoured_up_to_the_maximum_delay() {
    let policy = exponential(10);
    let clock = ManualClock::new();
    let mut rng = SplitMix64::new(0);
    let mut state = policy.start(&clock);
    let hinted = |ms| Failure::retryable().with_retry_after(MS(ms));
    // A hint above the backoff delay raises it.
    assert_eq!(
        policy.on_failure(&mut state, hinted(350), None, &clock, &mut rng),
        retry(MS(350))
    );
    // A hint below the backoff delay (200 ms) does not shorten it.
    assert_eq!(
        policy.on_failure(&mut state, hinted(50), None, &clock, &mut rng),
        retry(MS(200))
    );
    // A hint beyond the maximum delay is capped at it.
    assert_eq!(
        policy.on_failure(&mut state, hinted(60_000), None, &clock, &mut rng),
        retry(MS(1000))
    );
    // The backoff advanced under the hints: the next plain delay is 800 ms.
    assert_eq!(
        policy.on_failure(&mut state, Failure::retryable(), None, &clock, &mut rng),
        retry(MS(800))
    );
}

#[test]
fn no_retry_is_scheduled_after_the_deadline() {
    let policy = exponential(10)
        .to_builder()
        .deadline(MS(1000))
        .build()
        .unwrap();
    assert_eq!(policy.deadline(), Some(MS(1000)));
    let clock = ManualClock::starting_at(Instant::from_secs(50));
    let mut rng = SplitMix64::new(0);
    let mut state = policy.start(&clock);
    assert_eq!(state.started(), Instant::from_secs(50));
    let fail = |state: &mut RetryState, rng: &mut SplitMix64| {
        policy.on_failure(state, Failure::retryable(), None, &clock, rng)
    };
    clock.advance(MS(50));
    assert_eq!(fail(&mut state, &mut rng), retry(MS(100))); // starts at 150
    clock.advance(MS(150));
    assert_eq!(fail(&mut state, &mut rng), retry(MS(200))); // starts at 400
    clock.advance(MS(200));
    // 600 + 400 = 1000: exactly at the deadline is still in time.
    assert_eq!(fail(&mut state, &mut rng), retry(MS(400)));
    clock.advance(MS(401));
    // 1001 + 800 > 1000.
    assert_eq!(fail(&mut state, &mut rng), give_up(GiveUp::DeadlineReached));

    // A clock that went backwards counts as no time elapsed.
    let mut state = policy.start(&clock);
    clock.set(Instant::from_secs(1));
    assert_eq!(fail(&mut state, &mut rng), retry(MS(100)));
}

#[test]
fn the_budget_stops_retries_and_successes_restore_it() {
    let policy = exponential(3);
    let clock = ManualClock::new();
    let budget = RetryBudget::new(4, 0.5).unwrap();
    let mut rng = SplitMix64::new(0);
    let fail = |state: &mut RetryState, rng: &mut SplitMix64| {
        policy.on_failure(state, Failure::retryable(), Some(&budget), &clock, rng)
    };
    let mut state = policy.start(&clock);
    assert_eq!(fail(&mut state, &mut rng), retry(MS(100))); // 3 tokens
    assert_eq!(fail(&mut state, &mut rng), give_up(GiveUp::BudgetEmpty)); // 2
    assert_eq!(budget.tokens(), 2.0);
    // Exhausted attempts still take a token, and are reported first.
    let mut state = policy.start(&clock);
    state.attempt = 3;
    assert_eq!(
        fail(&mut state, &mut rng),
        give_up(GiveUp::AttemptsExhausted)
    );
    assert_eq!(budget.tokens(), 1.0);
    for _ in 0..5 {
        budget.record_success(); // up to 3.5
    }
    let mut state = policy.start(&clock);
    assert_eq!(fail(&mut state, &mut rng), retry(MS(100))); // 2.5 > 2
    assert_eq!(budget.tokens(), 2.5);
}

#[test]
fn a_deadline_is_reported_before_an_empty_budget() {
    let policy = exponential(3)
        .to_builder()
        .deadline(MS(50))
        .build()
        .unwrap();
    let clock = ManualClock::new();
    let budget = RetryBudget::new(1, 0.5).unwrap();
    let mut state = policy.start(&clock);
    let decision = policy.on_failure(
        &mut state,
        Failure::retryable(),
        Some(&budget),
        &clock,
        &mut SplitMix64::new(0),
    );
    assert_eq!(decision, give_up(GiveUp::DeadlineReached));
}

#[test]
fn jittered_decisions_are_fixed_by_the_seed() {
    let policy = exponential(6)
        .to_builder()
        .jitter(Jitter::Full)
        .build()
        .unwrap();
    let clock = ManualClock::new();
    let run = |seed| {
        let mut rng = SplitMix64::new(seed);
        let mut state = policy.start(&clock);
        let mut delays = [Duration::ZERO; 5];
        for (i, delay) in delays.iter_mut().enumerate() {
            match policy.on_failure(&mut state, Failure::retryable(), None, &clock, &mut rng) {
                RetryDecision::Retry { delay: d } => {
                    assert!(d <= policy.backoff().base_delay(i as u32 + 1));
                    *delay = d;
                }
                other => panic!("{other:?}"),
            }
        }
        delays
    };
    assert_eq!(run(8), run(8));
    assert_ne!(run(8), run(9));
}

#[test]
fn every_invalid_field_is_named() {
    let field = |b: RetryPolicyBuilder| b.build().unwrap_err().field();
    let b = RetryPolicy::builder;
    assert_eq!(field(b().max_attempts(0)), "max_attempts");
    assert_eq!(field(b().deadline(Duration::ZERO)), "deadline");
    assert_eq!(
        field(b().strategy(Strategy::Exponential {
            initial_delay: MS(1),
            multiplier: f64::NAN,
            max_delay: MS(2)
        })),
        "multiplier"
    );
    assert_eq!(
        field(b().strategy(Strategy::Exponential {
            initial_delay: MS(10),
            multiplier: 2.0,
            max_delay: MS(2)
        })),
        "max_delay"
    );
    let backoff = Backoff::fixed(MS(5)).with_jitter(Jitter::Equal);
    let policy = b().backoff(backoff).build().unwrap();
    assert_eq!(*policy.backoff(), backoff);
}

#[test]
fn give_up_names() {
    for reason in [
        GiveUp::AttemptsExhausted,
        GiveUp::DeadlineReached,
        GiveUp::BudgetEmpty,
        GiveUp::NotRetryable,
    ] {
        assert_eq!(GiveUp::from_name(reason.as_str()), Some(reason));
    }
    assert_eq!(GiveUp::from_name("exhausted"), None);
}

#[test]
fn the_quota_charges_retries_by_kind_and_successes_pay_back() {
    let policy = exponential(3);
    let clock = ManualClock::new();
    let quota = RetryQuota::new(20, QuotaCosts::DEFAULT).unwrap();
    let mut rng = SplitMix64::new(0);
    let mut state = policy.start(&clock);
    // A transient retry costs 14.
    let decision = policy.on_failure(&mut state, Failure::retryable(), &quota, &clock, &mut rng);
    assert_eq!(decision, retry(MS(100)));
    assert_eq!((quota.available(), state.quota_cost()), (6, 14));
    // The last attempt gives up before charging anything.
    state.attempt = 3;
    let decision = policy.on_failure(&mut state, Failure::timeout(), &quota, &clock, &mut rng);
    assert_eq!(decision, give_up(GiveUp::AttemptsExhausted));
    assert_eq!(quota.available(), 6);
    // 6 left: a transient retry (14) cannot be paid, a throttling one (5) can.
    let mut state = policy.start(&clock);
    let decision = policy.on_failure(&mut state, Failure::retryable(), &quota, &clock, &mut rng);
    assert_eq!(decision, give_up(GiveUp::BudgetEmpty));
    assert_eq!(
        (quota.available(), state.attempt()),
        (6, 1),
        "nothing taken"
    );
    let hinted = Failure::throttling().with_retry_after(MS(300));
    let decision = policy.on_failure(&mut state, hinted, &quota, &clock, &mut rng);
    assert_eq!(
        decision,
        retry(MS(300)),
        "the server's hint, within the maximum"
    );
    assert_eq!((quota.available(), state.quota_cost()), (1, 5));
    // The call succeeds: its last retry is paid back.
    policy.on_success(&state, &quota);
    assert_eq!(quota.available(), 6);
    // A first-attempt success pays the reward back.
    policy.on_success(&policy.start(&clock), &quota);
    assert_eq!(quota.available(), 7);
    // Without an allowance, on_success does nothing; with a budget, it refills it.
    policy.on_success(&state, None);
    let budget = RetryBudget::new(4, 0.5).unwrap();
    budget.record_failure();
    policy.on_success(&state, &budget);
    assert_eq!(budget.tokens(), 3.5);
    assert!(matches!(
        Allowance::from(Some(&budget)),
        Allowance::Budget(_)
    ));
    assert!(matches!(Allowance::default(), Allowance::None));
}

#[test]
fn in_an_outage_the_quota_caps_retries() {
    // Every attempt fails; each call may make 3 attempts. The standard quota
    // pays for 35 transient retries, then no call retries until one succeeds.
    let policy = exponential(3);
    let clock = ManualClock::new();
    let quota = RetryQuota::new(RetryQuota::STANDARD_CAPACITY, QuotaCosts::DEFAULT).unwrap();
    let mut rng = SplitMix64::new(0);
    let mut retries = 0;
    for _ in 0..1000 {
        let mut state = policy.start(&clock);
        while let RetryDecision::Retry { .. } =
            policy.on_failure(&mut state, Failure::retryable(), &quota, &clock, &mut rng)
        {
            retries += 1;
        }
    }
    assert_eq!(retries, 35);
    assert_eq!(quota.available(), 10);
    assert_eq!(Failure::timeout().kind, ErrorKind::Timeout);
    assert_eq!(Failure::throttling().kind, ErrorKind::Throttling);
    assert_eq!(Failure::retryable().kind, ErrorKind::Transient);
}
