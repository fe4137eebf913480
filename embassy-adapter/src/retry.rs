//! Retrying a call: the core's [`RetryPolicy`] decides, `embassy_time::Timer`
//! sleeps between attempts, and the core's seedable generator draws the jitter.

use core::future::Future;
use core::time::Duration;

use embassy_time::Timer;
use seawall_core::retry::{
    AdaptiveRate, Allowance, ErrorKind, Failure, GiveUp, RetryBudget, RetryDecision, RetryPolicy,
    RetryQuota, RetryState,
};
use seawall_core::rng::{Rng, SharedSplitMix64};

use crate::clock::{EmbassyClock, to_embassy_duration};

/// How a retry treats an error: worth another attempt or not, and no sooner
/// than when (the core's [`Failure`]).
///
/// [`Error`](crate::Error) implements it (its own errors, timeouts and
/// rejections are retried, an open breaker no sooner than it says). Implement
/// it for a firmware's own error type, or pass a function to
/// [`Retry::execute_with`].
pub trait Retryable {
    /// What is known about this failed attempt.
    fn failure(&self) -> Failure;
}

pub use seawall_core::retry::RetryError;

/// Receives a retry's decisions as they happen. Every method has an empty
/// default; `()` ignores everything.
pub trait RetryListener {
    /// Attempt `attempt` (1 for the first call) failed; the next one starts
    /// after `delay`.
    fn on_retry(&self, attempt: u32, delay: Duration) {
        let _ = (attempt, delay);
    }

    /// Attempt `attempt` failed and the policy gave up; its error is returned.
    fn on_give_up(&self, attempt: u32, reason: GiveUp) {
        let _ = (attempt, reason);
    }
}

/// The listener that ignores every event.
impl RetryListener for () {}

/// A retry policy with its jitter generator, an optional retry budget or quota,
/// an optional adaptive rate and a listener, meant to live in a `static`:
/// `const` constructors all the way.
///
/// The policy ([`RetryPolicy`]: attempts, backoff, jitter, deadline) is the
/// core's; the generator is the core's [`SharedSplitMix64`], so a seed fixes
/// every delay and tasks can share one `Retry`.
///
/// ```
/// use core::time::Duration;
/// use seawall_embassy::core::backoff::{Jitter, Strategy};
/// use seawall_embassy::core::retry::RetryPolicy;
/// use seawall_embassy::{Error, Retry};
///
/// static RETRY: Retry = Retry::new(
///     match RetryPolicy::builder()
///         .max_attempts(4)
///         .strategy(Strategy::Exponential {
///             initial_delay: Duration::from_millis(10),
///             multiplier: 2.0,
///             max_delay: Duration::from_millis(200),
///         })
///         .jitter(Jitter::Full)
///         .build()
///     {
///         Ok(policy) => policy,
///         Err(_) => panic!("invalid retry policy"),
///     },
///     0x5EA_3A11, // a fixed jitter seed: the same delays on every boot
/// );
///
/// async fn read_sensor() -> Result<u16, Error<()>> { Ok(42) }
///
/// async fn sample() -> Result<u16, Error<()>> {
///     RETRY.execute(|| read_sensor()).await
/// }
/// ```
#[derive(Debug)]
pub struct Retry<L = ()> {
    policy: RetryPolicy,
    rng: SharedSplitMix64,
    allowance: Allowance<'static>,
    rate: Option<&'static AdaptiveRate>,
    listener: L,
}

impl Retry<()> {
    /// A retry with `policy`, its jitter drawn from a generator seeded with `seed`.
    pub const fn new(policy: RetryPolicy, seed: u64) -> Self {
        Self {
            policy,
            rng: SharedSplitMix64::new(seed),
            allowance: Allowance::None,
            rate: None,
            listener: (),
        }
    }

    /// This retry, with a listener for its decisions.
    pub const fn with_listener<L: RetryListener>(self, listener: L) -> Retry<L> {
        Retry {
            policy: self.policy,
            rng: self.rng,
            allowance: self.allowance,
            rate: self.rate,
            listener,
        }
    }
}

impl<L: RetryListener> Retry<L> {
    /// This retry, drawing from `budget` (shared with other retries of the same
    /// dependency) so that retries cannot multiply the load during an outage.
    pub const fn with_budget(mut self, budget: &'static RetryBudget) -> Self {
        self.allowance = Allowance::Budget(budget);
        self
    }

    /// This retry, charging each retry to `quota` (shared with other retries
    /// of the same dependency) by the kind of its error; replaces a budget.
    pub const fn with_quota(mut self, quota: &'static RetryQuota) -> Self {
        self.allowance = Allowance::Quota(quota);
        self
    }

    /// This retry, with every attempt waiting for its turn under `rate` (shared
    /// with other retries of the same dependency), which slows down on
    /// throttling errors (`Failure::kind`).
    pub const fn with_adaptive_rate(mut self, rate: &'static AdaptiveRate) -> Self {
        self.rate = Some(rate);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The listener.
    pub fn listener(&self) -> &L {
        &self.listener
    }

    /// The jitter generator (`&SharedSplitMix64` is an [`Rng`]): its state is
    /// its random seed plus one step per draw so far.
    pub fn rng(&self) -> &SharedSplitMix64 {
        &self.rng
    }

    /// The retry budget, if any.
    pub fn budget(&self) -> Option<&'static RetryBudget> {
        match self.allowance {
            Allowance::Budget(budget) => Some(budget),
            _ => None,
        }
    }

    /// The retry quota, if any.
    pub fn quota(&self) -> Option<&'static RetryQuota> {
        match self.allowance {
            Allowance::Quota(quota) => Some(quota),
            _ => None,
        }
    }

    /// The adaptive rate, if any.
    pub fn adaptive_rate(&self) -> Option<&'static AdaptiveRate> {
        self.rate
    }

    /// Calls `f` until it succeeds or the policy gives up, sleeping the
    /// policy's delay between attempts; returns the first success or the last
    /// error. Each error says through [`Retryable`] whether it is worth
    /// retrying (the tokio adapter retries every error here; an embassy call's
    /// [`Error`](crate::Error) knows better: a breaker forced open is not).
    pub async fn execute<T, E, F, Fut>(&self, f: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Retryable,
    {
        self.execute_with(E::failure, f)
            .await
            .map_err(RetryError::into_inner)
    }

    /// Calls `f` until it succeeds or the policy gives up, asking `classify`
    /// about each error: whether it is worth retrying, and when to try again
    /// (`Failure::retryable().with_retry_after(d)`). The error says why the
    /// policy gave up.
    pub fn execute_with<T, E, F, Fut, C>(
        &self,
        classify: C,
        f: F,
    ) -> impl Future<Output = Result<T, RetryError<E>>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: FnMut(&E) -> Failure,
    {
        run(
            &self.policy,
            Shared {
                allowance: self.allowance,
                rate: self.rate,
            },
            &self.rng,
            classify,
            &self.listener,
            f,
        )
    }
}

/// Retries `f` with `policy`, drawing jitter from `rng`: a one-off retry
/// without a `static` (see [`Retry`] for the shared form).
pub async fn retry<T, E, F, Fut, R>(policy: &RetryPolicy, rng: R, f: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Retryable,
    R: Rng,
{
    run(
        policy,
        Shared {
            allowance: Allowance::None,
            rate: None,
        },
        rng,
        E::failure,
        &(),
        f,
    )
    .await
    .map_err(RetryError::into_inner)
}

/// What a retry shares with other calls: what bounds retries, and the pace.
struct Shared {
    allowance: Allowance<'static>,
    rate: Option<&'static AdaptiveRate>,
}

impl Shared {
    /// Waits until the adaptive rate, if any, lets an attempt go.
    async fn pace(&self, clock: &EmbassyClock) {
        if let Some(rate) = self.rate {
            while let Err(wait) = rate.try_acquire(clock) {
                Timer::after(to_embassy_duration(wait)).await;
            }
        }
    }

    /// Tells the adaptive rate how an attempt ended.
    fn observe(&self, clock: &EmbassyClock, failure: Option<&Failure>) {
        if let Some(rate) = self.rate {
            let throttled = failure.is_some_and(|f| f.kind == ErrorKind::Throttling);
            rate.on_response(clock, throttled);
        }
    }
}

async fn run<T, E, F, Fut, R, C, L>(
    policy: &RetryPolicy,
    shared: Shared,
    mut rng: R,
    mut classify: C,
    listener: &L,
    mut f: F,
) -> Result<T, RetryError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    R: Rng,
    C: FnMut(&E) -> Failure,
    L: RetryListener + ?Sized,
{
    let clock = EmbassyClock;
    let mut state: RetryState = policy.start(&clock);
    loop {
        shared.pace(&clock).await;
        let error = match f().await {
            Ok(value) => {
                shared.observe(&clock, None);
                policy.on_success(&state, shared.allowance);
                return Ok(value);
            }
            Err(error) => error,
        };
        let attempt = state.attempt();
        let failure = classify(&error);
        shared.observe(&clock, Some(&failure));
        match policy.on_failure(&mut state, failure, shared.allowance, &clock, &mut rng) {
            RetryDecision::Retry { delay } => {
                drop(error);
                listener.on_retry(attempt, delay);
                Timer::after(to_embassy_duration(delay)).await;
            }
            RetryDecision::GiveUp(reason) => {
                listener.on_give_up(attempt, reason);
                return Err(RetryError {
                    error,
                    attempts: attempt,
                    reason,
                });
            }
        }
    }
}
