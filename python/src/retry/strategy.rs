//! The backoff strategy of `Retry(...)`, from its keyword arguments.

use std::time::Duration;

use pyo3::prelude::*;
use seawall_core::backoff::Strategy;

use crate::errors::{given, invalid, number, seconds, string};

fn only_for(name: &str, strategy: &str) -> PyErr {
    invalid(name, format!("does not apply to strategy={strategy:?}"))
}

/// The arguments that shape a strategy, by the core's field names.
pub(crate) struct Shape<'a, 'py> {
    pub(crate) delay: Option<&'a Bound<'py, PyAny>>,
    pub(crate) initial_delay: Option<&'a Bound<'py, PyAny>>,
    pub(crate) base_delay: Option<&'a Bound<'py, PyAny>>,
    pub(crate) max_delay: Option<&'a Bound<'py, PyAny>>,
    pub(crate) multiplier: Option<&'a Bound<'py, PyAny>>,
    pub(crate) increment: Option<&'a Bound<'py, PyAny>>,
}

/// `strategy=` and the arguments that shape it, checked against each other
/// (the core validates the values). Each argument is the core's field of the
/// same name; one that the strategy has not is an error.
pub(crate) fn strategy(
    strategy: Option<&Bound<'_, PyAny>>,
    shape: Shape<'_, '_>,
) -> PyResult<Strategy> {
    let name = match given(strategy) {
        Some(v) => string(v, "strategy")?.to_string(),
        None => "exponential".to_owned(),
    };
    let secs = |value: Option<&Bound<'_, PyAny>>, field: &str| -> PyResult<Option<Duration>> {
        given(value).map(|v| seconds(v, field)).transpose()
    };
    let delay = secs(shape.delay, "delay")?;
    let initial = secs(shape.initial_delay, "initial_delay")?;
    let base = secs(shape.base_delay, "base_delay")?;
    let max = secs(shape.max_delay, "max_delay")?;
    let increment = secs(shape.increment, "increment")?;
    let multiplier = given(shape.multiplier)
        .map(|v| number(v, "multiplier"))
        .transpose()?;
    let given_fields = [
        ("delay", delay.is_some()),
        ("initial_delay", initial.is_some()),
        ("base_delay", base.is_some()),
        ("max_delay", max.is_some()),
        ("multiplier", multiplier.is_some()),
        ("increment", increment.is_some()),
    ];
    let takes: &[&str] = match name.as_str() {
        "exponential" => &["initial_delay", "max_delay", "multiplier"],
        "fixed" => &["delay"],
        "linear" => &["initial_delay", "increment", "max_delay"],
        "decorrelated_jitter" => &["base_delay", "max_delay"],
        other => {
            return Err(invalid(
                "strategy",
                format!(
                    "must be \"exponential\", \"fixed\", \"linear\" or \"decorrelated_jitter\", not {other:?}"
                ),
            ));
        }
    };
    if let Some((field, _)) = given_fields
        .iter()
        .find(|(field, given)| *given && !takes.contains(field))
    {
        return Err(only_for(field, &name));
    }
    let one_second = Duration::from_secs(1);
    let first = initial.unwrap_or(one_second);
    let default_max = |first: Duration| Duration::from_secs(30).max(first);
    Ok(match name.as_str() {
        "exponential" => Strategy::Exponential {
            initial_delay: first,
            multiplier: multiplier.unwrap_or(2.0),
            max_delay: max.unwrap_or(default_max(first)),
        },
        "fixed" => Strategy::Fixed {
            delay: delay.unwrap_or(one_second),
        },
        "linear" => Strategy::Linear {
            initial_delay: first,
            increment: increment.unwrap_or(first),
            max_delay: max.unwrap_or(default_max(first)),
        },
        _ => {
            let base = base.unwrap_or(one_second);
            Strategy::DecorrelatedJitter {
                base_delay: base,
                max_delay: max.unwrap_or(default_max(base)),
            }
        }
    })
}
