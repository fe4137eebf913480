//! Why a retry gave up, with the last error.

use core::fmt;

use super::GiveUp;

/// The last error of a call that a retry gave up on, with the number of
/// attempts made and the reason.
///
/// ```
/// use seawall_core::retry::{GiveUp, RetryError};
///
/// let error = RetryError { error: "refused", attempts: 3, reason: GiveUp::AttemptsExhausted };
/// assert_eq!(format!("{error}"), format!("gave up after 3 attempts ({}): refused", GiveUp::AttemptsExhausted));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryError<E> {
    /// The error of the last attempt.
    pub error: E,
    /// Attempts made, the first call included.
    pub attempts: u32,
    /// Why there was no further attempt.
    pub reason: GiveUp,
}

impl<E> RetryError<E> {
    /// The error of the last attempt.
    pub fn into_inner(self) -> E {
        self.error
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up after {} attempt{} ({}): {}",
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.reason,
            self.error
        )
    }
}

impl<E: core::error::Error + 'static> core::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.error)
    }
}
