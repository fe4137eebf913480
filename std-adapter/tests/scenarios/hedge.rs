//! `hedge` scenarios through `Hedge::call`, on paused tokio time: each call
//! runs in its own task, each attempt is a future that ends when a step says
//! so, and dropped attempts are counted as cancelled.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::Hedge;
use seawall::core::retry::Failure;
use seawall_tests::replay::hedge::{Config, Step, Then, check_budget, failure};
use seawall_tests::replay::{check, for_each_step_async};
use seawall_tests::scenario::Scenario;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How an attempt ends: `Ok(attempt)` or the failure it reports.
type Answer = Result<u32, Failure>;

/// One attempt: the sender that ends it, and whether its future was dropped
/// before it ended.
struct Attempt {
    end: Option<oneshot::Sender<Answer>>,
}

/// Counts an attempt future dropped before it answered.
struct DropCount {
    cancelled: Arc<AtomicU32>,
    done: bool,
}

impl DropCount {
    /// A method, so that the attempt's future captures the whole guard (a
    /// field assignment would capture a copy of the field alone).
    fn answered(&mut self) {
        self.done = true;
    }
}

impl Drop for DropCount {
    fn drop(&mut self) {
        if !self.done {
            self.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// One call in progress: its task, its attempts, and its cancelled attempts.
struct Call {
    task: JoinHandle<Answer>,
    attempts: Arc<Mutex<Vec<Attempt>>>,
    cancelled: Arc<AtomicU32>,
}

/// Lets the calls' tasks run until they wait again.
async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

fn start(hedge: &Hedge<fn(&Answer) -> Option<Failure>>) -> Call {
    let attempts: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let cancelled = Arc::new(AtomicU32::new(0));
    let hedge = hedge.clone();
    let (list, count) = (Arc::clone(&attempts), Arc::clone(&cancelled));
    let task = tokio::spawn(async move {
        hedge
            .call(|| {
                let (end, answer) = oneshot::channel();
                list.lock().unwrap().push(Attempt { end: Some(end) });
                let mut guard = DropCount {
                    cancelled: Arc::clone(&count),
                    done: false,
                };
                async move {
                    let result = answer.await.expect("the step ends the attempt");
                    guard.answered();
                    result
                }
            })
            .await
    });
    Call {
        task,
        attempts,
        cancelled,
    }
}

impl Call {
    fn sent(&self) -> u32 {
        self.attempts.lock().unwrap().len() as u32
    }

    fn end(&self, attempt: u32, answer: Answer) -> Result<(), String> {
        let mut attempts = self.attempts.lock().unwrap();
        let end = attempts
            .get_mut(attempt as usize - 1)
            .and_then(|a| a.end.take())
            .ok_or_else(|| format!("attempt {attempt} is not in flight"))?;
        end.send(answer)
            .map_err(|_| format!("attempt {attempt} was cancelled"))
    }
}

pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
    let (budget, quota) = config.allowance()?;
    let mut builder = Hedge::builder("scenario").config(config.hedge_config());
    if let Some(budget) = budget {
        builder = builder.budget(Arc::new(budget));
    }
    if let Some(quota) = quota {
        builder = builder.quota(Arc::new(quota));
    }
    // The attempts report their own failure; an `Ok` is the answer.
    let classify: fn(&Answer) -> Option<Failure> = |answer| answer.err();
    let hedge = builder
        .classifier(classify)
        .build()
        .map_err(|e| e.to_string())?;
    let mut calls: HashMap<String, Call> = HashMap::new();
    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            // Sleeping (not `advance`) lets paused time stop at every timer
            // on the way, so each hedge is sent at its due time.
            Step::Advance { ms } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                settle().await;
            }
            Step::Start { call } => {
                if calls.contains_key(&call) {
                    return Err(format!("call {call:?} is already in progress"));
                }
                calls.insert(call, start(&hedge));
                settle().await;
            }
            Step::ExpectSent { call, attempts } => {
                let call = calls.get(&call).ok_or("no such call")?;
                check("attempts sent", &attempts, &call.sent())?;
            }
            Step::Fail {
                call: name,
                attempt,
                retryable,
                kind,
                then,
            } => {
                let expected = Then::parse(&then)?;
                let failure = failure(retryable, kind.as_deref())?;
                let call = calls.get(&name).ok_or("no such call")?;
                let before = call.sent();
                call.end(attempt, Err(failure))?;
                settle().await;
                match expected {
                    Then::Send => check("attempts sent", &(before + 1), &call.sent())?,
                    Then::Continue => {
                        check("attempts sent", &before, &call.sent())?;
                        check("call ended", &false, &call.task.is_finished())?;
                    }
                    Then::GiveUp(_) => {
                        let call = calls.remove(&name).unwrap();
                        let result = call.task.await.map_err(|e| e.to_string())?;
                        check("result", &Err(failure), &result)?;
                    }
                }
            }
            Step::Succeed {
                call,
                attempt,
                cancelled,
            } => {
                let call = calls.remove(&call).ok_or("no such call")?;
                call.end(attempt, Ok(attempt))?;
                let result = call.task.await.map_err(|e| e.to_string())?;
                check("result", &Ok(attempt), &result)?;
                check(
                    "cancelled",
                    &cancelled,
                    &call.cancelled.load(Ordering::SeqCst),
                )?;
            }
            Step::Cancel { call, cancelled } => {
                let call = calls.remove(&call).ok_or("no such call")?;
                call.task.abort();
                let _ = call.task.await;
                check(
                    "cancelled",
                    &cancelled,
                    &call.cancelled.load(Ordering::SeqCst),
                )?;
            }
            Step::ExpectDelay { delay_us } => {
                check("delay_us", &delay_us, &(hedge.delay().as_micros() as u64))?
            }
            Step::ExpectStats(expected) => expected.check(&hedge.stats())?,
            Step::ExpectBudget {
                tokens,
                allows_retry,
            } => check_budget(hedge.budget().map(|b| &**b), tokens, allows_retry)?,
            Step::ExpectQuota { available } => {
                let quota = hedge.quota().ok_or("expect_quota: no quota")?;
                check("available", &available, &quota.available())?;
            }
        }
        Ok(())
    })
    .await
}
