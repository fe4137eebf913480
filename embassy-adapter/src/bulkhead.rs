//! A limit on the calls in flight at once.

use core::future::Future;

use seawall_core::bulkhead::{self as core_bulkhead, BulkheadFull};
use seawall_core::error::ConfigError;

use crate::error::Error;

/// A bulkhead: at most `max_concurrent` calls in flight at once, across every
/// task that shares it (a `static`).
///
/// A call that finds every place taken is refused at once with
/// [`Error::BulkheadFull`]; nothing queues, so nothing waits unboundedly. A
/// [`Retry`](crate::Retry) around the call waits for a place with backoff (a
/// full bulkhead is retryable). The place is given back when the call ends,
/// however it ends, its future dropped included.
///
/// ```
/// use seawall_embassy::{Bulkhead, Error};
///
/// static FLASH: Bulkhead = match Bulkhead::new(2) {
///     Ok(bulkhead) => bulkhead,
///     Err(_) => panic!("invalid bulkhead"),
/// };
///
/// async fn write_page(page: u32) -> Result<(), ()> { let _ = page; Ok(()) }
///
/// async fn save(page: u32) -> Result<(), Error<()>> {
///     FLASH.call(|| write_page(page)).await
/// }
/// ```
#[derive(Debug)]
pub struct Bulkhead {
    inner: core_bulkhead::Bulkhead,
}

impl Bulkhead {
    /// A bulkhead admitting up to `max_concurrent` calls at once (at least 1).
    pub const fn new(max_concurrent: u32) -> Result<Self, ConfigError> {
        match core_bulkhead::Bulkhead::new(max_concurrent) {
            Ok(inner) => Ok(Self { inner }),
            Err(error) => Err(error),
        }
    }

    /// Runs the call `f` makes if a place is free, holding the place until it
    /// ends; [`Error::BulkheadFull`] at once otherwise.
    pub async fn call<T, E, F, Fut>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let _place = self.try_enter()?;
        f().await.map_err(Error::Inner)
    }

    /// Takes a place by hand; the permit gives it back when dropped.
    pub fn try_enter(&self) -> Result<core_bulkhead::BulkheadPermit<'_>, BulkheadFull> {
        self.inner.try_enter()
    }

    /// The most calls admitted at once.
    pub fn max_concurrent(&self) -> u32 {
        self.inner.max_concurrent()
    }

    /// The calls in flight now.
    pub fn in_flight(&self) -> u32 {
        self.inner.in_flight()
    }

    /// The places free now.
    pub fn available(&self) -> u32 {
        self.inner.available()
    }
}
