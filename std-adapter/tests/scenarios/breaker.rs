//! `circuit_breaker` scenarios through `CircuitBreaker::call`.
//!
//! - `call` runs `cb.call(..)`; a call with `latency_ms` starts, tokio's time
//!   advances by the latency while it is in flight, then it ends (its latency is
//!   measured by the adapter, as in production).
//! - `acquire` with a permit starts a `cb.call(..)` future and polls it once: it
//!   is then in flight, holding its permit, until `record` finishes it or
//!   `release` drops it (a cancelled call).
//! - Transitions are observed through the breaker's `on_transition` listener.
//!
//! Scenarios whose results depend on the clock's absolute value (time-window
//! buckets, `set_time`, latencies measured "at" the scenario's instant) run with
//! an aligned clock: paused tokio time shifted so that it reads the scenario's
//! time. The others run on the adapter's own tokio clock.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use seawall::{CircuitBreaker, CircuitBreakerConfig, Error, SlidingWindow, State, Transition};
use seawall_tests::replay::breaker::{
    Config, OutcomeSpec, Step, WindowSpec, check_rejection, check_repetition, check_state,
    check_transition,
};
use seawall_tests::replay::{check_opt, for_each_step_async};
use seawall_tests::scenario::Scenario;
use tokio::sync::oneshot;

use crate::aligned::AlignedClock;

type Call<'a> = Pin<Box<dyn Future<Output = Result<(), Error<()>>> + 'a>>;

/// Polls `call` once: `Some(result)` if it finished.
async fn poll_once(call: &mut Call<'_>) -> Option<Result<(), Error<()>>> {
    poll_fn(|cx| match call.as_mut().poll(cx) {
        Poll::Ready(result) => Poll::Ready(Some(result)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

struct Replay<'a> {
    breaker: &'a CircuitBreaker,
    events: &'a Mutex<Vec<Transition>>,
    aligned: Option<&'a AlignedClock>,
}

impl Replay<'_> {
    /// The single transition caused since the last look (more is an error).
    fn caused(&self) -> Result<Option<Transition>, String> {
        let mut events = self.events.lock().unwrap();
        let seen: Vec<Transition> = events.drain(..).collect();
        match seen.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            more => Err(format!("one step caused several transitions: {more:?}")),
        }
    }

    async fn call(&self, outcome: OutcomeSpec, latency: Option<Duration>) -> Result<(), String> {
        let (tx, rx) = oneshot::channel::<Result<(), ()>>();
        if let (Some(latency), Some(clock)) = (latency, self.aligned) {
            // The call must end at the scenario's instant, having lasted `latency`.
            clock.shift_back(latency);
        }
        let mut call: Call<'_> = Box::pin(self.breaker.call(|| async move { rx.await.unwrap() }));
        if let Some(done) = poll_once(&mut call).await {
            return Err(format!("not admitted: {done:?}"));
        }
        // What admission caused (Open to HalfOpen) is not the call's transition:
        // the scenarios' `call` checks what its outcome caused.
        self.events.lock().unwrap().clear();
        if let Some(latency) = latency {
            tokio::time::advance(latency).await;
        }
        tx.send(outcome.result()).unwrap();
        match call.await {
            Ok(()) | Err(Error::Inner(())) => Ok(()),
            Err(other) => Err(format!("unexpected error {other:?}")),
        }
    }
}

/// The adapter's options for a scenario's breaker keys.
pub(crate) fn breaker_config(config: &Config) -> Result<CircuitBreakerConfig, String> {
    let mut options = CircuitBreakerConfig::from(config.build()?);
    options.window = config.window_spec().map(|spec| match *spec {
        WindowSpec::Count { size } => SlidingWindow::Count { size },
        WindowSpec::Time {
            duration_ms,
            buckets,
        } => SlidingWindow::Time {
            duration: Duration::from_millis(duration_ms),
            buckets,
        },
    });
    Ok(options)
}

pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let options = breaker_config(&config)?;
    let needs_alignment = matches!(options.window, Some(SlidingWindow::Time { .. }))
        || scenario.steps.iter().any(|step| {
            step["op"] == "set_time" || (step["op"] == "call" && step.get("latency_ms").is_some())
        });
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    let bucket = match options.window {
        Some(SlidingWindow::Time { duration, buckets }) => Some(duration / buckets as u32),
        _ => None,
    };
    let aligned = Arc::new(AlignedClock::new(scenario.start_ms, bucket));
    let mut builder = CircuitBreaker::builder("scenario")
        .config(options)
        .on_transition(move |_, transition| log.lock().unwrap().push(transition));
    if needs_alignment {
        builder = builder.clock(aligned.clone());
    }
    let breaker = builder.build().map_err(|e| e.to_string())?;
    let replay = Replay {
        breaker: &breaker,
        events: &events,
        aligned: needs_alignment.then_some(&*aligned),
    };
    let mut in_flight: HashMap<String, (Call<'_>, oneshot::Sender<Result<(), ()>>)> =
        HashMap::new();

    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            Step::Advance { ms } => tokio::time::advance(Duration::from_millis(ms)).await,
            Step::SetTime { ms } => match replay.aligned {
                Some(clock) => clock.set(ms),
                None => return Err("set_time needs the aligned clock".into()),
            },
            Step::Acquire {
                permit,
                rejected,
                retry_after_ms,
                transition,
                probe,
            } => match (permit, rejected) {
                (Some(name), None) => {
                    let (tx, rx) = oneshot::channel::<Result<(), ()>>();
                    let mut call: Call<'_> =
                        Box::pin(breaker.call(|| async move { rx.await.unwrap() }));
                    if let Some(done) = poll_once(&mut call).await {
                        return Err(format!("not admitted: {done:?}"));
                    }
                    check_transition(&transition, replay.caused()?)?;
                    // Through `call`, a permit is a probe exactly when the
                    // breaker is half-open once it is admitted.
                    check_opt("probe", probe, breaker.state() == State::HalfOpen)?;
                    if in_flight.insert(name.clone(), (call, tx)).is_some() {
                        return Err(format!("permit {name:?} is already held"));
                    }
                }
                (None, Some(expected)) => {
                    let error = match breaker.call(|| async { Ok::<(), ()>(()) }).await {
                        Err(Error::Rejected(rejection)) => rejection,
                        other => return Err(format!("expected a rejection, got {other:?}")),
                    };
                    check_rejection(&expected, retry_after_ms, &error)?;
                    check_transition(&transition, replay.caused()?)?;
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
                    replay
                        .call(outcome, latency_ms.map(Duration::from_millis))
                        .await
                        .map_err(|e| format!("call {} of {repeat}: {e}", i + 1))?;
                    check_repetition(i, repeat, &transition, replay.caused()?)?;
                }
            }
            Step::Record {
                permit,
                outcome,
                latency_ms,
                transition,
            } => {
                if latency_ms.is_some() {
                    return Err("latency_ms on record: not replayable through call".into());
                }
                let (call, tx) = in_flight
                    .remove(&permit)
                    .ok_or_else(|| format!("no permit {permit:?}"))?;
                tx.send(outcome.result()).unwrap();
                match call.await {
                    Ok(()) | Err(Error::Inner(())) => {}
                    Err(other) => return Err(format!("unexpected error {other:?}")),
                }
                check_transition(&transition, replay.caused()?)?;
            }
            Step::Release { permit } => {
                // Dropping the in-flight call future cancels the call.
                drop(
                    in_flight
                        .remove(&permit)
                        .ok_or_else(|| format!("no permit {permit:?}"))?,
                );
            }
            Step::ForceOpen { transition } => {
                check_transition(&transition, breaker.force_open())?;
                replay.caused()?;
            }
            Step::Disable { transition } => {
                check_transition(&transition, breaker.disable())?;
                replay.caused()?;
            }
            Step::Reset { transition } => {
                check_transition(&transition, breaker.reset())?;
                replay.caused()?;
            }
            Step::ExpectState { state } => check_state(&state, breaker.state())?,
            Step::ExpectStats(expected) => expected.check(&breaker.stats())?,
            Step::ExpectWindow(expected) => expected.check(&breaker.window_totals())?,
        }
        Ok(())
    })
    .await
}
