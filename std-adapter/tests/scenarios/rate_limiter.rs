//! `rate_limiter` scenarios through `RateLimiter::check` for single cells,
//! `check_n` for several, and `acquire` (waiting up to the scenario's
//! `max_wait_ms` on paused tokio time).

use std::sync::Arc;
use std::time::Duration;

use seawall::{RateLimiter, RateLimiterConfig};
use seawall_tests::replay::rate_limiter::{Config, ExpectedCheck, Step};
use seawall_tests::replay::{check, for_each_step_async};
use seawall_tests::scenario::Scenario;

use crate::aligned::AlignedClock;

pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let options = RateLimiterConfig {
        rate: config.rate,
        period: Duration::from_millis(config.period_ms.unwrap_or(1000)),
        burst: config.burst,
        max_wait: config.max_wait(),
    };
    let aligned = Arc::new(AlignedClock::new(scenario.start_ms, None));
    let needs_alignment = scenario.steps.iter().any(|step| step["op"] == "set_time");
    let limiter = if needs_alignment {
        RateLimiter::with_clock(options, aligned.clone())
    } else {
        RateLimiter::try_new(options)
    }
    .map_err(|e| e.to_string())?;

    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            Step::Advance { ms } => tokio::time::advance(Duration::from_millis(ms)).await,
            Step::SetTime { ms } => aligned.set(ms),
            Step::Reset => limiter.reset(),
            Step::Acquire(step) => {
                let start = tokio::time::Instant::now();
                let refused = limiter.acquire().await.err();
                step.check(start.elapsed(), refused.map(|n| n.retry_after()))?;
            }
            Step::Check(step) => {
                let expected = step.expected()?;
                let (n, repeat) = (step.n(), step.repeat());
                for i in 0..repeat {
                    let actual = if n == 1 {
                        match limiter.check() {
                            Ok(()) => ExpectedCheck::Allowed,
                            Err(not_until) => expected.refused(not_until.retry_after()),
                        }
                    } else {
                        expected.observed(limiter.check_n(n))
                    };
                    check(&format!("check {} of {repeat}", i + 1), &expected, &actual)?;
                }
            }
        }
        Ok(())
    })
    .await
}
