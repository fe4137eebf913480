//! Which results count against the dependency: the classifier.

use seawall_core::breaker::Outcome;

/// Decides how a call's result counts for a breaker: `Some(Outcome::Failure)`,
/// `Some(Outcome::Success)`, or `None` to count it as neither (the permit is
/// released, like resilience4j's ignored exceptions).
///
/// The same words as the tokio adapter: implemented by [`ErrorsAreFailures`]
/// (what [`CircuitBreaker::call`](crate::CircuitBreaker::call) uses), by
/// [`FailureWhen`], and by any `Fn(&Result<T, E>) -> Option<Outcome>`.
///
/// ```
/// use seawall_embassy::{Classify, Outcome};
///
/// // A busy modem is not a broken one: its calls count as neither.
/// enum Modem { Busy, NoCarrier }
/// let classifier = |result: &Result<(), Modem>| match result {
///     Ok(()) => Some(Outcome::Success),
///     Err(Modem::Busy) => None,
///     Err(Modem::NoCarrier) => Some(Outcome::Failure),
/// };
/// assert_eq!(classifier.classify(&Err(Modem::Busy)), None);
/// assert_eq!(classifier.classify(&Err(Modem::NoCarrier)), Some(Outcome::Failure));
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
/// use seawall_embassy::{Classify, FailureWhen, Outcome};
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
