//! Every configuration error: reported when the policy is built, naming the
//! field in the adapter's words; `new` panics with the same message, and
//! nothing panics later.

use std::time::Duration;

use seawall::core::backoff::Jitter;
use seawall::{
    Bulkhead, BulkheadConfig, CircuitBreaker, CircuitBreakerConfig, KeyedCircuitBreaker,
    MAX_WINDOW_LEN, Policy, RateLimiter, RateLimiterConfig, RetryLayer, RetryPolicy, RetryStrategy,
    SlidingWindow,
};

fn breaker_error(config: CircuitBreakerConfig) -> String {
    let error = CircuitBreaker::try_new("x", config.clone()).unwrap_err();
    assert_eq!(config.validate(), Err(error));
    error.to_string()
}

#[test]
fn every_breaker_option_is_checked() {
    let base = CircuitBreakerConfig::default;
    let window = |window| CircuitBreakerConfig {
        window: Some(window),
        ..base()
    };
    let cases: Vec<(CircuitBreakerConfig, &str)> = vec![
        (
            CircuitBreakerConfig {
                failure_threshold: 0,
                ..base()
            },
            "invalid failure_threshold: must be at least 1",
        ),
        (
            CircuitBreakerConfig {
                failure_threshold: 1 << 27,
                ..base()
            },
            "invalid failure_threshold: must be at most 134217727",
        ),
        (
            CircuitBreakerConfig {
                success_threshold: 0,
                ..base()
            },
            "invalid success_threshold: must be at least 1",
        ),
        (
            CircuitBreakerConfig {
                success_threshold: 1024,
                ..base()
            },
            "invalid success_threshold: must be at most 1023",
        ),
        (
            CircuitBreakerConfig {
                half_open_max_calls: 0,
                ..base()
            },
            "invalid half_open_max_calls: must be at least 1",
        ),
        (
            CircuitBreakerConfig {
                half_open_max_calls: 1024,
                ..base()
            },
            "invalid half_open_max_calls: must be at most 1023",
        ),
        (
            CircuitBreakerConfig {
                timeout: Duration::ZERO,
                ..base()
            },
            "invalid timeout: must be greater than zero",
        ),
        (
            CircuitBreakerConfig {
                open_duration_multiplier: 0.5,
                ..base()
            },
            "invalid open_duration_multiplier: must be at least 1.0",
        ),
        (
            CircuitBreakerConfig {
                open_duration_multiplier: f64::NAN,
                ..base()
            },
            "invalid open_duration_multiplier: must be a finite number",
        ),
        (
            CircuitBreakerConfig {
                max_open_duration: Some(Duration::from_secs(1)),
                ..base()
            },
            "invalid max_open_duration: must not be below timeout",
        ),
        (
            CircuitBreakerConfig {
                max_wait_in_half_open: Some(Duration::ZERO),
                ..base()
            },
            "invalid max_wait_in_half_open: must be greater than zero",
        ),
        (
            CircuitBreakerConfig {
                failure_rate_threshold: 0.0,
                ..base()
            },
            "invalid failure_rate_threshold: must be a number in (0, 1]",
        ),
        (
            CircuitBreakerConfig {
                failure_rate_threshold: f64::NAN,
                ..base()
            },
            "invalid failure_rate_threshold: must be a number in (0, 1]",
        ),
        (
            CircuitBreakerConfig {
                slow_call_rate_threshold: 1.5,
                ..base()
            },
            "invalid slow_call_rate_threshold: must be a number in (0, 1]",
        ),
        (
            CircuitBreakerConfig {
                slow_call_duration: Duration::ZERO,
                ..base()
            },
            "invalid slow_call_duration: must be greater than zero",
        ),
        (
            CircuitBreakerConfig {
                minimum_calls: 0,
                ..base()
            },
            "invalid minimum_calls: must be at least 1",
        ),
        (
            window(SlidingWindow::Count { size: 0 }),
            "invalid window_size: must be at least 1",
        ),
        (
            window(SlidingWindow::Count {
                size: MAX_WINDOW_LEN + 1,
            }),
            "invalid window_size: must be at most 1048576",
        ),
        (
            window(SlidingWindow::Time {
                duration: Duration::from_secs(10),
                buckets: 0,
            }),
            "invalid window_buckets: must be at least 1",
        ),
        (
            window(SlidingWindow::Time {
                duration: Duration::from_secs(10),
                buckets: MAX_WINDOW_LEN + 1,
            }),
            "invalid window_buckets: must be at most 1048576",
        ),
        (
            window(SlidingWindow::Time {
                duration: Duration::ZERO,
                buckets: 10,
            }),
            "invalid window_duration: must be greater than zero",
        ),
        (
            window(SlidingWindow::Time {
                duration: Duration::from_millis(5),
                buckets: 10,
            }),
            "invalid window_duration: must give each bucket at least 1 ms",
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(breaker_error(config), expected);
    }
    assert!(CircuitBreakerConfig::default().validate().is_ok());
}

#[test]
#[should_panic(expected = "invalid failure_threshold: must be at least 1")]
fn new_panics_with_the_config_error() {
    let _ = CircuitBreaker::new(
        "x",
        CircuitBreakerConfig {
            failure_threshold: 0,
            ..Default::default()
        },
    );
}

#[test]
fn keyed_breakers_check_their_options() {
    let error = KeyedCircuitBreaker::<String>::try_new("k", CircuitBreakerConfig::default(), 0)
        .unwrap_err();
    assert_eq!(error.to_string(), "invalid max_keys: must be at least 1");
    let error = KeyedCircuitBreaker::<String>::try_new(
        "k",
        CircuitBreakerConfig {
            success_threshold: 0,
            ..Default::default()
        },
        10,
    )
    .unwrap_err();
    assert_eq!(error.field(), "success_threshold");
}

#[test]
fn every_retry_option_is_checked() {
    let exponential = |initial_delay, max_delay, multiplier| RetryPolicy {
        strategy: RetryStrategy::Exponential {
            initial_delay,
            max_delay,
            multiplier,
        },
        ..Default::default()
    };
    let s = Duration::from_secs;
    let cases = [
        (
            RetryPolicy {
                max_attempts: 0,
                ..Default::default()
            },
            "invalid max_attempts: must be at least 1",
        ),
        (
            exponential(Duration::ZERO, s(1), 2.0),
            "invalid initial_delay: must be greater than zero",
        ),
        (
            exponential(s(2), s(1), 2.0),
            "invalid max_delay: must not be below initial_delay",
        ),
        (
            exponential(s(1), s(2), 0.5),
            "invalid multiplier: must be at least 1.0",
        ),
        (
            exponential(s(1), s(2), f64::INFINITY),
            "invalid multiplier: must be a finite number",
        ),
        (
            RetryPolicy {
                strategy: RetryStrategy::Linear {
                    initial_delay: s(2),
                    increment: s(1),
                    max_delay: s(1),
                },
                ..Default::default()
            },
            "invalid max_delay: must not be below initial_delay",
        ),
        (
            RetryPolicy {
                strategy: RetryStrategy::DecorrelatedJitter {
                    base_delay: Duration::ZERO,
                    max_delay: s(1),
                },
                ..Default::default()
            },
            "invalid base_delay: must be greater than zero",
        ),
        (
            RetryPolicy {
                strategy: RetryStrategy::DecorrelatedJitter {
                    base_delay: s(2),
                    max_delay: s(1),
                },
                ..Default::default()
            },
            "invalid max_delay: must not be below base_delay",
        ),
        (
            RetryPolicy {
                deadline: Some(Duration::ZERO),
                ..Default::default()
            },
            "invalid deadline: must be greater than zero",
        ),
    ];
    for (policy, expected) in cases {
        let error = policy.validate().unwrap_err();
        assert_eq!(error.to_string(), expected);
        assert_eq!(RetryLayer::new(policy.clone()).unwrap_err(), error);
        assert_eq!(Policy::builder().retry(policy).build().unwrap_err(), error);
    }
    let jittered = RetryPolicy {
        jitter: Jitter::Full,
        ..Default::default()
    };
    assert!(jittered.validate().is_ok());
}

/// An invalid policy used directly panics with the option's error when it
/// has to decide, after the first attempt failed (it used to stop there,
/// silently, as if one attempt had been asked for).
#[tokio::test(start_paused = true)]
#[should_panic(expected = "invalid RetryPolicy: invalid max_attempts: must be at least 1")]
async fn an_invalid_retry_policy_panics_naming_the_option_when_it_must_decide() {
    let policy = RetryPolicy {
        max_attempts: 0,
        ..Default::default()
    };
    let _ = policy.execute(|| async { Err::<(), _>("down") }).await;
}

#[test]
#[should_panic(expected = "invalid RetryPolicy: invalid initial_delay: must be greater than zero")]
fn an_invalid_retry_policy_previews_nothing() {
    let policy = RetryPolicy {
        strategy: RetryStrategy::Exponential {
            initial_delay: Duration::ZERO,
            max_delay: Duration::from_secs(1),
            multiplier: 2.0,
        },
        ..Default::default()
    };
    let _ = policy.preview_delays(3);
}

/// A quota booking more than 146 years ahead is refused, naming the option:
/// its refusals could not name a time to come back (and a wait spun).
#[test]
fn a_rate_limiter_period_beyond_the_clock_is_refused() {
    let error = RateLimiter::try_new(RateLimiterConfig {
        rate: 1,
        period: Duration::from_secs(20_000_000_000),
        burst: 1,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid period: must be at most 146 years"
    );
}

#[test]
fn bulkhead_and_rate_limiter_options_are_checked() {
    let error = Bulkhead::try_new(BulkheadConfig {
        max_concurrent: 0,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid max_concurrent: must be at least 1"
    );

    let limiter = |rate, period, burst| {
        RateLimiter::try_new(RateLimiterConfig {
            rate,
            period,
            burst,
            ..Default::default()
        })
        .unwrap_err()
        .field()
    };
    assert_eq!(limiter(0, Duration::from_secs(1), 1), "rate");
    assert_eq!(limiter(1, Duration::ZERO, 1), "period");
    assert_eq!(limiter(1, Duration::from_secs(1), 0), "burst");
}

#[test]
#[should_panic(expected = "invalid max_concurrent: must be at least 1")]
fn bulkhead_new_panics_with_the_config_error() {
    let _ = Bulkhead::new(BulkheadConfig {
        max_concurrent: 0,
        ..Default::default()
    });
}

#[test]
#[should_panic(expected = "invalid rate: must be at least 1")]
fn rate_limiter_new_panics_with_the_config_error() {
    let _ = RateLimiter::new(RateLimiterConfig {
        rate: 0,
        ..Default::default()
    });
}
