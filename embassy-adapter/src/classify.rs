//! Which results count against the dependency: the core's classifier, shared
//! with the tokio adapter.

pub use seawall_core::breaker::{Classify, ErrorsAreFailures, FailureWhen};
