//! `seawall._seawall`: the pyo3 extension behind the `seawall` Python package.
//!
//! A private module: the package re-exports what users need through its
//! `__all__`, and `seawall/_seawall.pyi` types it. Every decision is the core's;
//! this crate validates arguments before they reach the core (so nothing can
//! panic), converts seconds, reads the clock and maps outcomes to Python
//! exceptions (one mapping, in `errors`).

mod attempt_timeout;
mod blocks;
mod breaker;
mod bulkhead;
mod classify;
mod clock;
mod compose;
mod errors;
mod fault;
mod health;
mod hedge;
mod limit;
mod permit;
mod rate_limit;
#[cfg(feature = "redis")]
mod redis;
mod retry;
mod sim;
mod stats;
mod wrapper;

use pyo3::prelude::*;

/// The extension module; its export list is the boundary.
#[pymodule]
fn _seawall(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<breaker::CircuitBreaker>()?;
    module.add_class::<permit::Permit>()?;
    module.add_class::<permit::Guarded>()?;
    module.add_class::<stats::Stats>()?;
    module.add_class::<stats::WindowTotals>()?;
    module.add_class::<clock::ManualClock>()?;
    module.add_class::<retry::Retry>()?;
    module.add_class::<rate_limit::RateLimiter>()?;
    module.add_class::<rate_limit::Waiting>()?;
    module.add_class::<bulkhead::Bulkhead>()?;
    module.add_class::<bulkhead::BulkheadPermit>()?;
    module.add_class::<bulkhead::Queued>()?;
    module.add_class::<retry::RetryBudget>()?;
    module.add_class::<retry::RetryCall>()?;
    module.add_class::<retry::RetryStats>()?;
    module.add_class::<retry::Retrying>()?;
    module.add_function(wrap_pyfunction!(sim::_simulate, module)?)?;
    module.add_function(wrap_pyfunction!(health::_health_status, module)?)?;
    module.add_class::<retry::RetryQuota>()?;
    module.add_class::<retry::AdaptiveRate>()?;
    module.add_class::<attempt_timeout::AttemptTimeout>()?;
    module.add_class::<limit::AdaptiveLimiter>()?;
    module.add_class::<limit::LimiterPermit>()?;
    module.add_class::<hedge::Hedge>()?;
    module.add_class::<hedge::HedgeCall>()?;
    module.add_class::<hedge::HedgeStats>()?;
    module.add_class::<fault::FaultInjector>()?;
    module.add_class::<fault::FaultCounts>()?;
    #[cfg(feature = "redis")]
    redis::register(module)?;
    Ok(())
}
