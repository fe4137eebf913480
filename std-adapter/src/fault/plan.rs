//! A fault plan: a seed and rules, as data.

use seawall_core::ConfigError;
use seawall_core::fault::{self, FaultRule};

/// What a [`FaultInjector`](super::FaultInjector) does: a seed for its
/// generator and [`FaultRule`]s, in order (the core's
/// [`fault`](seawall_core::fault) module says how they combine).
///
/// With the `serde` feature it reads from and writes to the file form the
/// simulator and the Python package read too:
/// `{"seed": 7, "rules": [{"kind": "error", "rate": 0.3}, {"kind": "latency",
/// "delay_ms": 200, "rate": 1.0}]}`.
///
/// ```
/// use std::time::Duration;
/// use seawall::FaultPlan;
/// use seawall::core::fault::{Fault, FaultRule, Window};
///
/// // Tenant 7's calls fail for a minute, starting ten seconds in.
/// let plan = FaultPlan::new(1).rule(
///     FaultRule::new(Fault::Error, 1.0)
///         .for_key("tenant-7")
///         .during(Window::between(Duration::from_secs(10), Duration::from_secs(70))),
/// );
/// assert!(plan.validate().is_ok());
/// assert_eq!(plan.rules[0].key.as_deref(), Some("tenant-7"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct FaultPlan {
    /// Where the plan's generator starts: the same `seed` and the same calls
    /// give the same faults.
    #[cfg_attr(feature = "serde", serde(default))]
    pub seed: u64,
    /// The rules, in order.
    pub rules: Vec<FaultRule<String>>,
}

impl FaultPlan {
    /// A plan without rules, with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            rules: Vec::new(),
        }
    }

    /// This plan with `rule` added last.
    pub fn rule(mut self, rule: FaultRule<&str>) -> Self {
        self.rules.push(FaultRule {
            fault: rule.fault,
            rate: rule.rate,
            window: rule.window,
            key: rule.key.map(str::to_owned),
        });
        self
    }

    /// Checks every rule (a rate in 0..=1, a window that opens before it
    /// closes) and that there are at most 64.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fault::validate(&self.rules)
    }
}
