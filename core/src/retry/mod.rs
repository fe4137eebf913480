//! Retry decisions: after each failed attempt, retry after D, or give up and why.
//!
//! # How to drive it
//!
//! 1. Before the first call, [`RetryPolicy::start`] returns a [`RetryState`] (it
//!    reads the clock once when the policy has a deadline).
//! 2. After a failed attempt, [`RetryPolicy::on_failure`] answers a
//!    [`RetryDecision`]: [`Retry`](RetryDecision::Retry) after a delay, or
//!    [`GiveUp`](RetryDecision::GiveUp) with the reason. The adapter sleeps for
//!    the delay and calls again; the state counts the attempt.
//! 3. After a success, [`RetryPolicy::on_success`] pays the budget or the quota
//!    back, if there is one.
//!
//! Retries across calls can be bounded by an [`Allowance`]: a [`RetryBudget`]
//! (gRPC's retry throttling) or a [`RetryQuota`] (the AWS SDKs' standard mode,
//! with costs by [`ErrorKind`]). An [`AdaptiveRate`] (the AWS SDKs' adaptive
//! mode) can pace every attempt on top, and an [`AttemptTimeout`] bound each
//! attempt by the latency observed.
//!
//! # Rules, in the order they are checked
//!
//! 1. A failure that is not retryable gives up ([`GiveUp::NotRetryable`]) and
//!    touches nothing else.
//! 2. A retryable failure takes a token from the [`RetryBudget`], if any, whether
//!    or not it is retried, as in gRPC's retry throttling.
//! 3. `max_attempts` counts the first call: with 3, the third failure gives up
//!    ([`GiveUp::AttemptsExhausted`]).
//! 4. The delay is the backoff's next delay; a server hint (Retry-After) raises it
//!    up to the hint, but never beyond the backoff's maximum delay.
//! 5. With a `deadline` (a total time budget from [`start`](RetryPolicy::start)),
//!    a retry that would start after it gives up ([`GiveUp::DeadlineReached`]).
//! 6. A budget with half of its tokens or fewer left gives up
//!    ([`GiveUp::BudgetEmpty`]).
//! 7. A [`RetryQuota`] is charged the cost of the failure's [`ErrorKind`] last,
//!    only for a retry that will be made; a quota that cannot pay gives up
//!    ([`GiveUp::BudgetEmpty`]).
//!
//! The backoff draws from the generator at step 4 only, so a seed fixes the same
//! delays in every binding.

mod adaptive_rate;
mod attempt_timeout;
mod budget;
mod error;
mod quota;
mod throttle;

use core::fmt;
use core::time::Duration;

pub use adaptive_rate::{AdaptiveRate, AdaptiveRateConfig, RateState};
pub use attempt_timeout::{AttemptTimeout, AttemptTimeoutConfig};
pub use budget::RetryBudget;
pub use error::RetryError;
pub use quota::{ErrorKind, QuotaCosts, RetryQuota};
pub use throttle::{AdaptiveThrottle, ThrottleBucket, Throttled};

use crate::backoff::{Backoff, BackoffState, Jitter, Strategy};
use crate::error::ConfigError;
use crate::rng::Rng;
use crate::time::{Clock, Instant, duration_nanos};

/// When to retry a failed call, and when to give up.
///
/// A plain, `Copy` configuration built by [`RetryPolicy::builder`]; the per-call
/// state is a [`RetryState`] and the shared budget a [`RetryBudget`], both kept
/// by the caller.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::retry::{Failure, GiveUp, RetryDecision, RetryPolicy};
/// use seawall_core::backoff::Strategy;
/// use seawall_core::rng::SplitMix64;
/// use seawall_core::time::ManualClock;
///
/// let policy = RetryPolicy::builder()
///     .max_attempts(3)
///     .strategy(Strategy::Exponential {
///         initial_delay: Duration::from_millis(100),
///         multiplier: 2.0,
///         max_delay: Duration::from_secs(1),
///     })
///     .build()
///     .unwrap();
/// let clock = ManualClock::new();
/// let mut rng = SplitMix64::new(1);
/// let mut state = policy.start(&clock);
///
/// let failure = Failure::retryable();
/// assert_eq!(
///     policy.on_failure(&mut state, failure, None, &clock, &mut rng),
///     RetryDecision::Retry { delay: Duration::from_millis(100) }
/// );
/// // The server asks for 500 ms: honoured, as it is below the 1 s maximum.
/// let hinted = failure.with_retry_after(Duration::from_millis(500));
/// assert_eq!(
///     policy.on_failure(&mut state, hinted, None, &clock, &mut rng),
///     RetryDecision::Retry { delay: Duration::from_millis(500) }
/// );
/// assert_eq!(
///     policy.on_failure(&mut state, failure, None, &clock, &mut rng),
///     RetryDecision::GiveUp(GiveUp::AttemptsExhausted)
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "RetryPolicyBuilder", into = "RetryPolicyBuilder")
)]
pub struct RetryPolicy {
    max_attempts: u32,
    backoff: Backoff,
    /// Zero when there is no deadline.
    deadline_nanos: u64,
}

impl RetryPolicy {
    /// Three attempts, exponential backoff from 1 s doubling up to 30 s, no
    /// jitter, no deadline.
    pub const DEFAULT: RetryPolicy = match RetryPolicyBuilder::new().build() {
        Ok(policy) => policy,
        Err(_) => panic!("the default retry policy is valid"),
    };

    /// A builder with every option at its default.
    pub const fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder::new()
    }

    /// A builder holding this policy, to change some options.
    pub const fn to_builder(&self) -> RetryPolicyBuilder {
        RetryPolicyBuilder {
            max_attempts: self.max_attempts,
            strategy: self.backoff.strategy(),
            jitter: self.backoff.jitter(),
            deadline: self.deadline(),
        }
    }

    /// Attempts in all, the first call included.
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff between attempts.
    pub const fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The total time budget from the start of the first call, if any.
    pub const fn deadline(&self) -> Option<Duration> {
        if self.deadline_nanos == 0 {
            None
        } else {
            Some(Duration::from_nanos(self.deadline_nanos))
        }
    }

    /// The state of a call about to make its first attempt. Reads the clock
    /// only when the policy has a deadline.
    pub fn start<K: Clock + ?Sized>(&self, clock: &K) -> RetryState {
        RetryState {
            started: if self.deadline_nanos == 0 {
                Instant::ZERO
            } else {
                clock.now()
            },
            ..RetryState::new()
        }
    }

    /// Decides what follows a failed attempt (the rules are in the
    /// [module documentation](self)). `allowance` is what bounds retries across
    /// calls: `None`, `Some(&budget)`, `&quota` or an [`Allowance`]. On
    /// [`RetryDecision::Retry`], `state` counts the next attempt. Reads the clock
    /// only when the policy has a deadline.
    pub fn on_failure<'a, K: Clock + ?Sized, R: Rng + ?Sized>(
        &self,
        state: &mut RetryState,
        failure: Failure,
        allowance: impl Into<Allowance<'a>>,
        clock: &K,
        rng: &mut R,
    ) -> RetryDecision {
        if !failure.retryable {
            return RetryDecision::GiveUp(GiveUp::NotRetryable);
        }
        let allowance = allowance.into();
        let budget_allows = match allowance {
            Allowance::Budget(budget) => budget.record_failure(),
            Allowance::None | Allowance::Quota(_) => true,
        };
        if state.attempt >= self.max_attempts {
            return RetryDecision::GiveUp(GiveUp::AttemptsExhausted);
        }
        let mut delay = duration_nanos(self.backoff.next_delay(&mut state.backoff, rng));
        if let Some(hint) = failure.retry_after {
            let max = duration_nanos(self.backoff.max_delay());
            delay = delay.max(duration_nanos(hint).min(max));
        }
        if self.deadline_nanos != 0 {
            let elapsed = clock
                .now()
                .as_nanos()
                .saturating_sub(state.started.as_nanos());
            if elapsed.saturating_add(delay) > self.deadline_nanos {
                return RetryDecision::GiveUp(GiveUp::DeadlineReached);
            }
        }
        if !budget_allows {
            return RetryDecision::GiveUp(GiveUp::BudgetEmpty);
        }
        if let Allowance::Quota(quota) = allowance {
            match quota.try_acquire(failure.kind) {
                Some(cost) => state.cost = cost,
                None => return RetryDecision::GiveUp(GiveUp::BudgetEmpty),
            }
        }
        state.attempt += 1;
        RetryDecision::Retry {
            delay: Duration::from_nanos(delay),
        }
    }

    /// Records that the call of `state` succeeded: a budget gets its share of a
    /// token back, a quota what the last retry cost (or its success reward when
    /// the first attempt succeeded).
    pub fn on_success<'a>(&self, state: &RetryState, allowance: impl Into<Allowance<'a>>) {
        allowance.into().record_success(state);
    }
}

/// What bounds retries across the calls to one dependency: nothing, a
/// [`RetryBudget`] or a [`RetryQuota`].
///
/// [`RetryPolicy::on_failure`] and [`RetryPolicy::on_success`] take anything
/// that converts into one: `None`, an `Option<&RetryBudget>`, a `&RetryBudget`
/// or a `&RetryQuota`.
#[derive(Debug, Clone, Copy, Default)]
pub enum Allowance<'a> {
    /// Every retry the policy allows is made.
    #[default]
    None,
    /// A gRPC-style retry budget.
    Budget(&'a RetryBudget),
    /// An AWS-style retry quota.
    Quota(&'a RetryQuota),
}

impl Allowance<'_> {
    /// Pays back for the call of `state`, which succeeded (what
    /// [`RetryPolicy::on_success`] does; for a call that succeeded at its first
    /// attempt, `state` may be [`RetryState::new`]).
    #[inline]
    pub fn record_success(self, state: &RetryState) {
        match self {
            Allowance::None => {}
            Allowance::Budget(budget) => budget.record_success(),
            Allowance::Quota(quota) => quota.record_success(state.cost),
        }
    }
}

impl<'a> From<Option<&'a RetryBudget>> for Allowance<'a> {
    fn from(budget: Option<&'a RetryBudget>) -> Self {
        budget.map_or(Allowance::None, Allowance::Budget)
    }
}

impl<'a> From<&'a RetryBudget> for Allowance<'a> {
    fn from(budget: &'a RetryBudget) -> Self {
        Allowance::Budget(budget)
    }
}

impl<'a> From<&'a RetryQuota> for Allowance<'a> {
    fn from(quota: &'a RetryQuota) -> Self {
        Allowance::Quota(quota)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Builds a [`RetryPolicy`]; [`build`](Self::build) validates every option.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::retry::RetryPolicy;
///
/// let error = RetryPolicy::builder().max_attempts(0).build().unwrap_err();
/// assert_eq!(error.to_string(), "invalid max_attempts: must be at least 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct RetryPolicyBuilder {
    max_attempts: u32,
    strategy: Strategy,
    jitter: Jitter,
    deadline: Option<Duration>,
}

impl Default for RetryPolicyBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryPolicyBuilder {
    /// Every option at its default.
    pub const fn new() -> Self {
        Self {
            max_attempts: 3,
            strategy: Backoff::DEFAULT.strategy(),
            jitter: Jitter::None,
            deadline: None,
        }
    }

    /// Attempts in all, the first call included (at least 1; default 3; 1 never
    /// retries).
    pub const fn max_attempts(mut self, value: u32) -> Self {
        self.max_attempts = value;
        self
    }

    /// How the delays grow (default: exponential from 1 s, doubling, up to 30 s).
    pub const fn strategy(mut self, value: Strategy) -> Self {
        self.strategy = value;
        self
    }

    /// The jitter on each delay (default none).
    pub const fn jitter(mut self, value: Jitter) -> Self {
        self.jitter = value;
        self
    }

    /// The strategy and jitter of an already validated backoff.
    pub const fn backoff(mut self, value: Backoff) -> Self {
        self.strategy = value.strategy();
        self.jitter = value.jitter();
        self
    }

    /// The total time budget, from the start of the first call: no retry is
    /// scheduled to start after it (more than zero; default none).
    pub const fn deadline(mut self, value: Duration) -> Self {
        self.deadline = Some(value);
        self
    }

    /// Validates every option and builds the policy.
    pub const fn build(self) -> Result<RetryPolicy, ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::new("max_attempts", "must be at least 1"));
        }
        let backoff = match Backoff::new(self.strategy, self.jitter) {
            Ok(backoff) => backoff,
            Err(error) => return Err(error),
        };
        let deadline_nanos = match self.deadline {
            Some(deadline) => {
                let nanos = duration_nanos(deadline);
                if nanos == 0 {
                    return Err(ConfigError::new("deadline", "must be greater than zero"));
                }
                nanos
            }
            None => 0,
        };
        Ok(RetryPolicy {
            max_attempts: self.max_attempts,
            backoff,
            deadline_nanos,
        })
    }
}

impl TryFrom<RetryPolicyBuilder> for RetryPolicy {
    type Error = ConfigError;
    fn try_from(builder: RetryPolicyBuilder) -> Result<Self, ConfigError> {
        builder.build()
    }
}

impl From<RetryPolicy> for RetryPolicyBuilder {
    fn from(policy: RetryPolicy) -> Self {
        policy.to_builder()
    }
}

/// Where one logical call stands: its attempt number, its start, its backoff.
///
/// Small and `Copy`; one per call, kept by the caller between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RetryState {
    attempt: u32,
    started: Instant,
    backoff: BackoffState,
    /// What the last retry cost a quota (0: no retry charged yet).
    #[cfg_attr(feature = "serde", serde(default))]
    cost: u32,
}

impl Default for RetryState {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryState {
    /// A call at its first attempt, started at [`Instant::ZERO`]: what
    /// [`RetryPolicy::start`] gives without a deadline.
    pub const fn new() -> Self {
        Self {
            attempt: 1,
            started: Instant::ZERO,
            backoff: BackoffState::new(),
            cost: 0,
        }
    }

    /// The attempt in progress, 1 for the first call.
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// When the first attempt started ([`Instant::ZERO`] when the policy has no
    /// deadline: the clock was not read).
    pub const fn started(&self) -> Instant {
        self.started
    }

    /// The state of the backoff sequence: the delays taken so far.
    pub const fn backoff(&self) -> BackoffState {
        self.backoff
    }

    /// What the last retry cost a [`RetryQuota`] (0 before any), which a
    /// success pays back.
    pub const fn quota_cost(&self) -> u32 {
        self.cost
    }
}

/// What is known about a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Failure {
    /// Whether the error is worth retrying (the adapter's classifier decides).
    pub retryable: bool,
    /// The server's hint of when to try again (an HTTP `Retry-After`, a gRPC
    /// push-back), honoured up to the backoff's maximum delay.
    pub retry_after: Option<Duration>,
    /// What kind of error it was, which sets what a retry costs a
    /// [`RetryQuota`] (default [`ErrorKind::Transient`]).
    #[cfg_attr(feature = "serde", serde(default))]
    pub kind: ErrorKind,
}

impl Failure {
    /// A failure worth retrying, without a hint.
    pub const fn retryable() -> Self {
        Self {
            retryable: true,
            retry_after: None,
            kind: ErrorKind::Transient,
        }
    }

    /// A failure that retrying cannot fix.
    pub const fn not_retryable() -> Self {
        Self {
            retryable: false,
            retry_after: None,
            kind: ErrorKind::Transient,
        }
    }

    /// A retryable throttling error: the dependency asked to slow down.
    pub const fn throttling() -> Self {
        Self::retryable().with_kind(ErrorKind::Throttling)
    }

    /// A retryable timeout.
    pub const fn timeout() -> Self {
        Self::retryable().with_kind(ErrorKind::Timeout)
    }

    /// This failure, of `kind`.
    pub const fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// This failure with the server's hint `retry_after`.
    pub const fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryDecision {
    /// Wait `delay`, then make the next attempt.
    Retry {
        /// How long to wait first.
        delay: Duration,
    },
    /// Stop, and return the last error.
    GiveUp(GiveUp),
}

/// Why a policy gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum GiveUp {
    /// `max_attempts` attempts were made.
    AttemptsExhausted,
    /// The next attempt would start after the deadline.
    DeadlineReached,
    /// The retry budget has half of its tokens or fewer left, or the retry
    /// quota cannot pay for the retry.
    BudgetEmpty,
    /// The failure is not worth retrying.
    NotRetryable,
}

impl GiveUp {
    /// `attempts_exhausted`, `deadline_reached`, `budget_empty` or `not_retryable`.
    pub const fn as_str(self) -> &'static str {
        match self {
            GiveUp::AttemptsExhausted => "attempts_exhausted",
            GiveUp::DeadlineReached => "deadline_reached",
            GiveUp::BudgetEmpty => "budget_empty",
            GiveUp::NotRetryable => "not_retryable",
        }
    }

    /// The reason named `name` (as in [`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<GiveUp> {
        [
            GiveUp::AttemptsExhausted,
            GiveUp::DeadlineReached,
            GiveUp::BudgetEmpty,
            GiveUp::NotRetryable,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == name)
    }
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GiveUp::AttemptsExhausted => "retry attempts exhausted",
            GiveUp::DeadlineReached => "retry deadline reached",
            GiveUp::BudgetEmpty => "retry budget empty",
            GiveUp::NotRetryable => "error is not retryable",
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
