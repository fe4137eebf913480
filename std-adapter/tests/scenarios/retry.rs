//! `retry` scenarios through `RetryPolicy::execute_with`.
//!
//! Each `start` spawns a call; each attempt it makes hands the replay a sender
//! through which a `fail` or `succeed` step ends it. The policy's decisions come
//! back through its `RetryListener`. Between attempts the call sleeps on tokio's
//! timer: an `advance` step moves paused time over it, and a `fail` that
//! follows a retry without one lets paused time auto-advance to the next attempt.

use std::sync::Arc;
use std::time::Duration;

use seawall::core::retry::GiveUp;
use seawall::{ErrorKind, Failure, JitterSeed, RetryError, RetryListener, RetryPolicy};
use seawall_tests::replay::retry::{
    Config, ExpectedDecision, Step, error_kind, expected_decision, expected_delays,
};
use seawall_tests::replay::{check, for_each_step_async};
use seawall_tests::scenario::Scenario;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How the replay ends an attempt.
#[derive(Debug)]
struct Failed {
    retryable: bool,
    retry_after: Option<Duration>,
    kind: ErrorKind,
}

type Ending = oneshot::Sender<Result<(), Failed>>;

#[derive(Debug)]
enum Event {
    Retry(Duration),
    GiveUp(GiveUp),
}

struct Listener(mpsc::UnboundedSender<Event>);

impl RetryListener for Listener {
    fn on_retry(&self, _: u32, delay: Duration) {
        let _ = self.0.send(Event::Retry(delay));
    }
    fn on_give_up(&self, _: u32, reason: GiveUp) {
        let _ = self.0.send(Event::GiveUp(reason));
    }
}

/// A call in progress.
struct Call {
    attempts: mpsc::UnboundedReceiver<Ending>,
    /// The attempt in progress, once it has started.
    current: Option<Ending>,
    attempt: u32,
    task: JoinHandle<Result<(), RetryError<Failed>>>,
}

impl Call {
    fn start(policy: &RetryPolicy) -> Self {
        let (sender, attempts) = mpsc::unbounded_channel();
        let policy = policy.clone();
        let task = tokio::spawn(async move {
            policy
                .execute_with(
                    |failed: &Failed| {
                        let failure = if failed.retryable {
                            Failure::retryable()
                        } else {
                            Failure::not_retryable()
                        };
                        let failure = failure.with_kind(failed.kind);
                        match failed.retry_after {
                            Some(after) => failure.with_retry_after(after),
                            None => failure,
                        }
                    },
                    || {
                        let (end, ended) = oneshot::channel();
                        sender.send(end).expect("the replay is listening");
                        async move { ended.await.expect("the replay ends every attempt") }
                    },
                )
                .await
        });
        Call {
            attempts,
            current: None,
            attempt: 1,
            task,
        }
    }

    /// The attempt in progress, waiting (on paused time) for it to start.
    async fn current(&mut self) -> Result<Ending, String> {
        match self.current.take() {
            Some(ending) => Ok(ending),
            None => self
                .attempts
                .recv()
                .await
                .ok_or_else(|| "the call has ended".to_string()),
        }
    }
}

pub(crate) fn policy_of(config: &Config) -> Result<RetryPolicy, String> {
    let core = config.policy()?;
    let policy = RetryPolicy {
        max_attempts: core.max_attempts(),
        strategy: core.backoff().strategy(),
        jitter: config.jitter()?,
        deadline: core.deadline(),
        budget: config.budget()?.map(Arc::new),
        quota: config.quota()?.map(Arc::new),
        seed: JitterSeed::new(config.seed()),
        ..RetryPolicy::default()
    };
    policy.validate().map_err(|e| e.to_string())?;
    Ok(policy)
}

pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let mut policy = policy_of(&config)?;
    let (events, mut decisions) = mpsc::unbounded_channel();
    policy.listener = Some(Arc::new(Listener(events)));
    let mut call: Option<Call> = None;

    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            Step::Advance { ms } => tokio::time::advance(Duration::from_millis(ms)).await,
            Step::SetTime { .. } => {
                return Err("set_time: tokio's clock cannot go backwards".into());
            }
            Step::Start => {
                if call.is_some() {
                    return Err("a call is already in progress".into());
                }
                let mut started = Call::start(&policy);
                // The call starts now: its deadline counts from here.
                let first = started.current().await?;
                started.current = Some(first);
                call = Some(started);
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
                let running = call.as_mut().ok_or("no call in progress")?;
                let ending = running.current().await?;
                let failed = Failed {
                    retryable: retryable.unwrap_or(true),
                    retry_after: retry_after_ms.map(Duration::from_millis),
                    kind: error_kind(kind.as_deref())?,
                };
                ending
                    .send(Err(failed))
                    .map_err(|_| "the attempt is gone")?;
                let actual = match decisions.recv().await.ok_or("no decision")? {
                    Event::Retry(delay) => ExpectedDecision::Retry(delay.as_nanos() as u64),
                    Event::GiveUp(reason) => ExpectedDecision::GiveUp(reason),
                };
                check("decision", &expected, &actual)?;
                match actual {
                    ExpectedDecision::Retry(_) => running.attempt += 1,
                    ExpectedDecision::GiveUp(reason) => {
                        let ended = call.take().expect("a call in progress");
                        let error = ended.task.await.map_err(|e| e.to_string())?;
                        match error {
                            Err(error) => check("reason", &reason, &error.reason)?,
                            Ok(()) => return Err("gave up, yet succeeded".into()),
                        }
                    }
                }
            }
            Step::Succeed => {
                let mut running = call.take().ok_or("no call in progress")?;
                let ending = running.current().await?;
                ending.send(Ok(())).map_err(|_| "the attempt is gone")?;
                let outcome = running.task.await.map_err(|e| e.to_string())?;
                outcome.map_err(|e| format!("failed: {e:?}"))?;
            }
            Step::ExpectAttempt { attempt } => {
                let running = call.as_ref().ok_or("no call in progress")?;
                check("attempt", &attempt, &running.attempt)?;
            }
            Step::ExpectQuota { available } => {
                let quota = policy.quota.as_ref().ok_or("no quota")?;
                check("available", &available, &quota.available())?;
            }
            Step::ExpectBudget(expected) => {
                let budget = policy.budget.as_ref().ok_or("no budget")?;
                if expected.is_empty() {
                    return Err("expect_budget checks nothing".into());
                }
                expected.check(budget.tokens(), budget.allows_retry())?;
            }
            Step::ExpectDelays {
                delays_ms,
                delays_ns,
            } => {
                let expected = expected_delays(delays_ms, delays_ns)?;
                let actual: Vec<u64> = policy
                    .preview_delays(expected.len())
                    .into_iter()
                    .map(|d| d.as_nanos() as u64)
                    .collect();
                check("delays (ns)", &expected, &actual)?;
            }
        }
        Ok(())
    })
    .await?;
    if let Some(running) = call {
        running.task.abort();
    }
    Ok(())
}
