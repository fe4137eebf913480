//! `rate_limiter` scenarios through `RateLimiter::acquire` (refusing at once:
//! no `max_wait`) for single cells, and `check_n` for several.

use std::sync::Arc;
use std::time::Duration;

use seawall::{RateLimiter, RateLimiterConfig};
use seawall_tests::replay::check;
use seawall_tests::replay::rate_limiter::{Config, ExpectedCheck, Step, expected_check};
use seawall_tests::scenario::Scenario;

use crate::aligned::AlignedClock;

pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let options = RateLimiterConfig {
        rate: config.rate,
        period: Duration::from_millis(config.period_ms.unwrap_or(1000)),
        burst: config.burst,
        max_wait: Duration::ZERO,
    };
    let aligned = Arc::new(AlignedClock::new(scenario.start_ms, None));
    let needs_alignment = scenario.steps.iter().any(|step| step["op"] == "set_time");
    let limiter = if needs_alignment {
        RateLimiter::with_clock(options, aligned.clone())
    } else {
        RateLimiter::try_new(options)
    }
    .map_err(|e| e.to_string())?;

    for index in 0..scenario.steps.len() {
        let step: Step = scenario.step(index)?;
        let result: Result<(), String> = async {
            match step {
                Step::Advance { ms } => tokio::time::advance(Duration::from_millis(ms)).await,
                Step::SetTime { ms } => aligned.set(ms),
                Step::Reset => limiter.reset(),
                Step::Check {
                    n,
                    repeat,
                    allowed,
                    retry_after_ms,
                    retry_after_ns,
                    error,
                } => {
                    let expected =
                        expected_check(allowed, retry_after_ms, retry_after_ns, error.as_deref())?;
                    let n = n.unwrap_or(1);
                    for i in 0..repeat.unwrap_or(1) {
                        let actual = if n == 1 {
                            match limiter.acquire().await {
                                Ok(()) => ExpectedCheck::Allowed,
                                Err(not_until) => ExpectedCheck::Refused(Some(
                                    not_until.retry_after().as_nanos() as u64,
                                )),
                            }
                        } else {
                            match limiter.check_n(n) {
                                Ok(Ok(())) => ExpectedCheck::Allowed,
                                Ok(Err(not_until)) => ExpectedCheck::Refused(Some(
                                    not_until.retry_after().as_nanos() as u64,
                                )),
                                Err(_) => ExpectedCheck::InsufficientCapacity,
                            }
                        };
                        let actual = match (expected, actual) {
                            // The step does not say how long: any wait will do.
                            (ExpectedCheck::Refused(None), ExpectedCheck::Refused(_)) => {
                                ExpectedCheck::Refused(None)
                            }
                            (_, actual) => actual,
                        };
                        check(&format!("check {}", i + 1), &expected, &actual)?;
                    }
                }
            }
            Ok(())
        }
        .await;
        result.map_err(|e| format!("step {index} ({}): {e}", scenario.steps[index]))?;
    }
    Ok(())
}
