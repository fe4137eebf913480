//! One rule of a fault plan: which fault, how often, when and for which key.

use core::fmt;
use core::time::Duration;

use crate::error::ConfigError;
use crate::time::duration_nanos;

/// What a rule does to a call it fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The call fails with an injected error, without running.
    Error,
    /// The call is delayed this long, then runs.
    Latency(Duration),
    /// The call answers a replaced outcome (the value the adapter was given),
    /// without running.
    Outcome,
}

impl Fault {
    /// What kind of fault this is.
    pub const fn kind(&self) -> FaultKind {
        match self {
            Fault::Error => FaultKind::Error,
            Fault::Latency(_) => FaultKind::Latency,
            Fault::Outcome => FaultKind::Outcome,
        }
    }
}

/// The kinds of fault, as metrics and files name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum FaultKind {
    /// An injected error.
    Error,
    /// Injected latency.
    Latency,
    /// A replaced outcome.
    Outcome,
}

impl FaultKind {
    /// Every kind, in declaration order.
    pub const ALL: [FaultKind; 3] = [FaultKind::Error, FaultKind::Latency, FaultKind::Outcome];

    /// `error`, `latency` or `outcome`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FaultKind::Error => "error",
            FaultKind::Latency => "latency",
            FaultKind::Outcome => "outcome",
        }
    }

    /// The kind named `name` (as in [`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a rule applies, in time since the plan was switched on.
///
/// Without a period, the window is `[after, until)` (`until` absent: for
/// ever). With `every`, it repeats: the rule applies while the time since the
/// start of the current period is in `[after, until)` (`until` absent: to the
/// end of the period). "The first 30 s of every 5 minutes" is `after` 0,
/// `until` 30 s, `every` 5 min.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Window {
    /// When the window opens.
    pub after: Duration,
    /// When it closes, if ever.
    pub until: Option<Duration>,
    /// The period it repeats with, if any.
    pub every: Option<Duration>,
}

impl Window {
    /// Always open.
    pub const ALWAYS: Window = Window {
        after: Duration::ZERO,
        until: None,
        every: None,
    };

    /// Open from `after` to `until`.
    pub const fn between(after: Duration, until: Duration) -> Window {
        Window {
            after,
            until: Some(until),
            every: None,
        }
    }

    /// This window, repeated every `period`.
    pub const fn every(mut self, period: Duration) -> Window {
        self.every = Some(period);
        self
    }

    /// Whether the window is open `elapsed` after the plan was switched on.
    pub const fn contains(&self, elapsed: Duration) -> bool {
        let mut t = duration_nanos(elapsed);
        if let Some(period) = self.every {
            let period = duration_nanos(period);
            if period == 0 {
                return false;
            }
            t %= period;
        }
        let opened = t >= duration_nanos(self.after);
        match self.until {
            Some(until) => opened && t < duration_nanos(until),
            None => opened,
        }
    }

    const fn validate(&self) -> Result<(), ConfigError> {
        let after = duration_nanos(self.after);
        if let Some(until) = self.until
            && duration_nanos(until) <= after
        {
            return Err(ConfigError::new("until", "must be after `after`"));
        }
        if let Some(every) = self.every {
            let every = duration_nanos(every);
            if every <= after {
                return Err(ConfigError::new("every", "must be longer than `after`"));
            }
            if let Some(until) = self.until
                && duration_nanos(until) > every
            {
                return Err(ConfigError::new(
                    "until",
                    "must be within the period `every`",
                ));
            }
        }
        Ok(())
    }
}

/// One rule of a fault plan: a [`Fault`], the share of calls it fires on
/// (`rate`, in 0..=1), the [`Window`] it applies in, and the key of the calls
/// it applies to (`None`: every call).
///
/// `K` is how the key is held: `&'static str` in firmware, `String` in the
/// adapters. The rules of a plan are a slice; see [`decide`](super::decide)
/// for how they combine.
///
/// ```
/// use core::time::Duration;
/// use seawall_core::fault::{Fault, FaultRule, Window};
///
/// let slow_tenant = FaultRule::new(Fault::Latency(Duration::from_millis(200)), 1.0)
///     .for_key("tenant-7")
///     .during(Window::between(Duration::from_secs(10), Duration::from_secs(70)));
/// assert!(slow_tenant.validate().is_ok());
/// assert!(FaultRule::<&str>::new(Fault::Error, 1.5).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        try_from = "serde_form::RuleForm<K>",
        into = "serde_form::RuleForm<K>",
        bound(
            serialize = "K: Clone + serde::Serialize",
            deserialize = "K: serde::Deserialize<'de>"
        )
    )
)]
pub struct FaultRule<K = &'static str> {
    /// What the rule does.
    pub fault: Fault,
    /// The share of the calls it applies to that it fires on, in 0..=1.
    pub rate: f64,
    /// When it applies.
    pub window: Window,
    /// The key of the calls it applies to (`None`: every call).
    pub key: Option<K>,
}

impl<K> FaultRule<K> {
    /// A rule firing `fault` on a share `rate` of every call, always.
    pub const fn new(fault: Fault, rate: f64) -> Self {
        Self {
            fault,
            rate,
            window: Window::ALWAYS,
            key: None,
        }
    }

    /// This rule, only for calls with `key`.
    pub fn for_key(mut self, key: K) -> Self {
        self.key = Some(key);
        self
    }

    /// This rule, only in `window`.
    pub const fn during(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Checks the rate and the window.
    pub const fn validate(&self) -> Result<(), ConfigError> {
        // Written so that NaN fails too.
        if !(self.rate >= 0.0 && self.rate <= 1.0) {
            return Err(ConfigError::new("rate", "must be a number in 0..=1"));
        }
        self.window.validate()
    }

    /// The same rule with its key borrowed.
    pub fn as_ref(&self) -> FaultRule<&str>
    where
        K: AsRef<str>,
    {
        FaultRule {
            fault: self.fault,
            rate: self.rate,
            window: self.window,
            key: self.key.as_ref().map(AsRef::as_ref),
        }
    }
}

/// The file form of a rule: flat, with times in whole milliseconds.
#[cfg(feature = "serde")]
mod serde_form {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(
        deny_unknown_fields,
        bound(
            serialize = "K: serde::Serialize",
            deserialize = "K: serde::Deserialize<'de>"
        )
    )]
    pub(super) struct RuleForm<K> {
        kind: FaultKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delay_ms: Option<u64>,
        rate: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<K>,
        #[serde(default, skip_serializing_if = "is_zero")]
        after_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        every_ms: Option<u64>,
    }

    fn is_zero(value: &u64) -> bool {
        *value == 0
    }

    impl<K> TryFrom<RuleForm<K>> for FaultRule<K> {
        type Error = ConfigError;
        fn try_from(form: RuleForm<K>) -> Result<Self, ConfigError> {
            let fault = match (form.kind, form.delay_ms) {
                (FaultKind::Latency, Some(ms)) => Fault::Latency(Duration::from_millis(ms)),
                (FaultKind::Latency, None) => {
                    return Err(ConfigError::new("delay_ms", "is required for latency"));
                }
                (_, Some(_)) => {
                    return Err(ConfigError::new("delay_ms", "is for latency only"));
                }
                (FaultKind::Error, None) => Fault::Error,
                (FaultKind::Outcome, None) => Fault::Outcome,
            };
            let rule = FaultRule {
                fault,
                rate: form.rate,
                window: Window {
                    after: Duration::from_millis(form.after_ms),
                    until: form.until_ms.map(Duration::from_millis),
                    every: form.every_ms.map(Duration::from_millis),
                },
                key: form.key,
            };
            rule.validate()?;
            Ok(rule)
        }
    }

    impl<K> From<FaultRule<K>> for RuleForm<K> {
        fn from(rule: FaultRule<K>) -> Self {
            let ms = |d: Duration| d.as_millis() as u64;
            RuleForm {
                kind: rule.fault.kind(),
                delay_ms: match rule.fault {
                    Fault::Latency(delay) => Some(ms(delay)),
                    _ => None,
                },
                rate: rule.rate,
                key: rule.key,
                after_ms: ms(rule.window.after),
                until_ms: rule.window.until.map(ms),
                every_ms: rule.window.every.map(ms),
            }
        }
    }
}
