//! Shared state across a fleet, on Redis: the Python face of the `seawall`
//! crate's `redis` module (`RedisStore`, `SharedCircuitBreaker`,
//! `SharedRateLimiter`). Every decision is the Rust crate's (Lua scripts on
//! Redis's clock, a local hot path synced in the background, fallback when
//! Redis is unavailable); this module validates arguments, bridges its tokio
//! runtime to blocking and `asyncio` callers, and raises Python exceptions.

mod breaker;
mod guarded;
mod permit;
mod rate_limit;
mod runtime;
mod state;
mod store;

use pyo3::prelude::*;

/// Adds the classes and the fork hook to the extension module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<store::RedisStore>()?;
    module.add_class::<breaker::SharedCircuitBreaker>()?;
    module.add_class::<permit::SharedPermit>()?;
    module.add_class::<guarded::SharedGuarded>()?;
    module.add_class::<rate_limit::SharedRateLimiter>()?;
    module.add_class::<rate_limit::SharedWaiting>()?;
    module.add_class::<state::SharedState>()?;
    module.add_function(wrap_pyfunction!(runtime::_redis_after_fork, module)?)?;
    Ok(())
}
