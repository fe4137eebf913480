//! The error of a call made through seawall's policies: the core's
//! [`call::Error`](seawall_core::call::Error), the same type as the tokio
//! adapter's `seawall::Error`.
//!
//! Each policy produces only some of the variants: a breaker's
//! [`call`](crate::CircuitBreaker::call) gives `Inner` or `Rejected`,
//! [`call_with_timeout`](crate::CircuitBreaker::call_with_timeout) adds
//! `Timeout`, a [`Bulkhead`](crate::Bulkhead) gives `BulkheadFull` and a
//! [`RateLimiter`](crate::RateLimiter) `RateLimited`.
//!
//! ```
//! use core::time::Duration;
//! use seawall_embassy::{Elapsed, Error};
//!
//! let error: Error<&str> = Error::Timeout(Elapsed::new(Duration::from_millis(50)));
//! assert_eq!(error.to_string(), "timed out after 50ms");
//! assert_eq!(Error::Inner("bus fault").to_string(), "bus fault");
//! ```

use seawall_core::retry::Failure;

use crate::retry::Retryable;

pub use seawall_core::call::Error;

/// How a retry treats each error: as the core's
/// [`Error::failure`](seawall_core::call::Error::failure) says (a breaker
/// forced open by hand is not worth retrying; an open breaker or a rate
/// limiter no sooner than it says).
impl<E> Retryable for Error<E> {
    fn failure(&self) -> Failure {
        Error::failure(self)
    }
}
