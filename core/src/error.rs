//! The one error of the core: a configuration that cannot work.

use core::fmt;

/// An invalid configuration value, reported when the configuration is built.
///
/// It names the field and says what the field must be, so that the message can
/// go to a user unchanged: `invalid failure_threshold: must be at least 1`.
/// Every constructor of the core validates its input and returns this error;
/// nothing panics later because of a value that was accepted.
///
/// ```
/// use seawall_core::breaker::BreakerConfig;
///
/// let error = BreakerConfig::builder().success_threshold(0).build().unwrap_err();
/// assert_eq!(error.field(), "success_threshold");
/// assert_eq!(error.reason(), "must be at least 1");
/// assert_eq!(error.to_string(), "invalid success_threshold: must be at least 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfigError {
    field: &'static str,
    reason: &'static str,
}

impl ConfigError {
    /// An error about `field`, with `reason` saying what it must be.
    pub const fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }

    /// The name of the offending field, as spelled in the configuration.
    pub const fn field(&self) -> &'static str {
        self.field
    }

    /// What the field must be, for example `must be at least 1`.
    pub const fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.reason)
    }
}

impl core::error::Error for ConfigError {}
