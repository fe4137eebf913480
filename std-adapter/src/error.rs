//! The error of a call made through seawall's policies: the core's
//! [`call::Error`](seawall_core::call::Error), the same type in every adapter.
//!
//! ```
//! use seawall::{CircuitBreaker, CircuitBreakerConfig, Error};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let cb = CircuitBreaker::new("db", CircuitBreakerConfig { failure_threshold: 1, ..Default::default() });
//! let first: Result<(), Error<&str>> = cb.call(|| async { Err("connection refused") }).await;
//! assert!(matches!(first, Err(Error::Inner("connection refused"))));
//!
//! let second: Result<(), Error<&str>> = cb.call(|| async { Ok(()) }).await;
//! let error = second.unwrap_err();
//! assert!(error.is_rejected());
//! assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(60)));
//! assert_eq!(error.to_string(), "circuit breaker is open; retry after 60s");
//! # }
//! ```

pub use seawall_core::call::Error;
