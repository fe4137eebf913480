use std::cell::{Cell, RefCell};
use std::task::Poll;
use std::time::Duration;

use seawall_embassy::core::rng::SplitMix64;
use seawall_embassy::core::time::ManualClock;
use seawall_embassy::{
    BreakerConfig, CircuitBreaker, Error, Failure, GiveUp, Jitter, Retry, RetryBudget,
    RetryListener, RetryPolicy, Strategy, retry,
};

use crate::support::{advance, leak, poll, ready, setup};

/// 10 ms, 20 ms, 40 ms, ... up to 1 s, `attempts` in all.
fn policy(attempts: u32) -> RetryPolicy {
    RetryPolicy::builder()
        .max_attempts(attempts)
        .strategy(Strategy::Exponential {
            initial_delay: Duration::from_millis(10),
            multiplier: 2.0,
            max_delay: Duration::from_secs(1),
        })
        .build()
        .unwrap()
}

#[derive(Debug, Default)]
struct Log {
    retries: RefCell<Vec<(u32, Duration)>>,
    gave_up: RefCell<Vec<(u32, GiveUp)>>,
}

impl RetryListener for Log {
    fn on_retry(&self, attempt: u32, delay: Duration) {
        self.retries.borrow_mut().push((attempt, delay));
    }
    fn on_give_up(&self, attempt: u32, reason: GiveUp) {
        self.gave_up.borrow_mut().push((attempt, reason));
    }
}

/// A call that fails its first `failures` attempts, counting them.
fn flaky(
    calls: &Cell<u32>,
    failures: u32,
) -> impl FnMut() -> std::future::Ready<Result<u32, Error<&'static str>>> + '_ {
    move || {
        calls.set(calls.get() + 1);
        std::future::ready(if calls.get() <= failures {
            Err(Error::Inner("nack"))
        } else {
            Ok(calls.get())
        })
    }
}

#[test]
fn retries_sleep_the_backoff_and_return_the_first_success() {
    let _driver = setup();
    let retry = Retry::new(policy(4), 1).with_listener(Log::default());
    let calls = Cell::new(0);
    let mut call = Box::pin(retry.execute(flaky(&calls, 2)));
    assert!(poll(call.as_mut()).is_pending());
    assert_eq!(calls.get(), 1);
    advance(Duration::from_micros(9_999));
    assert!(poll(call.as_mut()).is_pending());
    assert_eq!(calls.get(), 1, "no attempt before the delay is over");
    advance(Duration::from_micros(1));
    assert!(poll(call.as_mut()).is_pending());
    assert_eq!(calls.get(), 2);
    advance(Duration::from_millis(20));
    assert_eq!(poll(call.as_mut()), Poll::Ready(Ok(3)));
    assert_eq!(
        *retry.listener().retries.borrow(),
        [
            (1, Duration::from_millis(10)),
            (2, Duration::from_millis(20))
        ]
    );
    assert!(retry.listener().gave_up.borrow().is_empty());
}

#[test]
fn the_last_error_comes_back_when_attempts_run_out() {
    let _driver = setup();
    let retry = Retry::new(policy(3), 1).with_listener(Log::default());
    let calls = Cell::new(0);
    let mut call = Box::pin(retry.execute(flaky(&calls, u32::MAX)));
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_millis(10));
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_millis(20));
    assert_eq!(poll(call.as_mut()), Poll::Ready(Err(Error::Inner("nack"))));
    assert_eq!(calls.get(), 3);
    assert_eq!(
        *retry.listener().gave_up.borrow(),
        [(3, GiveUp::AttemptsExhausted)]
    );
}

#[test]
fn a_seed_fixes_the_jittered_delays() {
    let _driver = setup();
    let jittered = policy(5).to_builder().jitter(Jitter::Full).build().unwrap();
    // What the core decides with the same seed: the adapter must sleep exactly that.
    let mut rng = SplitMix64::new(42);
    let clock = ManualClock::new();
    let mut state = jittered.start(&clock);
    let expected: Vec<(u32, Duration)> = (1..5)
        .map(|attempt| {
            match jittered.on_failure(&mut state, Failure::retryable(), None, &clock, &mut rng) {
                seawall_embassy::core::retry::RetryDecision::Retry { delay } => (attempt, delay),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert!(
        expected.windows(2).any(|w| w[0].1 != w[1].1 * 2),
        "jitter changes the delays"
    );

    let retry = Retry::new(jittered, 42).with_listener(Log::default());
    let calls = Cell::new(0);
    let mut call = Box::pin(retry.execute(flaky(&calls, u32::MAX)));
    assert!(poll(call.as_mut()).is_pending());
    for &(attempt, delay) in &expected {
        assert_eq!(calls.get(), attempt);
        advance(delay);
        let _ = poll(call.as_mut());
    }
    assert_eq!(calls.get(), 5);
    assert_eq!(*retry.listener().retries.borrow(), expected);
}

#[test]
fn an_open_breaker_is_retried_when_it_says_and_a_forced_one_not_at_all() {
    let _driver = setup();
    let config = leak(
        BreakerConfig::builder()
            .failure_threshold(1)
            .success_threshold(1)
            .open_duration(Duration::from_millis(300)),
    );
    let breaker = CircuitBreaker::new(config);
    let _ = ready(breaker.call(|| async { Err::<u32, _>("nack") }));
    advance(Duration::from_millis(100));

    // The backoff says 10 ms; the breaker says 200 ms more: the retry waits 200 ms.
    let retry = Retry::new(policy(3), 1).with_listener(Log::default());
    let mut call = Box::pin(retry.execute(|| breaker.call(|| async { Ok::<u32, &str>(7) })));
    assert!(poll(call.as_mut()).is_pending());
    assert_eq!(
        *retry.listener().retries.borrow(),
        [(1, Duration::from_millis(200))]
    );
    advance(Duration::from_millis(200));
    assert_eq!(poll(call.as_mut()), Poll::Ready(Ok(7)));

    breaker.force_open();
    let result = ready(retry.execute(|| breaker.call(|| async { Ok::<u32, &str>(7) })));
    assert!(result.unwrap_err().is_rejected());
    assert_eq!(
        retry.listener().gave_up.borrow().last(),
        Some(&(1, GiveUp::NotRetryable))
    );
}

#[test]
fn a_budget_stops_retries_that_would_multiply_an_outage() {
    static BUDGET: RetryBudget = match RetryBudget::new(4, 0.1) {
        Ok(budget) => budget,
        Err(_) => panic!("invalid budget"),
    };
    let _driver = setup();
    BUDGET.reset();
    let retry = Retry::new(policy(10), 1)
        .with_budget(&BUDGET)
        .with_listener(Log::default());
    let calls = Cell::new(0);
    let mut call = Box::pin(retry.execute(flaky(&calls, u32::MAX)));
    while poll(call.as_mut()).is_pending() {
        advance(Duration::from_secs(1));
    }
    // Each failure takes a token; at half the tokens the budget says no.
    assert_eq!(calls.get(), 2);
    assert_eq!(
        *retry.listener().gave_up.borrow(),
        [(2, GiveUp::BudgetEmpty)]
    );
}

#[test]
fn a_deadline_bounds_the_whole_call() {
    let _driver = setup();
    let bounded = policy(10)
        .to_builder()
        .deadline(Duration::from_millis(25))
        .build()
        .unwrap();
    let calls = Cell::new(0);
    let mut rng = SplitMix64::new(3);
    // The free function: no `static`, any generator.
    let mut call = Box::pin(retry(&bounded, &mut rng, flaky(&calls, u32::MAX)));
    assert!(poll(call.as_mut()).is_pending());
    advance(Duration::from_millis(10));
    // 10 ms spent, 20 ms more would end past 25 ms: give up now.
    assert_eq!(poll(call.as_mut()), Poll::Ready(Err(Error::Inner("nack"))));
    assert_eq!(calls.get(), 2);
}

#[test]
fn errors_without_retryable_use_a_classifier() {
    let _driver = setup();
    let retry = Retry::new(policy(5), 1);
    let calls = Cell::new(0);
    let result = ready(retry.execute_with(
        |error: &&str| {
            if *error == "fatal" {
                Failure::not_retryable()
            } else {
                Failure::retryable()
            }
        },
        || {
            calls.set(calls.get() + 1);
            async { Err::<(), _>("fatal") }
        },
    ));
    let error = result.unwrap_err();
    assert_eq!(
        (error.error, error.attempts, error.reason),
        ("fatal", 1, GiveUp::NotRetryable)
    );
    assert_eq!(
        error.to_string(),
        "gave up after 1 attempt (error is not retryable): fatal"
    );
    assert_eq!(calls.get(), 1);
}
