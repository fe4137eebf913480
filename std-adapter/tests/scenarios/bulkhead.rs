//! `bulkhead` scenarios through `Bulkhead::enter` (refusing at once: no
//! `max_wait`).

use std::collections::HashMap;
use std::time::Duration;

use seawall::{Bulkhead, BulkheadConfig, BulkheadPermit};
use seawall_tests::replay::bulkhead::{Config, Step};
use seawall_tests::replay::{check, for_each_step_async};
use seawall_tests::scenario::Scenario;

pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let bulkhead = Bulkhead::try_new(BulkheadConfig {
        max_concurrent: config.max_concurrent,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let mut places: HashMap<String, BulkheadPermit> = HashMap::new();
    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            Step::Advance { ms } => tokio::time::advance(Duration::from_millis(ms)).await,
            Step::SetTime { .. } => {} // the bulkhead reads no clock
            Step::Enter { guard, rejected } => match (guard, rejected) {
                (Some(name), None | Some(false)) => {
                    let place = bulkhead
                        .enter()
                        .await
                        .map_err(|full| format!("refused: {full}"))?;
                    if places.insert(name.clone(), place).is_some() {
                        return Err(format!("guard {name:?} is already held"));
                    }
                }
                (None, Some(true)) => {
                    if bulkhead.enter().await.is_ok() {
                        return Err("admitted, expected a refusal".into());
                    }
                }
                _ => return Err("enter takes a guard or \"rejected\": true".into()),
            },
            Step::Exit { guard } => drop(
                places
                    .remove(&guard)
                    .ok_or_else(|| format!("no guard {guard:?}"))?,
            ),
            Step::Expect(expected) => {
                if expected.is_empty() {
                    return Err("expect checks nothing".into());
                }
                expected.check(bulkhead.in_flight(), bulkhead.available())?;
                check("queued", &0, &bulkhead.queued())?;
            }
        }
        Ok(())
    })
    .await
}
