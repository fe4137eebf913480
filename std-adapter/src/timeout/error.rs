//! The error of a call that ran out of time.

use std::fmt;
use std::time::Duration;

/// A call did not finish within its time limit and was cancelled.
///
/// ```
/// use std::time::Duration;
/// use seawall::timeout::Elapsed;
///
/// let elapsed = Elapsed::new(Duration::from_secs(5));
/// assert_eq!(elapsed.limit(), Duration::from_secs(5));
/// assert_eq!(elapsed.to_string(), "timed out after 5s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed {
    limit: Duration,
}

impl Elapsed {
    /// A timeout of a call limited to `limit`.
    pub const fn new(limit: Duration) -> Self {
        Self { limit }
    }

    /// The time limit that was exceeded.
    pub const fn limit(&self) -> Duration {
        self.limit
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {:?}", self.limit)
    }
}

impl std::error::Error for Elapsed {}
