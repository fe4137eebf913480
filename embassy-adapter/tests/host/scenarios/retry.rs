//! `retry` scenarios, replayed through [`Retry::execute_with`]: each call is
//! one retry future whose attempts wait for the step that ends them, and the
//! delays are the mock time the adapter really sleeps.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use embassy_time::MockDriver;
use seawall_embassy::core::backoff::BackoffState;
use seawall_embassy::core::retry::Failure;
use seawall_embassy::{
    GiveUp, Retry, RetryBudget, RetryError, RetryListener, RetryQuota, to_embassy_duration,
};
use seawall_tests::replay::check;
use seawall_tests::replay::retry::{
    Config, ExpectedDecision, Step, error_kind, expected_decision, expected_delays,
};
use seawall_tests::scenario::Scenario;

use super::set_time;
use crate::support::poll;

/// The retry's decisions, as the listener hears them.
#[derive(Default)]
struct Decisions {
    last: Cell<Option<ExpectedDecision>>,
}

impl RetryListener for Decisions {
    fn on_retry(&self, _attempt: u32, delay: Duration) {
        self.last.set(Some(ExpectedDecision::Retry(nanos(delay))));
    }
    fn on_give_up(&self, _attempt: u32, reason: GiveUp) {
        self.last.set(Some(ExpectedDecision::GiveUp(reason)));
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

type Call<'a> = Pin<Box<dyn Future<Output = Result<(), RetryError<Failure>>> + 'a>>;

/// A call in progress: its future, the gate its current attempt waits on, the
/// attempts made, and the tick until which it sleeps between two of them.
struct InProgress<'a> {
    call: Call<'a>,
    gate: Rc<RefCell<Option<Result<(), Failure>>>>,
    attempts: Rc<Cell<u32>>,
    sleeping_until: Option<u64>,
}

impl InProgress<'_> {
    /// Lets the adapter's sleep end (the time it sleeps passes) so that the
    /// next attempt starts.
    fn wake(&mut self) -> Result<(), String> {
        if let Some(until) = self.sleeping_until.take() {
            let now = embassy_time::Instant::now().as_ticks();
            if until > now {
                MockDriver::get().advance(embassy_time::Duration::from_ticks(until - now));
            }
            let before = self.attempts.get();
            if poll(self.call.as_mut()).is_ready() || self.attempts.get() != before + 1 {
                return Err("the next attempt did not start after the delay".into());
            }
        }
        Ok(())
    }
}

/// Replays a `retry` scenario.
pub(super) fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let budget: Option<&'static RetryBudget> = config.budget()?.map(|b| &*Box::leak(Box::new(b)));
    let retry = Retry::new(config.policy()?, config.seed()).with_listener(Decisions::default());
    let quota: Option<&'static RetryQuota> = config.quota()?.map(|q| &*Box::leak(Box::new(q)));
    let retry = match (budget, quota) {
        (Some(budget), _) => retry.with_budget(budget),
        (None, Some(quota)) => retry.with_quota(quota),
        (None, None) => retry,
    };
    let mut call: Option<InProgress<'_>> = None;

    for index in 0..scenario.steps.len() {
        let step: Step = scenario.step(index)?;
        let at = |e: String| format!("step {index} ({}): {e}", scenario.steps[index]);
        let result: Result<(), String> = (|| {
            match step {
                Step::Advance { ms } => {
                    MockDriver::get().advance(embassy_time::Duration::from_millis(ms));
                }
                Step::SetTime { ms } => {
                    if call.is_some() {
                        return Err("set_time during a call is not replayable here".into());
                    }
                    set_time(ms);
                }
                Step::Start => {
                    let gate = Rc::new(RefCell::new(None));
                    let attempts = Rc::new(Cell::new(0));
                    let (attempt_gate, counter) = (gate.clone(), attempts.clone());
                    let mut future: Call<'_> = Box::pin(retry.execute_with(
                        |failure: &Failure| *failure,
                        move || {
                            counter.set(counter.get() + 1);
                            let gate = attempt_gate.clone();
                            poll_fn(move |_| match gate.borrow_mut().take() {
                                Some(result) => Poll::Ready(result),
                                None => Poll::Pending,
                            })
                        },
                    ));
                    if poll(future.as_mut()).is_ready() || attempts.get() != 1 {
                        return Err("the first attempt did not start".into());
                    }
                    call = Some(InProgress {
                        call: future,
                        gate,
                        attempts,
                        sleeping_until: None,
                    });
                }
                Step::Fail {
                    retryable,
                    retry_after_ms,
                    kind,
                    delay_ms,
                    delay_ns,
                    give_up,
                } => {
                    let expected = expected_decision(delay_ms, delay_ns, give_up.as_deref())?;
                    let in_progress = call.as_mut().ok_or("fail before start")?;
                    in_progress.wake()?;
                    let failure = Failure {
                        retryable: retryable.unwrap_or(true),
                        retry_after: retry_after_ms.map(Duration::from_millis),
                        kind: error_kind(kind.as_deref())?,
                    };
                    *in_progress.gate.borrow_mut() = Some(Err(failure));
                    retry.listener().last.set(None);
                    let polled = poll(in_progress.call.as_mut());
                    let decided = retry.listener().last.take().ok_or("no decision")?;
                    check("decision", &expected, &decided)?;
                    match (polled, decided) {
                        (Poll::Pending, ExpectedDecision::Retry(delay)) => {
                            let now = embassy_time::Instant::now().as_ticks();
                            let sleep = to_embassy_duration(Duration::from_nanos(delay));
                            in_progress.sleeping_until = Some(now + sleep.as_ticks());
                        }
                        (Poll::Ready(Err(error)), ExpectedDecision::GiveUp(reason)) => {
                            check("returned reason", &reason, &error.reason)?;
                            check("returned error", &failure, &error.error)?;
                            call = None;
                        }
                        (polled, decided) => {
                            return Err(format!("{decided:?} but the call is {polled:?}"));
                        }
                    }
                }
                Step::Succeed => {
                    let mut in_progress = call.take().ok_or("succeed before start")?;
                    in_progress.wake()?;
                    *in_progress.gate.borrow_mut() = Some(Ok(()));
                    check(
                        "the call",
                        &Poll::Ready(Ok(())),
                        &poll(in_progress.call.as_mut()),
                    )?;
                }
                Step::ExpectAttempt { attempt } => {
                    let in_progress = call.as_ref().ok_or("no call in progress")?;
                    // While it sleeps, the attempt in progress is the next one.
                    let next = u32::from(in_progress.sleeping_until.is_some());
                    check("attempt", &attempt, &(in_progress.attempts.get() + next))?;
                }
                Step::ExpectQuota { available } => {
                    let quota = quota.ok_or("the scenario has no quota")?;
                    check("available", &available, &quota.available())?;
                }
                Step::ExpectBudget(expected) => {
                    let budget = budget.ok_or("the scenario has no budget")?;
                    if expected.is_empty() {
                        return Err("expect_budget checks nothing".into());
                    }
                    expected.check(budget.tokens(), budget.allows_retry())?;
                }
                Step::ExpectDelays {
                    delays_ms,
                    delays_ns,
                } => {
                    // The backoff alone, drawing from the retry's own generator.
                    let expected = expected_delays(delays_ms, delays_ns)?;
                    let mut state = BackoffState::new();
                    let mut rng = retry.rng();
                    let actual: Vec<u64> = expected
                        .iter()
                        .map(|_| nanos(retry.policy().backoff().next_delay(&mut state, &mut rng)))
                        .collect();
                    check("delays (ns)", &expected, &actual)?;
                }
            }
            Ok(())
        })();
        result.map_err(at)?;
    }
    Ok(())
}
