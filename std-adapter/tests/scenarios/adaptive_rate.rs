//! `adaptive_rate` scenarios through the `AdaptiveRate` a `RetryPolicy` paces
//! its attempts with, on tokio's (paused) clock.

use std::time::Duration;

use seawall_tests::replay::adaptive_rate::{
    Config, ExpectedRate, Step, check_wait, expected_acquire,
};
use seawall_tests::replay::for_each_step_async;
use seawall_tests::scenario::Scenario;

use seawall::TokioClock;
use seawall::core::time::Clock;

pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let clock = TokioClock;
    let rate: seawall::AdaptiveRate = config.rate(clock.now())?;
    let check = |expected: &ExpectedRate| {
        let state = rate.state();
        expected.check(
            state.enabled,
            state.fill_rate,
            state.measured_rate,
            rate.throttled(),
        )
    };
    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            Step::Advance { ms } => tokio::time::advance(Duration::from_millis(ms)).await,
            Step::SetTime { .. } => {
                return Err("set_time: tokio's clock cannot go backwards".into());
            }
            Step::Response {
                throttled,
                enabled,
                fill_rate,
                measured_rate,
            } => {
                rate.on_response(&clock, throttled.unwrap_or(false));
                check(&ExpectedRate {
                    enabled,
                    fill_rate,
                    measured_rate,
                    throttled: None,
                })?;
            }
            Step::Acquire { allowed, wait_ms } => {
                let expected = expected_acquire(allowed, wait_ms)?;
                check_wait(expected, rate.try_acquire(&clock).err())?;
            }
            Step::Reset => rate.reset(),
            Step::Expect(expected) => {
                if expected.is_empty() {
                    return Err("expect checks nothing".into());
                }
                check(&expected)?;
            }
        }
        Ok(())
    })
    .await
}
