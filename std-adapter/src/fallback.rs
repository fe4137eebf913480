//! Fallback: what to answer when a call fails or is rejected.

use std::future::Future;

use crate::error::Error;

/// Turns the error of a call into a value, or into another error.
///
/// Implemented by [`NoFallback`] (the error stays), [`FallbackValue`] (a fixed
/// value) and [`FallbackFn`] (an async function of the error, which may
/// recover from some errors and return the others).
pub trait Fallback<T, E> {
    /// The answer for `error`.
    fn recover(&self, error: Error<E>) -> impl Future<Output = Result<T, Error<E>>>;
}

/// No fallback: the error is returned as it is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NoFallback;

impl<T, E> Fallback<T, E> for NoFallback {
    async fn recover(&self, error: Error<E>) -> Result<T, Error<E>> {
        Err(error)
    }
}

/// A fixed value (cloned) for every error.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FallbackValue<T>(pub T);

impl<T: Clone, E> Fallback<T, E> for FallbackValue<T> {
    async fn recover(&self, _: Error<E>) -> Result<T, Error<E>> {
        Ok(self.0.clone())
    }
}

/// An async function of the error: a cached value, a default, a degraded
/// answer, or the error again for the errors it does not handle.
///
/// ```
/// use seawall::{Error, FallbackFn, with_fallback};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let stale = FallbackFn(|error: Error<u16>| async move {
///     if error.is_rejected() || error.is_timeout() { Ok("cached") } else { Err(error) }
/// });
/// let answer = with_fallback(&stale, || async { Err(Error::Inner(400)) }).await;
/// assert_eq!(answer, Err(Error::Inner(400)));
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FallbackFn<F>(pub F);

impl<T, E, F, Fut> Fallback<T, E> for FallbackFn<F>
where
    F: Fn(Error<E>) -> Fut,
    Fut: Future<Output = Result<T, Error<E>>>,
{
    async fn recover(&self, error: Error<E>) -> Result<T, Error<E>> {
        (self.0)(error).await
    }
}

impl<T, E, Fb: Fallback<T, E>> Fallback<T, E> for &Fb {
    fn recover(&self, error: Error<E>) -> impl Future<Output = Result<T, Error<E>>> {
        (**self).recover(error)
    }
}

/// Runs the future made by `f` and answers its error with `fallback`.
///
/// ```
/// use seawall::{CircuitBreaker, CircuitBreakerConfig, FallbackValue, with_fallback};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let cb = CircuitBreaker::new("prices", CircuitBreakerConfig::default());
/// cb.force_open();
/// let price = with_fallback(FallbackValue(0), || cb.call(|| async { Ok::<_, ()>(42) })).await;
/// assert_eq!(price, Ok(0));
/// # }
/// ```
pub async fn with_fallback<Fb, F, Fut, T, E>(fallback: Fb, f: F) -> Result<T, Error<E>>
where
    Fb: Fallback<T, E>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, Error<E>>>,
{
    match f().await {
        Ok(value) => Ok(value),
        Err(error) => fallback.recover(error).await,
    }
}
