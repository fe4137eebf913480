//! Which outcomes count against the dependency: the core's classifier, shared
//! by every adapter. See
//! [`CircuitBreakerBuilder::classifier`](super::CircuitBreakerBuilder::classifier)
//! for an example.

pub use seawall_core::breaker::{Classify, ErrorsAreFailures, FailureWhen};
