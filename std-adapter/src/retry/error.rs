//! Why a retry gave up: the core's
//! [`retry::RetryError`](seawall_core::retry::RetryError), shared by every adapter.

pub use seawall_core::retry::RetryError;
