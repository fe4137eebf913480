//! Replays `composition` scenarios: policies stacked in a given order, each
//! one's answer counted by the others as [`seawall_core::compose`] says.
//!
//! This replayer is the reference: it nests the core's policies by hand, on a
//! manual clock, with the table applied where one layer meets the next. A
//! call that hangs moves the clock to the deadline of the nearest timeout
//! around it; a retry's sleep that would pass that deadline is cut there.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use seawall_core::breaker::{BreakerConfig, CircuitBreaker, Outcome};
use seawall_core::bulkhead::{Bulkhead, BulkheadPermit};
use seawall_core::compose::Stop;
use seawall_core::rate_limit::RateLimiter;
use seawall_core::retry::{Failure, RetryBudget, RetryDecision, RetryPolicy};
use seawall_core::rng::SplitMix64;
use seawall_core::time::{Clock, Instant, ManualClock};
use serde::Deserialize;

use super::breaker::{self, ExpectedStats, check_state};
use super::{bulkhead, check, check_opt, for_each_step, rate_limiter, retry};
use crate::scenario::Scenario;

/// A policy in the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the README's names, one to one
pub enum Layer {
    CircuitBreaker,
    Retry,
    RateLimiter,
    Bulkhead,
    Timeout,
}

/// The `timeout` key.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutConfig {
    /// The time limit of each call through the layer.
    pub limit_ms: u64,
}

impl TimeoutConfig {
    /// The limit.
    pub fn limit(&self) -> Duration {
        Duration::from_millis(self.limit_ms)
    }
}

/// The scenario's configuration: the layers, outermost first, and the options
/// of each (the keys of that policy's own scenarios).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the README's keys, one to one
pub struct Config {
    pub layers: Vec<Layer>,
    pub circuit_breaker: Option<breaker::Config>,
    pub retry: Option<retry::Config>,
    pub rate_limiter: Option<rate_limiter::Config>,
    pub bulkhead: Option<bulkhead::Config>,
    pub timeout: Option<TimeoutConfig>,
}

impl Config {
    /// Checks that every layer appears once and has its options, and that no
    /// options are given for a layer that is not there.
    pub fn validate(&self) -> Result<(), String> {
        for (i, layer) in self.layers.iter().enumerate() {
            if self.layers[..i].contains(layer) {
                return Err(format!("layer {layer:?} appears twice"));
            }
        }
        let given = [
            (Layer::CircuitBreaker, self.circuit_breaker.is_some()),
            (Layer::Retry, self.retry.is_some()),
            (Layer::RateLimiter, self.rate_limiter.is_some()),
            (Layer::Bulkhead, self.bulkhead.is_some()),
            (Layer::Timeout, self.timeout.is_some()),
        ];
        for (layer, has_options) in given {
            if self.layers.contains(&layer) != has_options {
                return Err(format!(
                    "layer {layer:?} and its options must be given together"
                ));
            }
        }
        if self.layers.is_empty() {
            return Err("no layers".into());
        }
        if self
            .circuit_breaker
            .as_ref()
            .is_some_and(|breaker| breaker.window_spec().is_some())
        {
            return Err("a composition's breaker has no window".into());
        }
        if self
            .rate_limiter
            .as_ref()
            .is_some_and(|limiter| limiter.max_wait_ms.is_some())
        {
            return Err("a composition's rate limiter refuses at once: no max_wait_ms".into());
        }
        Ok(())
    }
}

/// How the call at the bottom of the stack ends each time it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallResult {
    /// It returns a value.
    Success,
    /// It returns its own error.
    Failure,
    /// It never finishes (a timeout in the stack must cut it).
    Hang,
}

/// What the caller of the stack gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The value.
    Ok,
    /// The call's own error.
    Failure,
    /// A policy stopped the call.
    Stop(Stop),
}

/// Parses a `call` step's `expect`: `ok`, `failure` or a stop's name.
pub fn parse_expected(text: &str) -> Result<Expected, String> {
    match text {
        "ok" => Ok(Expected::Ok),
        "failure" => Ok(Expected::Failure),
        other => Stop::from_name(other)
            .map(Expected::Stop)
            .ok_or_else(|| format!("unknown expect {other:?}")),
    }
}

/// A `call` step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // the README's fields, one to one
pub struct CallStep {
    pub result: CallResult,
    pub expect: String,
    pub attempts: Option<u32>,
    pub elapsed_ms: Option<u64>,
    pub repeat: Option<u32>,
}

impl CallStep {
    /// How many calls the step makes (default 1).
    pub fn repeat(&self) -> u32 {
        self.repeat.unwrap_or(1)
    }

    /// Checks one call of the step: what it returned, how many times the
    /// call at the bottom ran, and how long it all took.
    pub fn check(&self, got: Expected, attempts: u32, elapsed: Duration) -> Result<(), String> {
        check("result", &parse_expected(&self.expect)?, &got)?;
        check_opt("attempts", self.attempts, attempts)?;
        check_opt(
            "elapsed (ns)",
            self.elapsed_ms.map(|ms| u128::from(ms) * 1_000_000),
            elapsed.as_nanos(),
        )
    }
}

/// One step of a `composition` scenario, parsed strictly.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)] // the README's fields, one to one
pub enum Step {
    Advance { ms: u64 },
    Call(CallStep),
    Occupy { guard: String },
    Vacate { guard: String },
    ForceOpen,
    Disable,
    Reset,
    ExpectState { state: String },
    ExpectStats(ExpectedStats),
}

/// How a layer's call ended, as the layer around it sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Ok,
    Failure,
    /// Stopped by a policy, with the wait it announced.
    Stop(Stop, Option<Duration>),
    /// Cut by a timeout around this layer; that timeout answers.
    Cancelled,
}

type Window = seawall_core::breaker::NoWindow;

struct Stack<'a> {
    layers: &'a [Layer],
    clock: ManualClock,
    breaker: Option<CircuitBreaker<&'a BreakerConfig, Window>>,
    retry: Option<(RetryPolicy, Option<RetryBudget>)>,
    rng: RefCell<SplitMix64>,
    limiter: Option<RateLimiter>,
    bulkhead: Option<Bulkhead>,
    timeout: Option<Duration>,
    attempts: Cell<u32>,
}

impl Stack<'_> {
    /// Sleeps `delay` unless a deadline comes first (then stops there).
    fn sleep(&self, delay: Duration, deadline: Option<Instant>) -> bool {
        let now = self.clock.now();
        match deadline {
            Some(deadline) if now + delay > deadline => {
                self.clock.set(deadline.max(now));
                false
            }
            _ => {
                self.clock.advance(delay);
                true
            }
        }
    }

    /// Runs layer `i` (the call itself past the last layer).
    fn run(&self, i: usize, deadline: Option<Instant>, result: CallResult) -> Result<End, String> {
        let Some(layer) = self.layers.get(i) else {
            self.attempts.set(self.attempts.get() + 1);
            return match result {
                CallResult::Success => Ok(End::Ok),
                CallResult::Failure => Ok(End::Failure),
                CallResult::Hang => match deadline {
                    Some(deadline) => {
                        self.sleep(Duration::MAX, Some(deadline));
                        Ok(End::Cancelled)
                    }
                    None => Err("the call hangs with no timeout around it".into()),
                },
            };
        };
        let clock = &self.clock;
        match layer {
            Layer::CircuitBreaker => {
                let breaker = self.breaker.as_ref().expect("validated");
                let permit = match breaker.try_acquire(clock) {
                    Ok(permit) => permit,
                    Err(rejection) => {
                        let stop = Stop::rejected(rejection.reason());
                        return Ok(End::Stop(stop, rejection.retry_after()));
                    }
                };
                let end = self.run(i + 1, deadline, result)?;
                let outcome = match end {
                    End::Ok => Some(Outcome::Success),
                    // The default classifier: every error of the call is a failure.
                    End::Failure => Some(Outcome::Failure),
                    End::Stop(stop, _) => stop.breaker_outcome(),
                    End::Cancelled => None,
                };
                match outcome {
                    Some(outcome) => {
                        permit.record(outcome, None, clock);
                    }
                    None => permit.release(),
                }
                Ok(end)
            }
            Layer::Retry => {
                let (policy, budget) = self.retry.as_ref().expect("validated");
                let mut state = policy.start(clock);
                loop {
                    let end = self.run(i + 1, deadline, result)?;
                    let failure = match end {
                        End::Ok => {
                            if let Some(budget) = budget {
                                budget.record_success();
                            }
                            return Ok(end);
                        }
                        End::Cancelled => return Ok(end),
                        End::Failure => Failure::retryable(),
                        End::Stop(stop, retry_after) => stop.retry_failure(retry_after),
                    };
                    let mut rng = self.rng.borrow_mut();
                    match policy.on_failure(&mut state, failure, budget.as_ref(), clock, &mut *rng)
                    {
                        RetryDecision::Retry { delay } => {
                            if !self.sleep(delay, deadline) {
                                return Ok(End::Cancelled);
                            }
                        }
                        RetryDecision::GiveUp(_) => return Ok(end),
                    }
                }
            }
            Layer::RateLimiter => {
                let limiter = self.limiter.as_ref().expect("validated");
                match limiter.check(clock) {
                    Ok(()) => self.run(i + 1, deadline, result),
                    Err(not_until) => {
                        Ok(End::Stop(Stop::RateLimited, Some(not_until.retry_after())))
                    }
                }
            }
            Layer::Bulkhead => {
                let bulkhead = self.bulkhead.as_ref().expect("validated");
                match bulkhead.try_enter() {
                    Ok(_place) => self.run(i + 1, deadline, result),
                    Err(_) => Ok(End::Stop(Stop::BulkheadFull, None)),
                }
            }
            Layer::Timeout => {
                let limit = self.timeout.expect("validated");
                let mine = clock.now() + limit;
                let nearest = deadline.map_or(mine, |outer| outer.min(mine));
                match self.run(i + 1, Some(nearest), result)? {
                    End::Cancelled if clock.now() >= mine => Ok(End::Stop(Stop::Timeout, None)),
                    end => Ok(end),
                }
            }
        }
    }
}

/// Replays a `composition` scenario.
pub fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    config.validate()?;
    let breaker_config = config
        .circuit_breaker
        .as_ref()
        .map(breaker::Config::build)
        .transpose()?;
    let retry = match &config.retry {
        Some(retry) => Some((retry.policy()?, retry.budget()?)),
        None => None,
    };
    let stack = Stack {
        layers: &config.layers,
        clock: ManualClock::starting_at(Instant::from_millis(scenario.start_ms)),
        breaker: breaker_config.as_ref().map(CircuitBreaker::new),
        retry,
        rng: RefCell::new(SplitMix64::new(
            config.retry.as_ref().map_or(0, retry::Config::seed),
        )),
        limiter: config
            .rate_limiter
            .as_ref()
            .map(|limiter| limiter.quota().map(RateLimiter::new))
            .transpose()?,
        bulkhead: config
            .bulkhead
            .as_ref()
            .map(bulkhead::Config::bulkhead)
            .transpose()?,
        timeout: config.timeout.map(|timeout| timeout.limit()),
        attempts: Cell::new(0),
    };
    let mut guards: HashMap<String, BulkheadPermit<'_>> = HashMap::new();
    let breaker = || stack.breaker.as_ref().ok_or("no circuit_breaker layer");

    for_each_step(scenario, |step: Step| {
        match step {
            Step::Advance { ms } => stack.clock.advance(Duration::from_millis(ms)),
            Step::Call(step) => {
                let repeat = step.repeat();
                for n in 1..=repeat {
                    stack.attempts.set(0);
                    let start = stack.clock.now();
                    let got = match stack.run(0, None, step.result)? {
                        End::Ok => Expected::Ok,
                        End::Failure => Expected::Failure,
                        End::Stop(stop, _) => Expected::Stop(stop),
                        End::Cancelled => return Err("cancelled with no timeout".into()),
                    };
                    let elapsed = stack.clock.now() - start;
                    step.check(got, stack.attempts.get(), elapsed)
                        .map_err(|e| format!("call {n} of {repeat}: {e}"))?;
                }
            }
            Step::Occupy { guard } => {
                let bulkhead = stack.bulkhead.as_ref().ok_or("no bulkhead layer")?;
                let place = bulkhead.try_enter().map_err(|full| full.to_string())?;
                if guards.insert(guard.clone(), place).is_some() {
                    return Err(format!("guard {guard:?} is already held"));
                }
            }
            Step::Vacate { guard } => {
                let place = guards.remove(&guard);
                drop(place.ok_or_else(|| format!("no guard {guard:?}"))?);
            }
            Step::ForceOpen => {
                breaker()?.force_open();
            }
            Step::Disable => {
                breaker()?.disable();
            }
            Step::Reset => {
                breaker()?.reset();
            }
            Step::ExpectState { state } => check_state(&state, breaker()?.state())?,
            Step::ExpectStats(expected) => expected.check(&breaker()?.stats())?,
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use crate::replay::replay;
    use crate::scenario::Scenario;

    fn run(config: &str, steps: &str) -> Result<(), String> {
        let text = format!(
            r#"{{"description": "", "policy": "composition", "config": {config}, "steps": {steps}}}"#
        );
        replay(&serde_json::from_str::<Scenario>(&text).unwrap())
    }

    const BREAKER_OVER_LIMITER: &str = r#"{"layers": ["circuit_breaker", "rate_limiter"],
        "circuit_breaker": {"failure_threshold": 1}, "rate_limiter": {"rate": 1, "burst": 1}}"#;

    #[test]
    fn wrong_expectations_fail() {
        let error = run(
            BREAKER_OVER_LIMITER,
            r#"[{"op": "call", "result": "success", "expect": "rate_limited"}]"#,
        )
        .unwrap_err();
        assert!(error.contains("result: expected"), "{error}");
        let error = run(
            BREAKER_OVER_LIMITER,
            r#"[{"op": "call", "result": "success", "expect": "ok", "attempts": 2}]"#,
        )
        .unwrap_err();
        assert!(error.contains("attempts: expected"), "{error}");
        let error = run(
            BREAKER_OVER_LIMITER,
            r#"[{"op": "call", "result": "hang", "expect": "timeout"}]"#,
        )
        .unwrap_err();
        assert!(error.contains("no timeout around it"), "{error}");
    }

    #[test]
    fn typos_and_inconsistent_stacks_are_rejected() {
        for (config, steps, expected) in [
            (
                BREAKER_OVER_LIMITER,
                r#"[{"op": "call", "result": "success", "expect": "okay"}]"#,
                "unknown expect",
            ),
            (
                BREAKER_OVER_LIMITER,
                r#"[{"op": "call", "result": "sucess", "expect": "ok"}]"#,
                "unknown variant",
            ),
            (
                BREAKER_OVER_LIMITER,
                r#"[{"op": "occupy", "guard": "a"}]"#,
                "no bulkhead",
            ),
            (
                r#"{"layers": ["circuit_breaker"]}"#,
                "[]",
                "must be given together",
            ),
            (
                r#"{"layers": ["timeout", "timeout"], "timeout": {"limit_ms": 1}}"#,
                "[]",
                "appears twice",
            ),
            (
                r#"{"layers": ["timeout"], "timeout": {"limit": 1}}"#,
                "[]",
                "unknown field",
            ),
        ] {
            let error = run(config, steps).unwrap_err();
            assert!(error.contains(expected), "{config} {steps}: {error}");
        }
    }
}
