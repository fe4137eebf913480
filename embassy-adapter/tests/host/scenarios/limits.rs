//! `rate_limiter` and `bulkhead` scenarios, replayed through this adapter's
//! `RateLimiter` and `Bulkhead` on the mock clock.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use embassy_time::MockDriver;
use seawall_embassy::{Bulkhead, Error, RateLimiter};
use seawall_tests::replay::bulkhead::{Config as BulkheadConfig, Step as BulkheadStep};
use seawall_tests::replay::check;
use seawall_tests::replay::rate_limiter::{
    Config as LimiterConfig, ExpectedCheck, Step as LimiterStep,
};
use seawall_tests::scenario::Scenario;

use super::set_time;
use crate::support::{poll, ready, run_to_end};

/// Replays a `rate_limiter` scenario: a one-cell check is a
/// `RateLimiter::call`, a weighted one `check_n`.
pub(super) fn replay_rate_limiter(scenario: &Scenario) -> Result<(), String> {
    let config: LimiterConfig = scenario.config()?;
    let limiter = RateLimiter::new(config.quota()?);
    for index in 0..scenario.steps.len() {
        let step: LimiterStep = scenario.step(index)?;
        let at = |e: String| format!("step {index} ({}): {e}", scenario.steps[index]);
        let result: Result<(), String> = (|| {
            match step {
                LimiterStep::Advance { ms } => {
                    MockDriver::get().advance(embassy_time::Duration::from_millis(ms));
                }
                LimiterStep::SetTime { ms } => set_time(ms),
                LimiterStep::Reset => limiter.reset(),
                LimiterStep::Acquire(step) => {
                    let start = embassy_time::Instant::now();
                    let refused = run_to_end(limiter.acquire(config.max_wait()))?.err();
                    let waited = seawall_embassy::to_duration(embassy_time::Instant::now() - start);
                    step.check(waited, refused.map(|n| n.retry_after()))?;
                }
                LimiterStep::Check(step) => {
                    let expected = step.expected()?;
                    let repeat = step.repeat();
                    for i in 0..repeat {
                        let actual = match step.n() {
                            1 => {
                                let ran = Cell::new(false);
                                match ready(limiter.call(|| async {
                                    ran.set(true);
                                    Ok::<_, ()>(())
                                })) {
                                    Ok(()) if ran.get() => ExpectedCheck::Allowed,
                                    Err(Error::RateLimited(not_until)) if !ran.get() => {
                                        expected.refused(not_until.retry_after())
                                    }
                                    other => return Err(format!("the call: {other:?}")),
                                }
                            }
                            n => expected.observed(limiter.check_n(n)),
                        };
                        check(&format!("check {} of {repeat}", i + 1), &expected, &actual)?;
                    }
                }
            }
            Ok(())
        })();
        result.map_err(at)?;
    }
    Ok(())
}

type Call<'a> = Pin<Box<dyn Future<Output = Result<(), Error<()>>> + 'a>>;

/// Replays a `bulkhead` scenario: a guard is a `Bulkhead::call` in flight,
/// held open until its `exit`.
pub(super) fn replay_bulkhead(scenario: &Scenario) -> Result<(), String> {
    let config: BulkheadConfig = scenario.config()?;
    let bulkhead = Bulkhead::new(config.max_concurrent).map_err(|e| e.to_string())?;
    let mut held: HashMap<String, (Call<'_>, Rc<Cell<bool>>)> = HashMap::new();
    for index in 0..scenario.steps.len() {
        let step: BulkheadStep = scenario.step(index)?;
        let at = |e: String| format!("step {index} ({}): {e}", scenario.steps[index]);
        let result: Result<(), String> = (|| {
            match step {
                BulkheadStep::Advance { ms } => {
                    MockDriver::get().advance(embassy_time::Duration::from_millis(ms));
                }
                BulkheadStep::SetTime { ms } => set_time(ms),
                BulkheadStep::Enter {
                    guard: Some(name),
                    rejected: None | Some(false),
                } => {
                    let done = Rc::new(Cell::new(false));
                    let gate = done.clone();
                    let mut call: Call<'_> = Box::pin(bulkhead.call(move || {
                        poll_fn(move |_| {
                            if gate.get() {
                                Poll::Ready(Ok(()))
                            } else {
                                Poll::Pending
                            }
                        })
                    }));
                    if let Poll::Ready(result) = poll(call.as_mut()) {
                        return Err(format!("expected a call in flight, got {result:?}"));
                    }
                    if held.insert(name.clone(), (call, done)).is_some() {
                        return Err(format!("guard {name:?} is already held"));
                    }
                }
                BulkheadStep::Enter {
                    guard: None,
                    rejected: Some(true),
                } => match ready(bulkhead.call(|| async { Ok::<_, ()>(()) })) {
                    Err(Error::BulkheadFull(_)) => {}
                    other => return Err(format!("expected a rejection, got {other:?}")),
                },
                BulkheadStep::Enter { .. } => {
                    return Err("enter takes a guard, or \"rejected\": true".into());
                }
                BulkheadStep::Exit { guard } => {
                    let (mut call, done) = held
                        .remove(&guard)
                        .ok_or_else(|| format!("no guard {guard:?}"))?;
                    done.set(true);
                    check("the call", &Poll::Ready(Ok(())), &poll(call.as_mut()))?;
                }
                BulkheadStep::Expect(expected) => {
                    if expected.is_empty() {
                        return Err("expect checks nothing".into());
                    }
                    expected.check(bulkhead.in_flight(), bulkhead.available())?;
                }
            }
            Ok(())
        })();
        result.map_err(at)?;
    }
    Ok(())
}
