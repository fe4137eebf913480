//! Which outcomes count against the dependency: the classifier.

use seawall_core::breaker::Outcome;

/// Decides how a call's result counts: `Some(Outcome::Failure)`,
/// `Some(Outcome::Success)`, or `None` to ignore it (the call counts as neither,
/// like resilience4j's ignored exceptions, and frees its probe slot).
///
/// Implemented by [`ErrorsAreFailures`] (the default), by [`FailureWhen`], and
/// by any `Fn(&Result<T, E>) -> Option<Outcome>`.
///
/// ```
/// use seawall::{CircuitBreaker, CircuitBreakerConfig};
/// use seawall::core::breaker::Outcome;
///
/// #[derive(Debug)]
/// enum DbError { NotFound, Unavailable }
///
/// // A missing row is an answer, not a sign of an unhealthy database.
/// let cb = CircuitBreaker::builder("db")
///     .config(CircuitBreakerConfig { failure_threshold: 1, ..Default::default() })
///     .classifier(|result: &Result<u32, DbError>| match result {
///         Err(DbError::Unavailable) => Some(Outcome::Failure),
///         Err(DbError::NotFound) => None,
///         Ok(_) => Some(Outcome::Success),
///     })
///     .build()
///     .unwrap();
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let _ = cb.call(|| async { Err::<u32, _>(DbError::NotFound) }).await;
/// assert_eq!(cb.state(), seawall::State::Closed);
/// let _ = cb.call(|| async { Err::<u32, _>(DbError::Unavailable) }).await;
/// assert_eq!(cb.state(), seawall::State::Open);
/// # });
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
/// use seawall::{CircuitBreaker, FailureWhen};
///
/// // Only server errors count; a 404 means the server is fine.
/// let cb = CircuitBreaker::builder("api")
///     .classifier(FailureWhen(|status: &u16| *status >= 500))
///     .build()
///     .unwrap();
/// # let _ = cb;
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
