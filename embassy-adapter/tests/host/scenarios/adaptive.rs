//! `adaptive_limiter`, `adaptive_rate` and `attempt_timeout` scenarios, through
//! this adapter's `AdaptiveLimiter` and the core's adaptive retry parts read on
//! `EmbassyClock`, on the mock clock.

use std::collections::HashMap;
use std::time::Duration;

use embassy_time::MockDriver;
use seawall_embassy::core::limit::LimitPermit;
use seawall_embassy::core::retry::AttemptTimeout;
use seawall_embassy::core::time::Clock;
use seawall_embassy::{AdaptiveLimiter, EmbassyClock};
use seawall_tests::replay::adaptive_limiter::{
    Config as LimiterConfig, Step as LimiterStep, expected_acquire, outcome,
};
use seawall_tests::replay::adaptive_rate::{
    Config as RateConfig, ExpectedRate, Step as RateStep, check_wait, expected_acquire as wait,
};
use seawall_tests::replay::attempt_timeout::{Config as TimeoutConfig, Step as TimeoutStep};
use seawall_tests::replay::for_each_step;
use seawall_tests::scenario::Scenario;

use super::set_time;

fn advance(ms: u64) {
    MockDriver::get().advance(embassy_time::Duration::from_millis(ms));
}

/// Replays an `adaptive_limiter` scenario through `AdaptiveLimiter`.
pub(super) fn replay_limiter(scenario: &Scenario) -> Result<(), String> {
    let config: LimiterConfig = scenario.config()?;
    let limiter = AdaptiveLimiter::new(config.limit_config()?);
    let mut permits: HashMap<String, LimitPermit<'_>> = HashMap::new();
    for_each_step(scenario, |step: LimiterStep| {
        match step {
            LimiterStep::Advance { ms } => advance(ms),
            LimiterStep::SetTime { ms } => set_time(ms),
            LimiterStep::Acquire { permit, rejected } => {
                match expected_acquire(permit, rejected)? {
                    Some(name) => {
                        let permit = limiter
                            .try_acquire()
                            .map_err(|e| format!("rejected: {e}"))?;
                        if permits.insert(name.clone(), permit).is_some() {
                            return Err(format!("permit {name:?} is already held"));
                        }
                    }
                    None => {
                        if limiter.try_acquire().is_ok() {
                            return Err("admitted, expected a rejection".into());
                        }
                    }
                }
            }
            LimiterStep::Record {
                permit,
                outcome: name,
            } => {
                let outcome = outcome(&name)?;
                permits
                    .remove(&permit)
                    .ok_or_else(|| format!("no permit {permit:?}"))?
                    .record(outcome, &EmbassyClock);
            }
            LimiterStep::Release { permit } => {
                let held = permits
                    .remove(&permit)
                    .ok_or_else(|| format!("no permit {permit:?}"))?;
                drop(held);
            }
            LimiterStep::Batch {
                calls,
                latency_ms,
                outcome: name,
            } => {
                let outcome = outcome(name.as_deref().unwrap_or("success"))?;
                let batch = (0..calls)
                    .map(|i| {
                        limiter
                            .try_acquire()
                            .map_err(|e| format!("call {i} of the batch rejected: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                advance(latency_ms);
                for permit in batch {
                    permit.record(outcome, &EmbassyClock);
                }
            }
            LimiterStep::Reset => limiter.reset(),
            LimiterStep::Expect(expected) => expected.check(&limiter.stats())?,
        }
        Ok(())
    })
}

/// Replays an `adaptive_rate` scenario on `EmbassyClock`.
pub(super) fn replay_rate(scenario: &Scenario) -> Result<(), String> {
    let config: RateConfig = scenario.config()?;
    let rate = config.rate(EmbassyClock.now())?;
    let check = |expected: &ExpectedRate| {
        let state = rate.state();
        expected.check(
            state.enabled,
            state.fill_rate,
            state.measured_rate,
            rate.throttled(),
        )
    };
    for_each_step(scenario, |step: RateStep| {
        match step {
            RateStep::Advance { ms } => advance(ms),
            RateStep::SetTime { ms } => set_time(ms),
            RateStep::Response {
                throttled,
                enabled,
                fill_rate,
                measured_rate,
            } => {
                rate.on_response(&EmbassyClock, throttled.unwrap_or(false));
                check(&ExpectedRate {
                    enabled,
                    fill_rate,
                    measured_rate,
                    throttled: None,
                })?;
            }
            RateStep::Acquire { allowed, wait_ms } => {
                check_wait(
                    wait(allowed, wait_ms)?,
                    rate.try_acquire(&EmbassyClock).err(),
                )?;
            }
            RateStep::Reset => rate.reset(),
            RateStep::Expect(expected) => {
                if expected.is_empty() {
                    return Err("expect checks nothing".into());
                }
                check(&expected)?;
            }
        }
        Ok(())
    })
}

/// Replays an `attempt_timeout` scenario on `EmbassyClock`.
pub(super) fn replay_timeout(scenario: &Scenario) -> Result<(), String> {
    let config: TimeoutConfig = scenario.config()?;
    let timeout = AttemptTimeout::<192>::new(config.timeout_config()).map_err(|e| e.to_string())?;
    for_each_step(scenario, |step: TimeoutStep| {
        match step {
            TimeoutStep::Advance { ms } => advance(ms),
            TimeoutStep::SetTime { ms } => set_time(ms),
            TimeoutStep::Record { latency_ms, repeat } => {
                for _ in 0..repeat.unwrap_or(1) {
                    timeout.record(&EmbassyClock, Duration::from_millis(latency_ms));
                }
            }
            TimeoutStep::Expect(expected) => expected.check(
                timeout.timeout(&EmbassyClock),
                timeout.samples(&EmbassyClock),
            )?,
        }
        Ok(())
    })
}
