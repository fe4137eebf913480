//! `seawall._seawall._health_status`: the core's health rule for the Python
//! registry's report (`seawall/registry.py`), so both bindings answer a
//! readiness probe alike.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use seawall_core::breaker::State;
use seawall_core::health::{BreakerCondition, HealthStatus};

/// The status (`"healthy"`, `"degraded"` or `"unhealthy"`) of breakers given
/// as `(state, critical, fallback, shadow)`, `state` as the breakers name it.
#[pyfunction]
pub(crate) fn _health_status(breakers: Vec<(String, bool, bool, bool)>) -> PyResult<&'static str> {
    let conditions = breakers
        .into_iter()
        .map(|(state, critical, fallback, shadow)| {
            let state = State::from_name(&state)
                .ok_or_else(|| PyValueError::new_err(format!("invalid state: {state:?}")))?;
            Ok(BreakerCondition {
                state,
                critical,
                fallback,
                shadow,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(HealthStatus::of(conditions).as_str())
}
