//! `composition` scenarios, twice where the stack allows: as tower layers in the
//! scenario's order (any order), and through `Policy` when the order is the
//! `Policy`'s own (retry, breaker, rate limiter, bulkhead, timeout).
//!
//! The call at the bottom is a service (or closure) that counts its runs and
//! ends as the step says; every layer runs on paused tokio time, so a hang
//! lasts until the timeout around it and a retry's sleep until its delay.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::core::compose::Stop;
use seawall::core::rate_limit::NotUntil;
use seawall::timeout::TimeoutLayer;
use seawall::{
    BoxError, Bulkhead, BulkheadConfig, BulkheadLayer, BulkheadPermit, CircuitBreaker,
    CircuitBreakerConfig, CircuitBreakerLayer, Elapsed, Error, Policy, RateLimiter,
    RateLimiterConfig, RateLimiterLayer, Rejection, RetryLayer,
};
use seawall_tests::replay::composition::{CallResult, Config, Expected, Layer, Step};
use seawall_tests::replay::{check_opt, for_each_step_async};
use seawall_tests::scenario::Scenario;
use tower::util::BoxCloneService;
use tower::{Layer as _, ServiceExt, service_fn};

use crate::breaker::breaker_config;
use crate::retry::policy_of;

/// The order `Policy` nests its parts in, from the outside.
const POLICY_ORDER: [Layer; 5] = [
    Layer::Retry,
    Layer::CircuitBreaker,
    Layer::RateLimiter,
    Layer::Bulkhead,
    Layer::Timeout,
];

/// The policies of one replay, and the call at the bottom.
struct Parts {
    breaker: Option<CircuitBreaker>,
    limiter: Option<RateLimiter>,
    bulkhead: Option<Bulkhead>,
    timeout: Option<Duration>,
    retry: Option<seawall::RetryPolicy>,
    attempts: Arc<AtomicU32>,
    result: Arc<Mutex<CallResult>>,
}

impl Parts {
    fn new(config: &Config) -> Result<Self, String> {
        let breaker = match &config.circuit_breaker {
            Some(options) => Some(
                CircuitBreaker::try_new("composition", breaker_config(options)?)
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let limiter = match &config.rate_limiter {
            Some(options) => Some(
                RateLimiter::try_new(RateLimiterConfig {
                    rate: options.rate,
                    period: Duration::from_millis(options.period_ms.unwrap_or(1000)),
                    burst: options.burst,
                    max_wait: Duration::ZERO,
                })
                .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let bulkhead = match &config.bulkhead {
            Some(options) => Some(
                Bulkhead::try_new(BulkheadConfig {
                    max_concurrent: options.max_concurrent,
                    ..Default::default()
                })
                .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let retry = match &config.retry {
            Some(options) => Some(policy_of(options)?),
            None => None,
        };
        Ok(Self {
            breaker,
            limiter,
            bulkhead,
            timeout: config.timeout.map(|t| t.limit()),
            retry,
            attempts: Arc::new(AtomicU32::new(0)),
            result: Arc::new(Mutex::new(CallResult::Success)),
        })
    }

    /// The call at the bottom: counts its run and ends as the step says.
    fn call(&self) -> impl Future<Output = Result<(), std::io::Error>> + Send + 'static {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let result = *self.result.lock().unwrap();
        async move {
            match result {
                CallResult::Success => Ok(()),
                CallResult::Failure => Err(std::io::Error::other("the call failed")),
                CallResult::Hang => std::future::pending().await,
            }
        }
    }
}

type Svc = BoxCloneService<(), (), BoxError>;

/// The layers as tower services, outermost first.
fn tower_stack(parts: &Parts, layers: &[Layer]) -> Svc {
    let attempts = Arc::clone(&parts.attempts);
    let result = Arc::clone(&parts.result);
    let mut service: Svc = BoxCloneService::new(service_fn(move |()| {
        attempts.fetch_add(1, Ordering::SeqCst);
        let result = *result.lock().unwrap();
        async move {
            match result {
                CallResult::Success => Ok(()),
                CallResult::Failure => Err(BoxError::from(std::io::Error::other("failed"))),
                CallResult::Hang => std::future::pending().await,
            }
        }
    }));
    for layer in layers.iter().rev() {
        service = match layer {
            Layer::CircuitBreaker => BoxCloneService::new(
                CircuitBreakerLayer::new(parts.breaker.clone().expect("validated")).layer(service),
            ),
            Layer::Retry => BoxCloneService::new(
                RetryLayer::new(parts.retry.clone().expect("validated"))
                    .expect("validated")
                    .layer(service),
            ),
            Layer::RateLimiter => BoxCloneService::new(
                RateLimiterLayer::new(parts.limiter.clone().expect("validated")).layer(service),
            ),
            Layer::Bulkhead => BoxCloneService::new(
                BulkheadLayer::new(parts.bulkhead.clone().expect("validated")).layer(service),
            ),
            Layer::Timeout => BoxCloneService::new(
                TimeoutLayer::new(parts.timeout.expect("validated")).layer(service),
            ),
        };
    }
    service
}

/// What a tower stack's error is.
fn expected_of_box(error: &BoxError) -> Result<Expected, String> {
    if let Some(rejection) = error.downcast_ref::<Rejection>() {
        return Ok(Expected::Stop(Stop::rejected(rejection.reason())));
    }
    if error.is::<NotUntil>() {
        return Ok(Expected::Stop(Stop::RateLimited));
    }
    if error.is::<seawall::core::bulkhead::BulkheadFull>() {
        return Ok(Expected::Stop(Stop::BulkheadFull));
    }
    if error.is::<Elapsed>() {
        return Ok(Expected::Stop(Stop::Timeout));
    }
    if error.is::<std::io::Error>() {
        return Ok(Expected::Failure);
    }
    Err(format!("an unexpected error: {error}"))
}

/// Which way a replay runs the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Tower,
    Policy,
}

async fn replay_one(scenario: &Scenario, way: Way) -> Result<(), String> {
    let config: Config = scenario.config()?;
    config.validate()?;
    let parts = Parts::new(&config)?;
    let tower = tower_stack(&parts, &config.layers);
    let policy = if way == Way::Policy {
        let mut builder = Policy::builder();
        if let Some(limit) = parts.timeout {
            builder = builder.timeout(limit);
        }
        if let Some(retry) = parts.retry.clone() {
            builder = builder.retry(retry);
        }
        if let Some(limiter) = parts.limiter.clone() {
            builder = builder.rate_limiter(limiter);
        }
        if let Some(bulkhead) = parts.bulkhead.clone() {
            builder = builder.bulkhead(bulkhead);
        }
        let builder = match parts.breaker.clone() {
            Some(breaker) => builder.circuit_breaker(breaker),
            None => builder.circuit_breaker(
                CircuitBreaker::try_new("unused", CircuitBreakerConfig::default())
                    .map_err(|e| e.to_string())?,
            ),
        };
        Some(builder.build().map_err(|e| e.to_string())?)
    } else {
        None
    };
    let breaker = || parts.breaker.as_ref().ok_or("no circuit_breaker layer");
    let mut guards: HashMap<String, BulkheadPermit> = HashMap::new();

    for_each_step_async(scenario, async |step: Step| -> Result<(), String> {
        match step {
            Step::Advance { ms } => tokio::time::advance(Duration::from_millis(ms)).await,
            Step::Call(step) => {
                let repeat = step.repeat();
                *parts.result.lock().unwrap() = step.result;
                for n in 1..=repeat {
                    parts.attempts.store(0, Ordering::SeqCst);
                    let start = tokio::time::Instant::now();
                    let got = match &policy {
                        Some(policy) => match policy.execute(|| parts.call()).await {
                            Ok(()) => Expected::Ok,
                            Err(Error::Inner(_)) => Expected::Failure,
                            Err(error) => Expected::Stop(error.stop().expect("a policy's stop")),
                        },
                        None => match tower.clone().oneshot(()).await {
                            Ok(()) => Expected::Ok,
                            Err(error) => expected_of_box(&error)?,
                        },
                    };
                    let attempts = parts.attempts.load(Ordering::SeqCst);
                    step.check(got, attempts, start.elapsed())
                        .map_err(|e| format!("{way:?}: call {n} of {repeat}: {e}"))?;
                }
            }
            Step::Occupy { guard } => {
                let bulkhead = parts.bulkhead.as_ref().ok_or("no bulkhead layer")?;
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
            Step::ExpectState { state } => {
                seawall_tests::replay::breaker::check_state(&state, breaker()?.state())?
            }
            Step::ExpectStats(expected) => expected.check(&breaker()?.stats())?,
        }
        Ok(())
    })
    .await
    .map_err(|e| format!("{way:?}: {e}"))?;
    check_opt("bulkhead places left taken", Some(0), guards.len())
}

/// Replays a composition as tower layers, and through `Policy` when its order
/// is the `Policy`'s.
pub(crate) async fn replay(scenario: &Scenario) -> Result<(), String> {
    replay_one(scenario, Way::Tower).await?;
    let config: Config = scenario.config()?;
    let mut order = POLICY_ORDER.iter();
    let in_policy_order = config
        .layers
        .iter()
        .all(|layer| order.any(|candidate| candidate == layer));
    if in_policy_order {
        replay_one(scenario, Way::Policy).await?;
    }
    Ok(())
}
