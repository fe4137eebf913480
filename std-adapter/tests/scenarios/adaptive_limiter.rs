//! `adaptive_limiter` scenarios through `AdaptiveLimiter::try_acquire` and its
//! permits, on paused tokio time.

use std::collections::HashMap;
use std::time::Duration;

use seawall::{AdaptiveLimiter, LimiterPermit};
use seawall_tests::replay::adaptive_limiter::{Config, Step, expected_acquire, outcome};
use seawall_tests::replay::for_each_step_async;
use seawall_tests::scenario::Scenario;

pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let limiter = AdaptiveLimiter::new(config.limit_config()?);
    let mut permits: HashMap<String, LimiterPermit> = HashMap::new();
    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            Step::Advance { ms } => tokio::time::advance(Duration::from_millis(ms)).await,
            Step::SetTime { .. } => {
                return Err("set_time: tokio's clock cannot go backwards".into());
            }
            Step::Acquire { permit, rejected } => match expected_acquire(permit, rejected)? {
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
            },
            Step::Record {
                permit,
                outcome: name,
            } => {
                let outcome = outcome(&name)?;
                let permit = permits
                    .remove(&permit)
                    .ok_or_else(|| format!("no permit {permit:?}"))?;
                permit.record(outcome);
            }
            Step::Release { permit } => {
                permits
                    .remove(&permit)
                    .ok_or_else(|| format!("no permit {permit:?}"))?
                    .release();
            }
            Step::Batch {
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
                tokio::time::advance(Duration::from_millis(latency_ms)).await;
                for permit in batch {
                    permit.record(outcome);
                }
            }
            Step::Reset => limiter.reset(),
            Step::Expect(expected) => expected.check(&limiter.stats())?,
        }
        Ok(())
    })
    .await
}
