//! Every `circuit_breaker` scenario file (`tests/scenarios/`) replayed against
//! the shared breaker on a real redis-server, with a test clock as the fleet's
//! clock: the shared breaker is the core's breaker with another storage, and
//! must reach the core's results step for step.
//!
//! One process plays the fleet, and syncs after every step (and every
//! repetition of a `call`), so that each outcome reaches Redis at the
//! scenario's time, as in the core. A `call` of known latency starts that
//! long before the scenario's time and ends at it, as in the adapters'
//! replayers.

mod redis_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::core::{Instant, ManualClock};
use seawall::redis::{SharedCircuitBreaker, SharedConfig, SharedPermit};
use seawall::{CircuitBreakerConfig, ErrorsAreFailures, SlidingWindow, Transition};
use seawall_tests::replay::breaker::{
    Config, OutcomeSpec, Step, WindowSpec, check_rejection, check_repetition, check_state,
    check_transition,
};
use seawall_tests::replay::{check_opt, for_each_step_async};
use seawall_tests::scenario::{self, Scenario};

use redis_support::{RedisServer, store};

/// Where the test clock's scenario time zero is: far enough from the clock's
/// zero that a call may start before it, and a multiple of every bucket.
const ORIGIN: Duration = Duration::from_secs(3_600 * 24);

struct Replay {
    breaker: SharedCircuitBreaker,
    clock: Arc<ManualClock>,
    events: Arc<Mutex<Vec<Transition>>>,
}

impl Replay {
    /// The single transition this process saw since the last look.
    fn caused(&self) -> Result<Option<Transition>, String> {
        let seen: Vec<Transition> = self.events.lock().unwrap().drain(..).collect();
        match seen.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            more => Err(format!("one step caused several transitions: {more:?}")),
        }
    }

    async fn sync(&self) -> Result<(), String> {
        self.breaker
            .sync()
            .await
            .map(drop)
            .map_err(|e| format!("sync: {e}"))
    }

    fn now(&self) -> Instant {
        seawall::core::Clock::now(&*self.clock)
    }

    /// A call that ends now with `outcome`, having lasted `latency`.
    async fn call(&self, outcome: OutcomeSpec, latency: Option<Duration>) -> Result<(), String> {
        let end = self.now();
        if let Some(latency) = latency {
            self.clock.set(end - latency);
        }
        let permit = self.breaker.try_acquire().await;
        self.clock.set(end);
        let permit = permit.map_err(|r| format!("rejected: {r}"))?;
        // What admission caused (Open to HalfOpen) is not the call's transition.
        self.events.lock().unwrap().clear();
        permit.record(outcome.into()).await;
        self.sync().await
    }
}

async fn replay(server: &RedisServer, name: &str, scenario: &Scenario) -> Result<(), String> {
    let config: Config = scenario.config()?;
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
    let clock = Arc::new(ManualClock::starting_at(
        Instant::ZERO + ORIGIN + Duration::from_millis(scenario.start_ms),
    ));
    let shared = SharedConfig {
        prefix: "scenario".into(),
        // Generous: the machine may be loaded; nothing here times out.
        timeout: Duration::from_secs(5),
        // The sync task reads at start, then never: the replay syncs.
        sync_interval: Duration::from_secs(3_600),
        probe_lease: Duration::from_secs(3_600),
        ..SharedConfig::default()
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    let breaker = store(&server.url(), shared)
        .breaker_builder(name)
        .config(options)
        .clock(clock.clone())
        .fleet_clock(clock.clone())
        .on_transition(move |_, transition| log.lock().unwrap().push(transition))
        .build()
        .map_err(|e| e.to_string())?;
    let replay = Replay {
        breaker,
        clock,
        events,
    };
    replay.sync().await?;
    let mut held: HashMap<String, SharedPermit<ErrorsAreFailures>> = HashMap::new();

    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        let breaker = &replay.breaker;
        match step {
            Step::Advance { ms } => replay.clock.advance(Duration::from_millis(ms)),
            Step::SetTime { ms } => replay
                .clock
                .set(Instant::ZERO + ORIGIN + Duration::from_millis(ms)),
            Step::Acquire {
                permit,
                rejected,
                retry_after_ms,
                transition,
                probe,
            } => match (permit, rejected) {
                (Some(name), None) => {
                    let permit = breaker
                        .try_acquire()
                        .await
                        .map_err(|r| format!("rejected: {r}"))?;
                    check_transition(&transition, replay.caused()?)?;
                    check_opt("probe", probe, permit.is_probe())?;
                    if held.insert(name.clone(), permit).is_some() {
                        return Err(format!("permit {name:?} is already held"));
                    }
                }
                (None, Some(expected)) => {
                    let rejection = match breaker.try_acquire().await {
                        Ok(_) => return Err("admitted, expected a rejection".into()),
                        Err(rejection) => rejection,
                    };
                    check_rejection(&expected, retry_after_ms, &rejection)?;
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
                    return Err("latency_ms on record: not replayable through a permit".into());
                }
                let held = held
                    .remove(&permit)
                    .ok_or_else(|| format!("no permit {permit:?}"))?;
                held.record(outcome.into()).await;
                replay.sync().await?;
                check_transition(&transition, replay.caused()?)?;
            }
            Step::Release { permit } => {
                // Dropping the permit releases it; the sync waits for that.
                drop(
                    held.remove(&permit)
                        .ok_or_else(|| format!("no permit {permit:?}"))?,
                );
            }
            Step::ForceOpen { transition } => {
                let done = breaker.force_open().await.map_err(|e| e.to_string())?;
                check_transition(&transition, done)?;
                replay.caused()?;
            }
            Step::Disable { transition } => {
                let done = breaker.disable().await.map_err(|e| e.to_string())?;
                check_transition(&transition, done)?;
                replay.caused()?;
            }
            Step::Reset { transition } => {
                let done = breaker.reset().await.map_err(|e| e.to_string())?;
                check_transition(&transition, done)?;
                replay.caused()?;
            }
            Step::ExpectState { state } => check_state(&state, breaker.state())?,
            Step::ExpectStats(expected) => expected.check(&breaker.stats())?,
            Step::ExpectWindow(expected) => expected.check(&breaker.window_totals())?,
        }
        // Every step ends with the fleet's state read at the scenario's time.
        replay.sync().await
    })
    .await
}

/// Replays every scenario of `policy` with `replay_one`, and fails with the
/// list of those that failed (or if fewer than `at_least` were found).
async fn replay_every<F, Fut>(policy: &str, at_least: usize, mut replay_one: F)
where
    F: FnMut(String, Scenario) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut count = 0;
    let mut failures = Vec::new();
    for (name, parsed) in scenario::all() {
        let outcome = match parsed {
            Ok(scenario) if scenario.policy != policy => continue,
            Ok(scenario) => replay_one(name.clone(), scenario).await,
            Err(error) => Err(error),
        };
        count += 1;
        if let Err(error) = outcome {
            failures.push(format!("{name}: {error}"));
        }
    }
    assert!(
        count >= at_least,
        "expected at least {at_least} scenarios, found {count}"
    );
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_breaker_scenario_replays_against_the_shared_breaker() {
    let server = RedisServer::start();
    replay_every("circuit_breaker", 24, |name, scenario| {
        let server = &server;
        async move { replay(server, &name, &scenario).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expectation_fails_the_shared_replay() {
    let server = RedisServer::start();
    let wrong = r#"{"description": "wrong", "policy": "circuit_breaker",
        "config": {"failure_threshold": 2},
        "steps": [{"op": "call", "outcome": "failure", "transition": "closed->open"}]}"#;
    let scenario: Scenario = serde_json::from_str(wrong).unwrap();
    let error = replay(&server, "wrong", &scenario).await.unwrap_err();
    assert!(error.contains("expected"), "{error}");
}

// --- the rate limiter ----------------------------------------------------------

/// A `rate_limiter` scenario against the shared limiter, on a test clock as
/// the fleet's clock. `acquire` is the core's wait for a turn, on that clock,
/// around the shared limiter's checks (its own `acquire` sleeps on tokio's).
async fn replay_rate_limiter(
    server: &RedisServer,
    name: &str,
    scenario: &Scenario,
) -> Result<(), String> {
    use seawall::core::wait::{Turn, Wait};
    use seawall_tests::replay::check;
    use seawall_tests::replay::rate_limiter::{Config as RateConfig, ExpectedCheck, Step};

    let config: RateConfig = scenario.config()?;
    let quota = config.quota()?;
    let clock = Arc::new(ManualClock::starting_at(
        Instant::ZERO + ORIGIN + Duration::from_millis(scenario.start_ms),
    ));
    let shared = SharedConfig {
        prefix: "scenario".into(),
        timeout: Duration::from_secs(5),
        ..SharedConfig::default()
    };
    let limiter = store(&server.url(), shared)
        .rate_limiter_builder(name)
        .config(seawall::RateLimiterConfig {
            rate: quota.rate(),
            period: quota.period(),
            burst: quota.burst(),
            max_wait: config.max_wait(),
        })
        .fleet_clock(clock.clone())
        .build()
        .map_err(|e| e.to_string())?;

    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            Step::Advance { ms } => clock.advance(Duration::from_millis(ms)),
            Step::SetTime { ms } => clock.set(Instant::ZERO + ORIGIN + Duration::from_millis(ms)),
            Step::Reset => limiter.reset().await.map_err(|e| e.to_string())?,
            Step::Acquire(step) => {
                let start = seawall::core::Clock::now(&*clock);
                let wait = Wait::start(config.max_wait(), &*clock);
                let refused = loop {
                    let not_until = match limiter.check().await {
                        Ok(()) => break None,
                        Err(not_until) => not_until,
                    };
                    match wait.next(Some(not_until.retry_after()), &*clock) {
                        Turn::Sleep(delay) => clock.advance(delay),
                        Turn::GiveUp => break Some(not_until.retry_after()),
                    }
                };
                step.check(seawall::core::Clock::now(&*clock) - start, refused)?;
            }
            Step::Check(step) => {
                let expected = step.expected()?;
                let (n, repeat) = (step.n(), step.repeat());
                for i in 0..repeat {
                    let actual = if n == 1 {
                        match limiter.check().await {
                            Ok(()) => ExpectedCheck::Allowed,
                            Err(not_until) => expected.refused(not_until.retry_after()),
                        }
                    } else {
                        expected.observed(limiter.check_n(n).await)
                    };
                    check(&format!("check {} of {repeat}", i + 1), &expected, &actual)?;
                }
            }
        }
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rate_limiter_scenario_replays_against_the_shared_limiter() {
    let server = RedisServer::start();
    replay_every("rate_limiter", 7, |name, scenario| {
        let server = &server;
        async move { replay_rate_limiter(server, &name, &scenario).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expectation_fails_the_shared_limiters_replay() {
    let server = RedisServer::start();
    let wrong = r#"{"description": "wrong", "policy": "rate_limiter",
        "config": {"rate": 10, "burst": 1},
        "steps": [{"op": "check", "allowed": true, "repeat": 2}]}"#;
    let scenario: Scenario = serde_json::from_str(wrong).unwrap();
    let error = replay_rate_limiter(&server, "wrong", &scenario)
        .await
        .unwrap_err();
    assert!(error.contains("expected"), "{error}");
}
