//! The core's composition table for Python: which of seawall's own
//! exceptions is a policy's stop, so that a decorator counts the decorators
//! below it as the Rust bindings do (`seawall_core::compose`).

use std::time::Duration;

use pyo3::prelude::*;
use seawall_core::compose::Stop;

use crate::errors::{Exception, duration_from_secs};

/// A policy's stop with the wait it announced: what `error` is, if it is one
/// of seawall's own exceptions (also when a subclass of them).
pub(crate) fn stop_of(py: Python<'_>, error: &PyErr) -> Option<(Stop, Option<Duration>)> {
    let is = |exception: Exception| {
        exception
            .class(py)
            .is_ok_and(|class| error.is_instance(py, class.as_any()))
    };
    let value = error.value(py);
    let retry_after = || {
        value
            .getattr(pyo3::intern!(py, "retry_after"))
            .ok()
            .and_then(|after| after.extract::<f64>().ok())
            .filter(|after| after.is_finite() && *after >= 0.0)
            .map(duration_from_secs)
    };
    if is(Exception::CircuitOpen) {
        let reason = value.getattr(pyo3::intern!(py, "reason")).ok()?;
        let stop = Stop::from_name(&reason.extract::<String>().ok()?)?;
        return Some((stop, retry_after()));
    }
    if is(Exception::RateLimited) {
        return Some((Stop::RateLimited, retry_after()));
    }
    if is(Exception::BulkheadFull) {
        return Some((Stop::BulkheadFull, None));
    }
    if is(Exception::TimeoutExceeded) {
        return Some((Stop::Timeout, None));
    }
    None
}
