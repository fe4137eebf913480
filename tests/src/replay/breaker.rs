//! Replays `circuit_breaker` scenarios against `seawall_core::breaker`.

use std::collections::HashMap;
use std::time::Duration;

use seawall_core::Stats;
use seawall_core::breaker::{
    AnyWindow, BreakerConfig, Bucket, CircuitBreaker, CountWindow, Outcome, Permit, RejectReason,
    Slot, State, TimeWindow, Transition, WindowTotals,
};
use seawall_core::time::{Instant, ManualClock};
use serde::Deserialize;

pub use super::check_opt;
use super::{check, for_each_step};
use crate::scenario::{Scenario, present};

/// The scenario's configuration keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    failure_threshold: Option<u32>,
    success_threshold: Option<u32>,
    half_open_max_calls: Option<u32>,
    open_duration_ms: Option<u64>,
    open_duration_multiplier: Option<f64>,
    max_open_duration_ms: Option<u64>,
    max_wait_in_half_open_ms: Option<u64>,
    failure_rate_threshold: Option<f64>,
    slow_call_rate_threshold: Option<f64>,
    slow_call_duration_ms: Option<u64>,
    minimum_calls: Option<u32>,
    window: Option<WindowSpec>,
}

/// The window a scenario asks for.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WindowSpec {
    /// The last `size` calls.
    Count {
        /// Calls in the window.
        size: usize,
    },
    /// The last `duration_ms`, in `buckets`.
    Time {
        /// The window's length.
        duration_ms: u64,
        /// Its number of buckets.
        buckets: usize,
    },
}

type Window = AnyWindow<Vec<Slot>, Vec<Bucket>>;

impl Config {
    /// The core configuration these keys describe.
    pub fn build(&self) -> Result<BreakerConfig, String> {
        let mut b = BreakerConfig::builder();
        if let Some(v) = self.failure_threshold {
            b = b.failure_threshold(v);
        }
        if let Some(v) = self.success_threshold {
            b = b.success_threshold(v);
        }
        if let Some(v) = self.half_open_max_calls {
            b = b.half_open_max_calls(v);
        }
        if let Some(v) = self.open_duration_ms {
            b = b.open_duration(Duration::from_millis(v));
        }
        if let Some(v) = self.open_duration_multiplier {
            b = b.open_duration_multiplier(v);
        }
        if let Some(v) = self.max_open_duration_ms {
            b = b.max_open_duration(Duration::from_millis(v));
        }
        if let Some(v) = self.max_wait_in_half_open_ms {
            b = b.max_wait_in_half_open(Duration::from_millis(v));
        }
        if let Some(v) = self.failure_rate_threshold {
            b = b.failure_rate_threshold(v);
        }
        if let Some(v) = self.slow_call_rate_threshold {
            b = b.slow_call_rate_threshold(v);
        }
        if let Some(v) = self.slow_call_duration_ms {
            b = b.slow_call_duration(Duration::from_millis(v));
        }
        if let Some(v) = self.minimum_calls {
            b = b.minimum_calls(v);
        }
        b.build().map_err(|e| e.to_string())
    }

    /// The window the scenario asks for, as written (`None`: the
    /// consecutive-failure rule), for adapters that build windows their own way.
    pub fn window_spec(&self) -> Option<&WindowSpec> {
        self.window.as_ref()
    }

    /// The window these keys describe.
    pub fn window(&self) -> Result<Window, String> {
        Ok(match self.window {
            None => AnyWindow::None,
            Some(WindowSpec::Count { size }) => {
                let slots = (0..size).map(|_| Slot::new()).collect::<Vec<_>>();
                AnyWindow::Count(CountWindow::with_storage(slots).map_err(|e| e.to_string())?)
            }
            Some(WindowSpec::Time {
                duration_ms,
                buckets,
            }) => {
                let storage = (0..buckets).map(|_| Bucket::new()).collect::<Vec<_>>();
                let window = TimeWindow::with_storage(storage, Duration::from_millis(duration_ms));
                AnyWindow::Time(window.map_err(|e| e.to_string())?)
            }
        })
    }
}

/// A step's `outcome`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeSpec {
    /// `success`
    Success,
    /// `failure`
    Failure,
}

impl OutcomeSpec {
    /// The result of a call that ends with this outcome. The scenarios'
    /// calls fail with no payload, hence the unit error.
    #[allow(clippy::result_unit_err)]
    pub fn result(self) -> Result<(), ()> {
        match self {
            OutcomeSpec::Success => Ok(()),
            OutcomeSpec::Failure => Err(()),
        }
    }
}

impl From<OutcomeSpec> for Outcome {
    fn from(spec: OutcomeSpec) -> Outcome {
        match spec {
            OutcomeSpec::Success => Outcome::Success,
            OutcomeSpec::Failure => Outcome::Failure,
        }
    }
}

/// An expectation that may be absent (not checked) or `null` (must be none).
pub type Expected<T> = Option<Option<T>>;

/// One step of a `circuit_breaker` scenario, parsed strictly (public so that
/// adapters replay the same steps through their own API; the README says what
/// each op means).
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub enum Step {
    Advance {
        ms: u64,
    },
    SetTime {
        ms: u64,
    },
    Acquire {
        permit: Option<String>,
        rejected: Option<String>,
        #[serde(default, deserialize_with = "present")]
        retry_after_ms: Expected<u64>,
        #[serde(default, deserialize_with = "present")]
        transition: Expected<String>,
        probe: Option<bool>,
    },
    Call {
        outcome: OutcomeSpec,
        latency_ms: Option<u64>,
        repeat: Option<u32>,
        #[serde(default, deserialize_with = "present")]
        transition: Expected<String>,
    },
    Record {
        permit: String,
        outcome: OutcomeSpec,
        latency_ms: Option<u64>,
        #[serde(default, deserialize_with = "present")]
        transition: Expected<String>,
    },
    Release {
        permit: String,
    },
    ForceOpen {
        #[serde(default, deserialize_with = "present")]
        transition: Expected<String>,
    },
    Disable {
        #[serde(default, deserialize_with = "present")]
        transition: Expected<String>,
    },
    Reset {
        #[serde(default, deserialize_with = "present")]
        transition: Expected<String>,
    },
    ExpectState {
        state: String,
    },
    ExpectStats(ExpectedStats),
    ExpectWindow(ExpectedWindow),
}

/// An `expect_stats` step: the counters it checks (absent: not checked).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct ExpectedStats {
    pub permitted: Option<u64>,
    pub successful: Option<u64>,
    pub failed: Option<u64>,
    pub slow: Option<u64>,
    pub rejected: Option<u64>,
    pub released: Option<u64>,
    pub state_transitions: Option<u64>,
}

impl ExpectedStats {
    /// Checks the breaker's counters.
    pub fn check(&self, stats: &Stats) -> Result<(), String> {
        check_opt("permitted", self.permitted, stats.permitted)?;
        check_opt("successful", self.successful, stats.successful)?;
        check_opt("failed", self.failed, stats.failed)?;
        check_opt("slow", self.slow, stats.slow)?;
        check_opt("rejected", self.rejected, stats.rejected)?;
        check_opt("released", self.released, stats.released)?;
        check_opt(
            "state_transitions",
            self.state_transitions,
            stats.state_transitions,
        )
    }
}

/// An `expect_window` step: the window's totals it checks (absent: not checked).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the fields are the README's, one to one
pub struct ExpectedWindow {
    pub calls: Option<u32>,
    pub failed: Option<u32>,
    pub slow: Option<u32>,
}

impl ExpectedWindow {
    /// Checks the outcomes in the breaker's window.
    pub fn check(&self, totals: &WindowTotals) -> Result<(), String> {
        check_opt("window calls", self.calls, totals.calls)?;
        check_opt("window failed", self.failed, totals.failed)?;
        check_opt("window slow", self.slow, totals.slow)
    }
}

/// Parses a state's name (`closed`, `half_open`, ...).
pub fn parse_state(name: &str) -> Result<State, String> {
    State::from_name(name).ok_or_else(|| format!("unknown state {name:?}"))
}

/// Checks an `expect_state` step.
pub fn check_state(expected: &str, actual: State) -> Result<(), String> {
    check("state", &parse_state(expected)?, &actual)
}

/// Parses `"closed->open"`.
pub fn parse_transition(text: &str) -> Result<Transition, String> {
    let (from, to) = text
        .split_once("->")
        .ok_or_else(|| format!("transition {text:?} is not \"from->to\""))?;
    Ok(Transition {
        from: parse_state(from.trim())?,
        to: parse_state(to.trim())?,
    })
}

/// Checks a step's `transition` expectation against what the step caused.
pub fn check_transition(
    expected: &Expected<String>,
    actual: Option<Transition>,
) -> Result<(), String> {
    match expected {
        None => Ok(()),
        Some(expected) => {
            let expected = expected.as_deref().map(parse_transition).transpose()?;
            check("transition", &expected, &actual)
        }
    }
}

/// Checks what call `i` (from 0) of a `call` step repeated `repeat` times
/// caused: nothing before the last, the step's `transition` at the last.
pub fn check_repetition(
    i: u32,
    repeat: u32,
    expected: &Expected<String>,
    caused: Option<Transition>,
) -> Result<(), String> {
    if i + 1 < repeat {
        check("transition before the last repetition", &None, &caused)
    } else {
        check_transition(expected, caused)
    }
}

/// Parses a rejection reason (`open`, `half_open_full`, `forced_open`).
pub fn reason(name: &str) -> Result<RejectReason, String> {
    [
        RejectReason::Open,
        RejectReason::HalfOpenFull,
        RejectReason::ForcedOpen,
    ]
    .into_iter()
    .find(|reason| reason.as_str() == name)
    .ok_or_else(|| format!("unknown rejection reason {name:?}"))
}

/// Checks a rejection against an `acquire` step's `rejected` (the reason) and
/// `retry_after_ms` (absent: not checked; `null`: no time promised).
pub fn check_rejection(
    expected: &str,
    retry_after_ms: Expected<u64>,
    rejection: &seawall_core::breaker::Rejection,
) -> Result<(), String> {
    check("reason", &reason(expected)?, &rejection.reason())?;
    match retry_after_ms {
        Some(expected) => check(
            "retry_after",
            &expected.map(Duration::from_millis),
            &rejection.retry_after(),
        ),
        None => Ok(()),
    }
}

/// Replays a `circuit_breaker` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let breaker_config = config.build()?;
    let breaker = CircuitBreaker::with_window(&breaker_config, config.window()?);
    let clock = ManualClock::starting_at(Instant::from_millis(scenario.start_ms));
    let mut permits: HashMap<String, Permit<'_, &BreakerConfig, Window>> = HashMap::new();

    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => clock.advance(Duration::from_millis(ms)),
            Step::SetTime { ms } => clock.set(Instant::from_millis(ms)),
            Step::Acquire {
                permit,
                rejected,
                retry_after_ms,
                transition,
                probe,
            } => match (permit, rejected) {
                (Some(name), None) => {
                    if retry_after_ms.is_some() {
                        return Err("retry_after_ms only goes with rejected".into());
                    }
                    let got = breaker
                        .try_acquire(&clock)
                        .map_err(|r| format!("rejected: {r}"))?;
                    check_transition(&transition, got.transition())?;
                    check_opt("probe", probe, got.is_probe())?;
                    if permits.insert(name.clone(), got).is_some() {
                        return Err(format!("permit {name:?} is already held"));
                    }
                }
                (None, Some(expected)) => {
                    if probe.is_some() {
                        return Err("probe only goes with permit".into());
                    }
                    let rejection = match breaker.try_acquire(&clock) {
                        Ok(_) => return Err("admitted, expected a rejection".into()),
                        Err(rejection) => rejection,
                    };
                    check_rejection(&expected, retry_after_ms, &rejection)?;
                    check_transition(&transition, rejection.transition())?;
                }
                _ => return Err("acquire takes exactly one of permit and rejected".into()),
            },
            Step::Call {
                outcome,
                latency_ms,
                repeat,
                transition,
            } => {
                let repeat = repeat.unwrap_or(1);
                for i in 0..repeat {
                    let permit = breaker
                        .try_acquire(&clock)
                        .map_err(|r| format!("call {} of {repeat} rejected: {r}", i + 1))?;
                    let latency = latency_ms.map(Duration::from_millis);
                    let caused = permit.record(outcome.into(), latency, &clock);
                    check_repetition(i, repeat, &transition, caused)?;
                }
            }
            Step::Record {
                permit,
                outcome,
                latency_ms,
                transition,
            } => {
                let held = permits
                    .remove(&permit)
                    .ok_or_else(|| format!("no permit {permit:?}"))?;
                let caused = held.record(
                    outcome.into(),
                    latency_ms.map(Duration::from_millis),
                    &clock,
                );
                check_transition(&transition, caused)?;
            }
            Step::Release { permit } => {
                permits
                    .remove(&permit)
                    .ok_or_else(|| format!("no permit {permit:?}"))?
                    .release();
            }
            Step::ForceOpen { transition } => check_transition(&transition, breaker.force_open())?,
            Step::Disable { transition } => check_transition(&transition, breaker.disable())?,
            Step::Reset { transition } => check_transition(&transition, breaker.reset())?,
            Step::ExpectState { state } => check_state(&state, breaker.state())?,
            Step::ExpectStats(expected) => expected.check(&breaker.stats())?,
            Step::ExpectWindow(expected) => expected.check(&breaker.window_totals(&clock))?,
        }
        Ok(())
    })
}
