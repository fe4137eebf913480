//! Fault injection for firmware tests: a fault plan in a `static`, fired on
//! the calls to a device, so that a test can see the breaker, the retry and
//! the timeout answer a failing sensor or a slow modem.

use core::fmt;
use core::future::Future;

use seawall_core::error::ConfigError;
use seawall_core::fault::{self, FaultCounts, FaultInjector as Core, FaultKind, FaultRule};

use crate::clock::{EmbassyClock, to_embassy_duration};

/// The error of a call a fault plan failed (or replaced, when there was no
/// outcome to replace it with). Calls return the device's own error type,
/// made from this one with `From`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InjectedFault {
    kind: FaultKind,
}

impl InjectedFault {
    /// [`FaultKind::Error`], or [`FaultKind::Outcome`] for an outcome fault
    /// without an outcome to replace the call with.
    pub const fn kind(&self) -> FaultKind {
        self.kind
    }
}

impl fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fault injected ({})", self.kind)
    }
}

impl core::error::Error for InjectedFault {}

/// Fires a plan of [`FaultRule`]s on the calls made through it, while
/// switched on: the core's [`FaultInjector`](seawall_core::fault::FaultInjector)
/// read on [`EmbassyClock`], sleeping with `embassy_time::Timer`. Off when
/// made; `const`, so it lives in a `static` beside the rules.
///
/// ```
/// use core::time::Duration;
/// use seawall_embassy::{FaultInjector, InjectedFault};
/// use seawall_embassy::core::fault::{Fault, FaultRule};
///
/// static RULES: [FaultRule; 2] = [
///     FaultRule::new(Fault::Error, 0.3),
///     FaultRule::new(Fault::Latency(Duration::from_millis(200)), 1.0),
/// ];
/// static FLAKY_SENSOR: FaultInjector = match FaultInjector::new(&RULES, 7) {
///     Ok(injector) => injector,
///     Err(_) => panic!("invalid fault plan"),
/// };
///
/// #[derive(Debug)]
/// enum SensorError { Bus, Injected }
/// impl From<InjectedFault> for SensorError {
///     fn from(_: InjectedFault) -> Self { SensorError::Injected }
/// }
/// async fn read_temperature() -> Result<i16, SensorError> { Ok(215) }
///
/// async fn sample() -> Result<i16, SensorError> {
///     FLAKY_SENSOR.call(None, read_temperature).await
/// }
/// // In a test: FLAKY_SENSOR.enable(), then watch the breaker around `sample`.
/// ```
#[derive(Debug)]
pub struct FaultInjector<'a> {
    rules: &'a [FaultRule<&'a str>],
    core: Core,
}

impl<'a> FaultInjector<'a> {
    /// An injector of `rules` whose generator is seeded with `seed`, switched
    /// off; or the first invalid rule.
    pub const fn new(rules: &'a [FaultRule<&'a str>], seed: u64) -> Result<Self, ConfigError> {
        if rules.len() > fault::MAX_RULES {
            return Err(ConfigError::new("rules", "must be at most 64"));
        }
        let mut index = 0;
        while index < rules.len() {
            if let Err(error) = rules[index].validate() {
                return Err(error);
            }
            index += 1;
        }
        Ok(Self {
            rules,
            core: Core::new(seed),
        })
    }

    /// The rules.
    pub const fn rules(&self) -> &'a [FaultRule<&'a str>] {
        self.rules
    }

    /// Switches the plan on: its windows count from now.
    pub fn enable(&self) {
        self.core.enable(&EmbassyClock);
    }

    /// Switches the plan off.
    pub fn disable(&self) {
        self.core.disable();
    }

    /// Whether the plan is on.
    pub fn is_enabled(&self) -> bool {
        self.core.is_enabled()
    }

    /// The faults injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.core.counts()
    }

    /// Starts the generator over from its seed, to replay a run.
    pub fn reseed(&self) {
        self.core.reseed();
    }

    /// Runs the call `f` makes, with `key` (or none), under the plan:
    /// untouched while off; delayed, failed with an [`InjectedFault`], or
    /// both, when rules fire (an outcome fault fails it too: see
    /// [`call_with`](Self::call_with)).
    pub async fn call<F, Fut, T, E>(&self, key: Option<&str>, f: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<InjectedFault>,
    {
        self.call_with(key, |fault| Err(fault.into()), f).await
    }

    /// As [`call`](Self::call), with the `outcome` that replaces the call when
    /// an outcome fault fires (a stale reading, an empty frame).
    pub async fn call_with<F, Fut, T, E, O>(
        &self,
        key: Option<&str>,
        outcome: O,
        f: F,
    ) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<InjectedFault>,
        O: FnOnce(InjectedFault) -> Result<T, E>,
    {
        let Some(injection) = self.core.inject(self.rules, key, &EmbassyClock) else {
            return f().await;
        };
        if !injection.delay().is_zero() {
            embassy_time::Timer::after(to_embassy_duration(injection.delay())).await;
        }
        match injection.replace() {
            Some(FaultKind::Outcome) => outcome(InjectedFault {
                kind: FaultKind::Outcome,
            }),
            Some(kind) => Err(InjectedFault { kind }.into()),
            None => f().await,
        }
    }
}
