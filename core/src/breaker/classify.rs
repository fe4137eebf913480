//! Which results count against the dependency: the classifier.

use super::Outcome;

/// Decides how a call's result counts for a breaker: `Some(Outcome::Failure)`,
/// `Some(Outcome::Success)`, or `None` to count it as neither (the permit is
/// released and frees its probe slot, like resilience4j's ignored exceptions).
///
/// Implemented by [`ErrorsAreFailures`] (the adapters' default), by
/// [`FailureWhen`], and by any `Fn(&Result<T, E>) -> Option<Outcome>`.
///
/// ```
/// use seawall_core::breaker::{Classify, Outcome};
///
/// #[derive(Debug)]
/// enum DbError { NotFound, Unavailable }
///
/// // A missing row is an answer, not a sign of an unhealthy database.
/// let classify = |result: &Result<u32, DbError>| match result {
///     Err(DbError::Unavailable) => Some(Outcome::Failure),
///     Err(DbError::NotFound) => None,
///     Ok(_) => Some(Outcome::Success),
/// };
/// assert_eq!(classify.classify(&Err(DbError::NotFound)), None);
/// assert_eq!(classify.classify(&Err(DbError::Unavailable)), Some(Outcome::Failure));
/// ```
pub trait Classify<T, E> {
    /// How `result` counts.
    fn classify(&self, result: &Result<T, E>) -> Option<Outcome>;
}

/// The default classifier: `Err` is a failure, `Ok` a success.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ErrorsAreFailures;

impl<T, E> Classify<T, E> for ErrorsAreFailures {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Option<Outcome> {
        Some(match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        })
    }
}

/// Counts the errors that match a predicate as failures and everything else,
/// other errors included, as successes: resilience4j's `recordExceptions`.
///
/// ```
/// use seawall_core::breaker::{Classify, FailureWhen, Outcome};
///
/// // A NACK means the device is unwell; a CRC error was line noise.
/// #[derive(PartialEq)]
/// enum Bus { Nack, Crc }
/// let classifier = FailureWhen(|error: &Bus| *error == Bus::Nack);
/// assert_eq!(classifier.classify(&Err::<(), _>(Bus::Nack)), Some(Outcome::Failure));
/// assert_eq!(classifier.classify(&Err::<(), _>(Bus::Crc)), Some(Outcome::Success));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FailureWhen<P>(pub P);

impl<T, E, P: Fn(&E) -> bool> Classify<T, E> for FailureWhen<P> {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Option<Outcome> {
        Some(match result {
            Err(error) if (self.0)(error) => Outcome::Failure,
            _ => Outcome::Success,
        })
    }
}

impl<T, E, F: Fn(&Result<T, E>) -> Option<Outcome>> Classify<T, E> for F {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Option<Outcome> {
        self(result)
    }
}
