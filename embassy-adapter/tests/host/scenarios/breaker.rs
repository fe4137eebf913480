//! `circuit_breaker` scenarios, replayed through this adapter:
//! every call is a `CircuitBreaker::call` future on the mock clock, a kept
//! permit is a call still in flight, and a released permit is a dropped call.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use embassy_time::{MockDriver, Timer};
use seawall_embassy::{BreakerConfig, CircuitBreaker, Error, Outcome, State, Transition};
use seawall_tests::replay::breaker::{Config, OutcomeSpec, Step, check_transition, reason};
use seawall_tests::replay::{check, check_opt};
use seawall_tests::scenario::Scenario;

use super::{ORIGIN, set_time};
use crate::support::{Recorder, poll};

type Call<'a> = Pin<Box<dyn Future<Output = Result<(), Error<()>>> + 'a>>;

/// A call kept in flight: its future, the outcome it will end with once
/// set, and the scenario time it started.
struct InFlight<'a> {
    call: Call<'a>,
    outcome: Rc<Cell<Option<Outcome>>>,
    started_ms: u64,
}

fn outcome(spec: OutcomeSpec) -> Outcome {
    match spec {
        OutcomeSpec::Success => Outcome::Success,
        OutcomeSpec::Failure => Outcome::Failure,
    }
}

fn result(outcome: Outcome) -> Result<(), ()> {
    match outcome {
        Outcome::Success => Ok(()),
        Outcome::Failure => Err(()),
    }
}

/// Pending on the first poll, ready on the second.
async fn yield_once() {
    let mut yielded = false;
    poll_fn(|_| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            Poll::Pending
        }
    })
    .await
}

/// The one transition a step caused, as the listener saw it.
fn caused<L: std::fmt::Debug>(
    seen: Vec<Transition>,
    returned: Option<Transition>,
    what: L,
) -> Result<Option<Transition>, String> {
    match seen.as_slice() {
        [] => Ok(None),
        [one] => {
            if returned.is_some_and(|r| r != *one) {
                return Err(format!(
                    "{what:?}: listener saw {one}, the call returned {returned:?}"
                ));
            }
            Ok(Some(*one))
        }
        more => Err(format!("{what:?}: more than one transition: {more:?}")),
    }
}

/// Replays a `circuit_breaker` scenario.
pub(super) fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let breaker_config: &'static BreakerConfig = Box::leak(Box::new(config.build()?));
    let breaker =
        CircuitBreaker::with_listener(breaker_config, config.window()?, Recorder::default());
    let mut now_ms = scenario.start_ms;
    set_time(now_ms);
    let mut in_flight: HashMap<String, InFlight<'_>> = HashMap::new();

    for index in 0..scenario.steps.len() {
        let step: Step = scenario.step(index)?;
        let at = |e: String| format!("step {index} ({}): {e}", scenario.steps[index]);
        let listener = breaker.listener();
        listener.take_transitions();
        let result: Result<(), String> = (|| {
            match step {
                Step::Advance { ms } => {
                    now_ms += ms;
                    MockDriver::get().advance(embassy_time::Duration::from_millis(ms));
                }
                Step::SetTime { ms } => {
                    // Calls in flight wait for their outcome, not for a timer,
                    // so moving the clock under them is safe.
                    now_ms = ms;
                    set_time(ms);
                }
                Step::Acquire { permit: Some(name), rejected: None, retry_after_ms: None, transition, probe } => {
                    let gate = Rc::new(Cell::new(None));
                    let opened = gate.clone();
                    let mut call: Call<'_> = Box::pin(breaker.call(move || {
                        poll_fn(move |_| match opened.get() {
                            Some(outcome) => Poll::Ready(result(outcome)),
                            None => Poll::Pending,
                        })
                    }));
                    if let Poll::Ready(done) = poll(call.as_mut()) {
                        return Err(format!("expected a call in flight, got {done:?}"));
                    }
                    check_transition(&transition, caused(listener.take_transitions(), None, "acquire")?)?;
                    // Alone on the breaker, a call admitted in HalfOpen is a probe.
                    check_opt("probe", probe, breaker.state() == State::HalfOpen)?;
                    let kept = InFlight { call, outcome: gate, started_ms: now_ms };
                    if in_flight.insert(name.clone(), kept).is_some() {
                        return Err(format!("permit {name:?} is already held"));
                    }
                }
                Step::Acquire { permit: None, rejected: Some(expected), retry_after_ms, transition, probe: None } => {
                    let ran = Cell::new(false);
                    let call = breaker.call(|| async {
                        ran.set(true);
                        Ok::<(), ()>(())
                    });
                    let rejection = match poll(std::pin::pin!(call)) {
                        Poll::Ready(Err(Error::Rejected(rejection))) => rejection,
                        other => return Err(format!("expected a rejection, got {other:?}")),
                    };
                    if ran.get() {
                        return Err("a rejected call ran".into());
                    }
                    check("reason", &reason(&expected)?, &rejection.reason())?;
                    if let Some(expected) = retry_after_ms {
                        check("retry_after", &expected.map(Duration::from_millis), &rejection.retry_after())?;
                    }
                    let seen = caused(listener.take_transitions(), rejection.transition(), "rejection")?;
                    check_transition(&transition, seen)?;
                    check("listener rejections", &Some(rejection), &listener.rejections.borrow().last().copied())?;
                }
                Step::Acquire { .. } => return Err("acquire takes exactly one of permit and rejected (probe with permit, retry_after_ms with rejected)".into()),
                Step::Call { outcome: spec, latency_ms, repeat, transition } => {
                    let repeat = repeat.unwrap_or(1);
                    for i in 0..repeat {
                        let latency = latency_ms.unwrap_or(0);
                        // A call of known latency is a call that took that long:
                        // it starts `latency` before now and sleeps until now.
                        let start = now_ms.checked_add(ORIGIN.as_millis() as u64).and_then(|t| t.checked_sub(latency)).ok_or("latency longer than the origin")?;
                        let driver = MockDriver::get();
                        driver.reset();
                        driver.advance(embassy_time::Duration::from_millis(start));
                        let mut call = Box::pin(breaker.call(|| async move {
                            // Pending at least once, so that acquiring and
                            // recording happen in separate polls.
                            if latency > 0 {
                                Timer::after_millis(latency).await;
                            } else {
                                yield_once().await;
                            }
                            result(outcome(spec))
                        }));
                        if poll(call.as_mut()).is_ready() {
                            return Err(format!("call {} of {repeat} was not admitted", i + 1));
                        }
                        // Acquiring may open a half-open round; the step's
                        // `transition` is the one its outcome causes.
                        let acquired = caused(listener.take_transitions(), None, "call")?;
                        if acquired.is_some_and(|t| t.to != State::HalfOpen) {
                            return Err(format!("admitting the call caused {acquired:?}"));
                        }
                        driver.advance(embassy_time::Duration::from_millis(latency));
                        match poll(call.as_mut()) {
                            Poll::Ready(Ok(())) | Poll::Ready(Err(Error::Inner(()))) => {}
                            other => return Err(format!("call {} of {repeat}: {other:?}", i + 1)),
                        }
                        let seen = caused(listener.take_transitions(), None, "call")?;
                        if i + 1 < repeat {
                            check("transition before the last repetition", &None, &seen)?;
                        } else {
                            check_transition(&transition, seen)?;
                        }
                    }
                }
                Step::Record { permit, outcome: spec, latency_ms, transition } => {
                    let mut kept = in_flight.remove(&permit).ok_or_else(|| format!("no permit {permit:?}"))?;
                    // The adapter measures latency itself: only the time the
                    // call has really been in flight can be replayed.
                    if let Some(latency) = latency_ms {
                        check("latency_ms (time in flight)", &latency, &now_ms.saturating_sub(kept.started_ms))?;
                    }
                    kept.outcome.set(Some(outcome(spec)));
                    match poll(kept.call.as_mut()) {
                        Poll::Ready(Ok(())) | Poll::Ready(Err(Error::Inner(()))) => {}
                        other => return Err(format!("the kept call ended with {other:?}")),
                    }
                    check_transition(&transition, caused(listener.take_transitions(), None, "record")?)?;
                }
                Step::Release { permit } => {
                    in_flight.remove(&permit).ok_or_else(|| format!("no permit {permit:?}"))?;
                }
                Step::ForceOpen { transition } => {
                    let returned = breaker.force_open();
                    check_transition(&transition, caused(listener.take_transitions(), returned, "force_open")?)?;
                }
                Step::Disable { transition } => {
                    let returned = breaker.disable();
                    check_transition(&transition, caused(listener.take_transitions(), returned, "disable")?)?;
                }
                Step::Reset { transition } => {
                    let returned = breaker.reset();
                    check_transition(&transition, caused(listener.take_transitions(), returned, "reset")?)?;
                }
                Step::ExpectState { state } => {
                    let expected = State::from_name(&state).ok_or_else(|| format!("unknown state {state:?}"))?;
                    check("state", &expected, &breaker.state())?;
                }
                Step::ExpectStats(expected) => expected.check(&breaker.stats())?,
                Step::ExpectWindow(expected) => expected.check(&breaker.window_totals())?,
            }
            Ok(())
        })();
        result.map_err(at)?;
        // A call that sleeps sets the clock back where the scenario is.
        check(
            "mock clock (ms)",
            &(ORIGIN.as_millis() as u64 + now_ms),
            &embassy_time::Instant::now().as_millis(),
        )
        .map_err(|e| format!("step {index}: {e}"))?;
    }
    Ok(())
}
