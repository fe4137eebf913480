//! Fault injection: a plan of faults (errors, latency, replaced outcomes) fired
//! on a share of the calls, in time windows, by key, decided with a seeded
//! generator so that a chaos run replays exactly.
//!
//! Resilience is known only once it is tested. A fault plan is data: a list of
//! [`FaultRule`]s, each a [`Fault`] (an error, a delay, a replaced outcome), a
//! rate, a [`Window`] and an optional key. A [`FaultInjector`] switches the
//! plan on and off at run time (off by default; off costs one relaxed atomic
//! load per call), draws from its own seeded generator, and counts what it
//! injected. The adapters carry the faults out: they sleep the delay, build the
//! error or the replaced outcome, and never run the call a fault replaced.
//!
//! # How rules combine ([`decide`])
//!
//! For one call, the rules are read in order. A rule applies when its key is
//! absent or equals the call's key, and its window is open; each rule that
//! applies draws exactly one word from the generator and fires when
//! [`rng::unit`](crate::rng::unit) of that word is below its rate. The delays of
//! the latency rules that fire add up; the first error or outcome rule that
//! fires replaces the call (the call is delayed first, then fails). The
//! generator is drawn from in this order and only for rules that apply, so a
//! plan, a seed and a sequence of calls give the same faults in every binding.
//!
//! # The file form
//!
//! With the `serde` feature, a rule reads and writes flat, times in whole
//! milliseconds: `{"kind": "latency", "delay_ms": 200, "rate": 1.0}`,
//! `{"kind": "error", "rate": 0.3, "key": "tenant-7", "after_ms": 10000,
//! "until_ms": 70000}`, `{"kind": "outcome", "rate": 0.05, "until_ms": 30000,
//! "every_ms": 300000}`. Unknown fields are refused.

mod rule;

use core::time::Duration;

pub use rule::{Fault, FaultKind, FaultRule, Window};

use crate::error::ConfigError;
use crate::rng::{Rng, SharedSplitMix64, unit};
use crate::sync::{AtomicU64, Ordering};
use crate::time::{Clock, duration_nanos};

/// The most rules a plan can hold (each is a bit of [`Injection::rules`]).
pub const MAX_RULES: usize = 64;

/// Checks every rule of a plan, and that there are at most [`MAX_RULES`].
pub fn validate<K>(rules: &[FaultRule<K>]) -> Result<(), ConfigError> {
    if rules.len() > MAX_RULES {
        return Err(ConfigError::new("rules", "must be at most 64"));
    }
    rules.iter().try_for_each(FaultRule::validate)
}

/// What a plan does to one call: nothing, or a delay and perhaps a
/// replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Injection {
    delay: Duration,
    replace: Option<FaultKind>,
    rules: u64,
}

impl Injection {
    /// No fault.
    pub const NONE: Injection = Injection {
        delay: Duration::ZERO,
        replace: None,
        rules: 0,
    };

    /// Whether the call is left alone.
    pub const fn is_none(&self) -> bool {
        self.rules == 0
    }

    /// How long to delay the call first (zero: no delay).
    pub const fn delay(&self) -> Duration {
        self.delay
    }

    /// What replaces the call, if anything: [`FaultKind::Error`] or
    /// [`FaultKind::Outcome`].
    pub const fn replace(&self) -> Option<FaultKind> {
        self.replace
    }

    /// The rules that fired, one bit each (bit 0: the first rule). A rule
    /// that fired after the call was already replaced is included.
    pub const fn rules(&self) -> u64 {
        self.rules
    }

    /// Whether rule number `index` (from 0) fired.
    pub const fn fired(&self, index: usize) -> bool {
        index < MAX_RULES && self.rules & (1 << index) != 0
    }
}

/// Decides what `rules` do to one call with `key` (`None`: a call without a
/// key, which only rules without a key apply to), `elapsed` after the plan was
/// switched on, drawing from `rng` (the rules are in the [module
/// documentation](self)). Rules past the 64th are ignored; a rule with an
/// invalid rate never fires.
pub fn decide<K: AsRef<str>, R: Rng + ?Sized>(
    rules: &[FaultRule<K>],
    key: Option<&str>,
    elapsed: Duration,
    rng: &mut R,
) -> Injection {
    let mut injection = Injection::NONE;
    let mut delay = 0u64;
    for (index, rule) in rules.iter().take(MAX_RULES).enumerate() {
        let applies = match &rule.key {
            None => true,
            Some(wanted) => key == Some(wanted.as_ref()),
        };
        if !applies || !rule.window.contains(elapsed) {
            continue;
        }
        // `<` with the rate, so 0 never fires and 1 always does; NaN never.
        if unit(rng) >= rule.rate {
            continue;
        }
        injection.rules |= 1 << index;
        match rule.fault {
            Fault::Latency(extra) => delay = delay.saturating_add(duration_nanos(extra)),
            Fault::Error | Fault::Outcome => {
                if injection.replace.is_none() {
                    injection.replace = Some(rule.fault.kind());
                }
            }
        }
    }
    injection.delay = Duration::from_nanos(delay);
    injection
}

/// The run-time side of a fault plan: the switch, the seeded generator and
/// the counts of what was injected. The rules themselves are kept by the
/// caller and passed to [`inject`](Self::inject), so that firmware can hold
/// them in a `static` and an adapter in a `Vec`.
///
/// Off when made. [`enable`](Self::enable) switches it on and restarts the
/// windows' time; [`disable`](Self::disable) switches it off. While off,
/// [`inject`](Self::inject) is one relaxed load and draws nothing.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::fault::{Fault, FaultInjector, FaultKind, FaultRule};
/// use seawall_core::time::ManualClock;
///
/// static RULES: [FaultRule; 2] = [
///     FaultRule::new(Fault::Error, 0.3),
///     FaultRule::new(Fault::Latency(Duration::from_millis(200)), 1.0),
/// ];
/// static CHAOS: FaultInjector = FaultInjector::new(7);
/// let clock = ManualClock::new();
/// assert_eq!(CHAOS.inject(&RULES, None, &clock), None, "off by default");
///
/// CHAOS.enable(&clock);
/// let errors = (0..1000)
///     .filter_map(|_| CHAOS.inject(&RULES, None, &clock))
///     .filter(|injection| injection.replace() == Some(FaultKind::Error))
///     .count();
/// assert!((250..350).contains(&errors));
/// assert_eq!(CHAOS.counts().latency, 1000);
/// ```
#[derive(Debug)]
pub struct FaultInjector {
    /// 0 while off; otherwise the nanoseconds of the time it was switched on,
    /// plus one.
    on: AtomicU64,
    seed: u64,
    rng: SharedSplitMix64,
    errors: AtomicU64,
    latency: AtomicU64,
    outcomes: AtomicU64,
}

/// What a [`FaultInjector`] has injected: calls failed, delayed and replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FaultCounts {
    /// Calls failed with an injected error.
    pub errors: u64,
    /// Calls delayed.
    pub latency: u64,
    /// Calls answered with a replaced outcome.
    pub outcomes: u64,
}

impl FaultCounts {
    /// The count of `kind`.
    pub const fn of(&self, kind: FaultKind) -> u64 {
        match kind {
            FaultKind::Error => self.errors,
            FaultKind::Latency => self.latency,
            FaultKind::Outcome => self.outcomes,
        }
    }
}

impl FaultInjector {
    loom_const_fn! {
        /// An injector, off, whose generator is seeded with `seed`.
        pub fn new(seed: u64) -> Self {
            Self {
                on: AtomicU64::new(0),
                seed,
                rng: SharedSplitMix64::new(seed),
                errors: AtomicU64::new(0),
                latency: AtomicU64::new(0),
                outcomes: AtomicU64::new(0),
            }
        }
    }

    /// The number the generator started from (its `seed`).
    pub const fn seed(&self) -> u64 {
        self.seed
    }

    /// Switches the plan on now: windows count from this moment. Switching an
    /// injector that is on restarts its windows.
    pub fn enable<K: Clock + ?Sized>(&self, clock: &K) {
        self.on
            .store(clock.now().as_nanos().saturating_add(1), Ordering::Release);
    }

    /// Switches the plan off: no call is touched until it is on again.
    pub fn disable(&self) {
        self.on.store(0, Ordering::Release);
    }

    /// Whether the plan is on.
    #[inline]
    pub fn is_enabled(&self) -> bool {
        self.on.load(Ordering::Relaxed) != 0
    }

    /// What `rules` do to a call with `key` now, counted; `None` while off or
    /// when no rule fired.
    #[inline]
    pub fn inject<R: AsRef<str>, K: Clock + ?Sized>(
        &self,
        rules: &[FaultRule<R>],
        key: Option<&str>,
        clock: &K,
    ) -> Option<Injection> {
        let on = self.on.load(Ordering::Relaxed);
        if on == 0 {
            return None;
        }
        self.decide_on(on - 1, rules, key, clock)
    }

    #[cold]
    fn decide_on<R: AsRef<str>, K: Clock + ?Sized>(
        &self,
        since: u64,
        rules: &[FaultRule<R>],
        key: Option<&str>,
        clock: &K,
    ) -> Option<Injection> {
        let elapsed = Duration::from_nanos(clock.now().as_nanos().saturating_sub(since));
        let injection = decide(rules, key, elapsed, &mut &self.rng);
        if injection.is_none() {
            return None;
        }
        if !injection.delay.is_zero() {
            self.latency.fetch_add(1, Ordering::Relaxed);
        }
        match injection.replace {
            Some(FaultKind::Error) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            Some(FaultKind::Outcome) => {
                self.outcomes.fetch_add(1, Ordering::Relaxed);
            }
            Some(FaultKind::Latency) | None => {}
        }
        Some(injection)
    }

    /// What was injected so far.
    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            errors: self.errors.load(Ordering::Relaxed),
            latency: self.latency.load(Ordering::Relaxed),
            outcomes: self.outcomes.load(Ordering::Relaxed),
        }
    }

    /// Starts the generator's sequence over from its `seed`, to replay a run
    /// (the counts and the switch stay).
    pub fn reseed(&self) {
        self.rng.reset(self.seed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
