//! `attempt_timeout` scenarios through the `AttemptTimeout` that
//! `with_attempt_timeout` reads and feeds, on paused tokio time.

use std::time::Duration;

use seawall::AttemptTimeout;
use seawall::core::time::Clock;
use seawall_tests::replay::attempt_timeout::{Config, Step};
use seawall_tests::replay::for_each_step_async;
use seawall_tests::scenario::Scenario;

use crate::aligned::AlignedClock;

pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let timeout: AttemptTimeout =
        AttemptTimeout::new(config.timeout_config()).map_err(|e| e.to_string())?;
    let clock = AlignedClock::new(scenario.start_ms, None);
    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            Step::Advance { ms } => tokio::time::advance(Duration::from_millis(ms)).await,
            Step::SetTime { ms } => clock.set(ms),
            Step::Record { latency_ms, repeat } => {
                for _ in 0..repeat.unwrap_or(1) {
                    timeout.record(&clock, Duration::from_millis(latency_ms));
                }
            }
            Step::Expect(expected) => {
                let _ = clock.now();
                expected.check(timeout.timeout(&clock), timeout.samples(&clock))?
            }
        }
        Ok(())
    })
    .await
}
