//! The backoff strategy of `Retry(...)`, from its keyword arguments.

use std::time::Duration;

use pyo3::prelude::*;
use seawall_core::backoff::Strategy;

use crate::errors::{given, invalid, number, seconds, string};

fn only_for(name: &str, strategy: &str) -> PyErr {
    invalid(name, format!("does not apply to strategy={strategy:?}"))
}

/// `strategy=` and the arguments that shape it, checked against each other
/// (the core validates the values).
pub(crate) fn strategy(
    strategy: Option<&Bound<'_, PyAny>>,
    initial_delay: Option<&Bound<'_, PyAny>>,
    max_delay: Option<&Bound<'_, PyAny>>,
    multiplier: Option<&Bound<'_, PyAny>>,
    increment: Option<&Bound<'_, PyAny>>,
) -> PyResult<Strategy> {
    let name = match given(strategy) {
        Some(v) => string(v, "strategy")?.to_string(),
        None => "exponential".to_owned(),
    };
    let initial = match given(initial_delay) {
        Some(v) => seconds(v, "initial_delay")?,
        None => Duration::from_secs(1),
    };
    let max = match given(max_delay) {
        Some(v) => Some(seconds(v, "max_delay")?),
        None => None,
    };
    let multiplier = match given(multiplier) {
        Some(v) => Some(number(v, "multiplier")?),
        None => None,
    };
    let increment = match given(increment) {
        Some(v) => Some(seconds(v, "increment")?),
        None => None,
    };
    let default_max = Duration::from_secs(30).max(initial);
    let strategy = match name.as_str() {
        "exponential" => {
            if increment.is_some() {
                return Err(only_for("increment", &name));
            }
            Strategy::Exponential {
                initial,
                multiplier: multiplier.unwrap_or(2.0),
                max: max.unwrap_or(default_max),
            }
        }
        "fixed" => {
            if max.is_some() {
                return Err(only_for("max_delay", &name));
            }
            if multiplier.is_some() {
                return Err(only_for("multiplier", &name));
            }
            if increment.is_some() {
                return Err(only_for("increment", &name));
            }
            Strategy::Fixed { delay: initial }
        }
        "linear" => {
            if multiplier.is_some() {
                return Err(only_for("multiplier", &name));
            }
            Strategy::Linear {
                initial,
                increment: increment.unwrap_or(initial),
                max: max.unwrap_or(default_max),
            }
        }
        "decorrelated_jitter" => {
            if multiplier.is_some() {
                return Err(only_for("multiplier", &name));
            }
            if increment.is_some() {
                return Err(only_for("increment", &name));
            }
            Strategy::DecorrelatedJitter {
                base: initial,
                max: max.unwrap_or(default_max),
            }
        }
        other => {
            return Err(invalid(
                "strategy",
                format!(
                    "must be \"exponential\", \"fixed\", \"linear\" or \"decorrelated_jitter\", not {other:?}"
                ),
            ));
        }
    };
    Ok(strategy)
}
