//! What can go wrong before a simulation starts: a file that cannot be read or
//! parsed, or an option out of range. Nothing fails once a run has begun.

use std::fmt;

/// An input the simulator cannot use, with the place it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An option is out of range; `field` is its path in the input
    /// (`policies[1].circuit_breaker.failure_threshold`).
    Invalid {
        /// Where the option is.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file could not be read or written.
    Io {
        /// The file.
        path: String,
        /// The system's message.
        message: String,
    },
    /// An input is not well-formed (TOML, JSON, CSV).
    Parse {
        /// The file, or `scenario` for text given directly.
        source: String,
        /// The parser's message, with its line.
        message: String,
    },
}

impl Error {
    /// An option `field` that is out of range for `reason`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error, with `prefix.` before its field.
    pub(crate) fn within(self, prefix: &str) -> Self {
        match self {
            Error::Invalid { field, reason } => Error::Invalid {
                field: format!("{prefix}.{field}"),
                reason,
            },
            other => other,
        }
    }

    pub(crate) fn io(path: &std::path::Path, error: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            message: error.to_string(),
        }
    }
}

impl From<seawall_core::ConfigError> for Error {
    fn from(error: seawall_core::ConfigError) -> Self {
        Error::invalid(error.field(), error.reason())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid { field, reason } => write!(f, "invalid {field}: {reason}"),
            Error::Io { path, message } => write!(f, "{path}: {message}"),
            Error::Parse { source, message } => write!(f, "{source}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// A duration in milliseconds (a float, so sub-millisecond latencies can be
/// written) as nanoseconds; `field` names it in the error.
pub(crate) fn nanos(field: &str, ms: f64) -> Result<u64, Error> {
    // NaN is in no range.
    if !(0.0..=MAX_MS).contains(&ms) {
        return Err(Error::invalid(
            field,
            "must be a number of milliseconds from 0 to 10^12",
        ));
    }
    Ok((ms * 1e6).round() as u64)
}

/// A duration that must be more than zero.
pub(crate) fn positive_nanos(field: &str, ms: f64) -> Result<u64, Error> {
    match nanos(field, ms)? {
        0 => Err(Error::invalid(field, "must be greater than zero")),
        n => Ok(n),
    }
}

/// A probability.
pub(crate) fn ratio(field: &str, value: f64) -> Result<f64, Error> {
    if !(0.0..=1.0).contains(&value) {
        return Err(Error::invalid(field, "must be a number in [0, 1]"));
    }
    Ok(value)
}

/// About 31 years: far beyond any run, and far from overflowing nanoseconds.
const MAX_MS: f64 = 1e12;
