//! The boundary's errors: the exceptions seawall raises, the one mapping from the
//! core's errors to Python's, and the validation of arguments before they reach
//! the core (so no value can make the core panic).

use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyType};
use seawall_core::ConfigError;

/// The exceptions of the package, defined in Python (`seawall/_errors.py`) so
/// that they subclass the standard ones on every Python the abi3 wheel runs
/// on, and looked up once.
#[derive(Clone, Copy)]
pub(crate) enum Exception {
    CircuitOpen,
    BulkheadFull,
    RateLimited,
    TimeoutExceeded,
}

static CIRCUIT_OPEN: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static BULKHEAD_FULL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static RATE_LIMITED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TIMEOUT_EXCEEDED: PyOnceLock<Py<PyType>> = PyOnceLock::new();

impl Exception {
    /// The exception class.
    pub(crate) fn class(self, py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
        let (cell, name) = match self {
            Exception::CircuitOpen => (&CIRCUIT_OPEN, "CircuitOpenError"),
            Exception::BulkheadFull => (&BULKHEAD_FULL, "BulkheadFullError"),
            Exception::RateLimited => (&RATE_LIMITED, "RateLimitedError"),
            Exception::TimeoutExceeded => (&TIMEOUT_EXCEEDED, "TimeoutExceededError"),
        };
        cell.import(py, "seawall._errors", name)
    }

    /// The exception, raised with `args`.
    pub(crate) fn err<A>(self, py: Python<'_>, args: A) -> PyErr
    where
        A: pyo3::PyErrArguments + Send + Sync + 'static,
    {
        match self.class(py) {
            Ok(class) => PyErr::from_type(class.clone(), args),
            Err(error) => error,
        }
    }
}

/// The Python argument that a core configuration field is set by: the same
/// name, but for the classic word for how long a breaker stays open.
fn argument_name(field: &str) -> &str {
    match field {
        "open_duration" => "timeout",
        other => other,
    }
}

/// The one mapping from the core's errors to Python exceptions: an invalid
/// configuration is a `ValueError` that names the argument.
pub(crate) fn config_error(error: ConfigError) -> PyErr {
    invalid(argument_name(error.field()), error.reason())
}

/// `ValueError: invalid {name}: {reason}`.
pub(crate) fn invalid(name: &str, reason: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("invalid {name}: {reason}"))
}

/// `TypeError: invalid {name}: must be {expected}, not {type}`.
pub(crate) fn wrong_type(name: &str, expected: &str, value: &Bound<'_, PyAny>) -> PyErr {
    let type_name = value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned());
    PyTypeError::new_err(format!(
        "invalid {name}: must be {expected}, not {type_name}"
    ))
}

/// An `int` argument (not a `bool`) in `min..=max`.
pub(crate) fn int_in(value: &Bound<'_, PyAny>, name: &str, min: u64, max: u64) -> PyResult<u64> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(wrong_type(name, "an int", value));
    }
    let v: i128 = value
        .extract()
        .map_err(|_| invalid(name, format!("must be at most {max}")))?;
    if v < i128::from(min) {
        return Err(invalid(name, format!("must be at least {min}, got {v}")));
    }
    if v > i128::from(max) {
        return Err(invalid(name, format!("must be at most {max}, got {v}")));
    }
    Ok(v as u64)
}

/// A `u32` argument that the core validates further (range, zero).
pub(crate) fn count(value: &Bound<'_, PyAny>, name: &str) -> PyResult<u32> {
    int_in(value, name, 0, u64::from(u32::MAX)).map(|v| v as u32)
}

/// A real number (an `int` or a `float`, not a `bool`), possibly NaN.
pub(crate) fn number(value: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    if value.is_instance_of::<PyBool>() {
        return Err(wrong_type(name, "a number", value));
    }
    if value.is_instance_of::<PyFloat>() {
        return value.extract();
    }
    if value.is_instance_of::<PyInt>() {
        // Large ints round, as float(x) does; overflow becomes infinity.
        return Ok(value.extract::<f64>().unwrap_or(f64::INFINITY));
    }
    Err(wrong_type(name, "a number", value))
}

/// A finite ratio, validated further by the core.
pub(crate) fn ratio(value: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    let v = number(value, name)?;
    if !v.is_finite() {
        return Err(invalid(
            name,
            format!("must be a number in (0, 1], got {v}"),
        ));
    }
    Ok(v)
}

/// Seconds as a float, checked finite and not negative.
pub(crate) fn seconds_f64(value: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    let secs = if value.is_instance_of::<PyBool>() {
        return Err(wrong_type(name, "a number of seconds", value));
    } else if value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>() {
        number(value, name)?
    } else if is_timedelta(value)? {
        value.call_method0("total_seconds")?.extract::<f64>()?
    } else {
        return Err(wrong_type(
            name,
            "a number of seconds (int, float or datetime.timedelta)",
            value,
        ));
    };
    if secs.is_nan() {
        return Err(invalid(name, "must be a number of seconds, got nan"));
    }
    if secs < 0.0 {
        return Err(invalid(name, format!("must not be negative, got {secs}")));
    }
    if secs.is_infinite() {
        return Err(invalid(name, "must be finite, got inf"));
    }
    Ok(secs)
}

/// A duration in seconds (validated: finite, not negative), as the core's type.
pub(crate) fn seconds(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Duration> {
    seconds_f64(value, name).map(duration_from_secs)
}

/// A non-negative finite number of seconds as a duration, rounded to the
/// nanosecond (so that `0.001 * n` is exactly `n` ms), saturating at 584 years.
pub(crate) fn duration_from_secs(secs: f64) -> Duration {
    let nanos = (secs * 1e9).round();
    if nanos >= u64::MAX as f64 {
        Duration::from_nanos(u64::MAX)
    } else {
        Duration::from_nanos(nanos as u64)
    }
}

/// Nanoseconds as float seconds: one correctly rounded division, so that
/// `round(seconds * 1e9)` gives the nanoseconds back exactly (below 2^53 ns).
pub(crate) fn secs_from_nanos(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

/// A duration as float seconds, rounded as [`secs_from_nanos`].
pub(crate) fn secs(duration: Duration) -> f64 {
    secs_from_nanos(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX))
}

fn is_timedelta(value: &Bound<'_, PyAny>) -> PyResult<bool> {
    static TIMEDELTA: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let class = TIMEDELTA.import(value.py(), "datetime", "timedelta")?;
    value.is_instance(class)
}

/// A policy's `name=` argument: a `str` (default `default`).
pub(crate) fn name_arg(
    py: Python<'_>,
    name: Option<&Bound<'_, PyAny>>,
    default: &str,
) -> PyResult<Py<PyString>> {
    match given(name) {
        Some(name) => Ok(string(name, "name")?.clone().unbind()),
        None => Ok(PyString::new(py, default).unbind()),
    }
}

/// An optional argument, if it was given and is not None.
pub(crate) fn given<'a, 'py>(
    value: Option<&'a Bound<'py, PyAny>>,
) -> Option<&'a Bound<'py, PyAny>> {
    value.filter(|v| !v.is_none())
}

/// A `str` argument.
pub(crate) fn string<'a, 'py>(
    value: &'a Bound<'py, PyAny>,
    name: &str,
) -> PyResult<&'a Bound<'py, PyString>> {
    value
        .cast::<PyString>()
        .map_err(|_| wrong_type(name, "a str", value))
}

/// A callable argument (a listener, a decorated function).
pub(crate) fn callable(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Py<PyAny>> {
    if !value.is_callable() {
        return Err(wrong_type(name, "a callable", value));
    }
    Ok(value.clone().unbind())
}
