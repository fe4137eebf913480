//! `composition` scenarios, replayed by nesting this adapter's calls in the
//! scenario's order on the mock clock: a breaker around other policies
//! classifies with the core's `Composed` and flattens their errors, a retry
//! asks each error (`Retryable`), a timeout is `with_timeout`.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use seawall_embassy::core::bulkhead::BulkheadPermit;
use seawall_embassy::core::compose::Composed;
use seawall_embassy::{Bulkhead, CircuitBreaker, Error, RateLimiter, Retry, with_timeout};
use seawall_tests::replay::breaker::check_state;
use seawall_tests::replay::composition::{CallResult, Config, Expected, Layer, Step};
use seawall_tests::scenario::Scenario;

use crate::support::run_to_end;

/// The call's own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Failed;

type Attempt<'a> = Pin<Box<dyn Future<Output = Result<(), Error<Failed>>> + 'a>>;

struct Stack<'a> {
    layers: &'a [Layer],
    breaker: Option<&'a CircuitBreaker>,
    retry: Option<Retry>,
    limiter: Option<RateLimiter>,
    bulkhead: Option<Bulkhead>,
    timeout: Option<Duration>,
    result: Cell<CallResult>,
    attempts: Cell<u32>,
}

impl Stack<'_> {
    /// Layer `i` (the call itself past the last layer), as a future.
    fn run(&self, i: usize) -> Attempt<'_> {
        let Some(layer) = self.layers.get(i) else {
            self.attempts.set(self.attempts.get() + 1);
            let result = self.result.get();
            return Box::pin(async move {
                match result {
                    CallResult::Success => Ok(()),
                    CallResult::Failure => Err(Error::Inner(Failed)),
                    CallResult::Hang => std::future::pending().await,
                }
            });
        };
        match layer {
            Layer::CircuitBreaker => Box::pin(async move {
                let breaker = self.breaker.expect("validated");
                breaker
                    .call_with(None, Composed, || self.run(i + 1))
                    .await
                    .map_err(Error::flatten)
            }),
            Layer::Retry => Box::pin(async move {
                let retry = self.retry.as_ref().expect("validated");
                retry.execute(|| self.run(i + 1)).await
            }),
            Layer::RateLimiter => Box::pin(async move {
                let limiter = self.limiter.as_ref().expect("validated");
                limiter
                    .call(|| self.run(i + 1))
                    .await
                    .map_err(Error::flatten)
            }),
            Layer::Bulkhead => Box::pin(async move {
                let bulkhead = self.bulkhead.as_ref().expect("validated");
                bulkhead
                    .call(|| self.run(i + 1))
                    .await
                    .map_err(Error::flatten)
            }),
            Layer::Timeout => Box::pin(async move {
                let limit = self.timeout.expect("validated");
                match with_timeout(limit, || self.run(i + 1)).await {
                    Ok(result) => result,
                    Err(elapsed) => Err(Error::Timeout(elapsed)),
                }
            }),
        }
    }
}

/// Replays a `composition` scenario.
pub(super) fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    config.validate()?;
    let breaker = match &config.circuit_breaker {
        Some(options) => {
            let options: &'static _ = Box::leak(Box::new(options.build()?));
            Some(&*Box::leak(Box::new(CircuitBreaker::new(options))))
        }
        None => None,
    };
    let retry = match &config.retry {
        Some(options) => Some(Retry::new(options.policy()?, options.seed())),
        None => None,
    };
    let stack = Stack {
        layers: &config.layers,
        breaker,
        retry,
        limiter: config
            .rate_limiter
            .as_ref()
            .map(|options| options.quota().map(RateLimiter::new))
            .transpose()?,
        bulkhead: config
            .bulkhead
            .as_ref()
            .map(|options| Bulkhead::new(options.max_concurrent).map_err(|e| e.to_string()))
            .transpose()?,
        timeout: config.timeout.map(|t| t.limit()),
        result: Cell::new(CallResult::Success),
        attempts: Cell::new(0),
    };
    let breaker = || stack.breaker.ok_or("no circuit_breaker layer");
    let mut guards: HashMap<String, BulkheadPermit<'_>> = HashMap::new();

    for index in 0..scenario.steps.len() {
        let step: Step = scenario.step(index)?;
        let at = |e: String| format!("step {index} ({}): {e}", scenario.steps[index]);
        let result: Result<(), String> = (|| {
            match step {
                Step::Advance { ms } => crate::support::advance(Duration::from_millis(ms)),
                Step::Call(step) => {
                    stack.result.set(step.result);
                    let repeat = step.repeat();
                    for n in 1..=repeat {
                        stack.attempts.set(0);
                        let start = embassy_time::Instant::now();
                        let got = match run_to_end(stack.run(0))? {
                            Ok(()) => Expected::Ok,
                            Err(Error::Inner(Failed)) => Expected::Failure,
                            Err(error) => Expected::Stop(error.stop().expect("a stop")),
                        };
                        let elapsed =
                            seawall_embassy::to_duration(embassy_time::Instant::now() - start);
                        step.check(got, stack.attempts.get(), elapsed)
                            .map_err(|e| format!("call {n} of {repeat}: {e}"))?;
                    }
                }
                Step::Occupy { guard } => {
                    let bulkhead = stack.bulkhead.as_ref().ok_or("no bulkhead layer")?;
                    let place = bulkhead.try_enter().map_err(|e| e.to_string())?;
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
        })();
        result.map_err(at)?;
    }
    Ok(())
}
