//! `fault_plan` scenarios through `FaultInjector::call_with`, on the mock
//! clock: a delayed call is polled while the clock moves a millisecond at a
//! time (so its delay is measured to the millisecond), then the clock is set
//! back to the scenario's time.

use std::task::Poll;
use std::time::Duration;

use seawall_embassy::core::fault::{FaultKind, FaultRule};
use seawall_embassy::{FaultInjector, InjectedFault};
use seawall_tests::replay::fault_plan::{Config, Expected, Step, check_counts, check_tally};
use seawall_tests::replay::{check, for_each_step};
use seawall_tests::scenario::Scenario;

use super::set_time;
use crate::support::{advance, poll};

/// The longest injected delay a replay waits for.
const MAX_DELAY_MS: u64 = 60_000;

#[derive(Debug, PartialEq)]
enum Ran {
    Yes,
    Replaced,
}

/// One call at scenario time `now`, in the scenario's words.
fn call(
    chaos: &FaultInjector<'_>,
    key: Option<&str>,
    now: u64,
) -> Result<Option<Expected>, String> {
    let mut future = std::pin::pin!(chaos.call_with(
        key,
        |_| Ok(Ran::Replaced),
        || async { Ok::<_, InjectedFault>(Ran::Yes) }
    ));
    let mut waited = 0;
    let result = loop {
        if let Poll::Ready(result) = poll(future.as_mut()) {
            break result;
        }
        if waited == MAX_DELAY_MS {
            return Err("the call is still delayed after a minute".into());
        }
        advance(Duration::from_millis(1));
        waited += 1;
    };
    set_time(now);
    let replace = match result {
        Ok(Ran::Yes) => None,
        Ok(Ran::Replaced) => Some(FaultKind::Outcome),
        Err(fault) => {
            check("fault kind", &FaultKind::Error, &fault.kind())?;
            Some(FaultKind::Error)
        }
    };
    Ok(Expected::of(Duration::from_millis(waited), replace))
}

/// Replays a `fault_plan` scenario.
pub(super) fn replay(scenario: &Scenario) -> Result<(), String> {
    let config = Config::parse(scenario)?;
    let rules: Vec<FaultRule<&str>> = config.rules.iter().map(FaultRule::as_ref).collect();
    let chaos = FaultInjector::new(&rules, config.seed).map_err(|e| e.to_string())?;
    let mut now = scenario.start_ms;
    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => {
                now += ms;
                set_time(now);
            }
            Step::SetTime { ms } => {
                now = ms;
                set_time(now);
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
                    check("injected", &injected, &call(&chaos, key.as_deref(), now)?)?;
                }
            }
            Step::Calls {
                n,
                key,
                errors,
                outcomes,
                delayed,
            } => {
                let results = (0..n)
                    .map(|_| call(&chaos, key.as_deref(), now))
                    .collect::<Result<Vec<_>, _>>()?;
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
}
