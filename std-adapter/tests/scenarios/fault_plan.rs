//! `fault_plan` scenarios through `FaultInjector::call_with`, on paused tokio
//! time: a delay is measured on the clock, an error is the `InjectedFault`, a
//! replaced outcome the value the replayer gave.

use std::time::Duration;

use seawall::core::fault::FaultKind;
use seawall::{FaultInjector, FaultPlan, InjectedFault};
use seawall_tests::replay::fault_plan::{Config, Expected, Step, check_counts, check_tally};
use seawall_tests::replay::{check, for_each_step_async};
use seawall_tests::scenario::Scenario;

/// What a call answers: it ran, or it was replaced.
#[derive(Debug, PartialEq)]
enum Ran {
    Yes,
    Replaced,
}

/// One call through the injector, in the scenario's words.
async fn call(chaos: &FaultInjector, key: Option<&str>) -> Result<Option<Expected>, String> {
    let started = tokio::time::Instant::now();
    let result: Result<Ran, InjectedFault> = chaos
        .call_with(key, |_| Ok(Ran::Replaced), || async { Ok(Ran::Yes) })
        .await;
    let replace = match result {
        Ok(Ran::Yes) => None,
        Ok(Ran::Replaced) => Some(FaultKind::Outcome),
        Err(fault) => {
            check("fault kind", &FaultKind::Error, &fault.kind())?;
            check("injector", &"scenario", &fault.injector())?;
            Some(FaultKind::Error)
        }
    };
    Ok(Expected::of(started.elapsed(), replace))
}

pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    let config = Config::parse(scenario)?;
    let plan = FaultPlan {
        seed: config.seed,
        rules: config.rules,
    };
    let chaos = FaultInjector::new("scenario", plan).map_err(|e| e.to_string())?;
    // Injected delays pass on the clock; time steps go to the scenario's
    // time from the start, so that those delays do not shift the windows.
    let origin = tokio::time::Instant::now();
    let mut now = scenario.start_ms;
    let go_to = async |ms: u64| -> Result<(), String> {
        let target = origin + Duration::from_millis(ms - scenario.start_ms);
        let forward = target
            .checked_duration_since(tokio::time::Instant::now())
            .ok_or("injected delays carried the clock past the scenario's time")?;
        tokio::time::advance(forward).await;
        Ok(())
    };
    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            Step::Advance { ms } => {
                now += ms;
                go_to(now).await?;
            }
            Step::SetTime { ms } => {
                if ms < now {
                    return Err("the injector reads tokio's clock, which cannot go back".into());
                }
                now = ms;
                go_to(now).await?;
            }
            Step::Enable => chaos.enable(),
            Step::Disable => chaos.disable(),
            Step::Reseed => chaos.reseed(),
            Step::Call {
                key,
                repeat,
                injected,
            } => {
                for _ in 0..repeat.unwrap_or(1) {
                    check("injected", &injected, &call(&chaos, key.as_deref()).await?)?;
                }
            }
            Step::Calls {
                n,
                key,
                errors,
                outcomes,
                delayed,
            } => {
                // Each call is decided at its start: with delays, later
                // calls start later (the scenarios keep them in one window).
                let mut results = Vec::new();
                for _ in 0..n {
                    results.push(call(&chaos, key.as_deref()).await?);
                }
                check_tally(&results, errors, outcomes, delayed)?;
            }
            Step::ExpectCounts {
                errors,
                latency,
                outcomes,
            } => check_counts(&chaos.counts(), errors, latency, outcomes)?,
        }
        Ok(())
    })
    .await
}
