//! The breaker's options: those both breakers share, and its sliding window
//! (allocated here, on the heap).

use pyo3::prelude::*;
use seawall_core::breaker::{
    AnyWindow, BreakerConfig, BreakerConfigBuilder, Bucket, CountWindow, Slot, TimeWindow,
};

use super::Window;
use crate::errors::{config_error, count, given, int_in, invalid, number, seconds};

/// The most calls a count window may hold, and buckets a time window may have
/// (their storage is allocated up front): the core's, as in every binding.
const MAX_WINDOW: u64 = seawall_core::breaker::MAX_WINDOW_LEN as u64;

/// The options of the consecutive-failure rule and of the open and half-open
/// states, which the local and the shared breaker both take, on a builder.
pub(crate) fn trip_options(
    failure_threshold: Option<&Bound<'_, PyAny>>,
    success_threshold: Option<&Bound<'_, PyAny>>,
    timeout: Option<&Bound<'_, PyAny>>,
    half_open_max_calls: Option<&Bound<'_, PyAny>>,
    open_duration_multiplier: Option<&Bound<'_, PyAny>>,
    max_open_duration: Option<&Bound<'_, PyAny>>,
    max_wait_in_half_open: Option<&Bound<'_, PyAny>>,
) -> PyResult<BreakerConfigBuilder> {
    let mut b = BreakerConfig::builder();
    if let Some(v) = given(failure_threshold) {
        b = b.failure_threshold(count(v, "failure_threshold")?);
    }
    if let Some(v) = given(success_threshold) {
        b = b.success_threshold(count(v, "success_threshold")?);
    }
    if let Some(v) = given(timeout) {
        b = b.open_duration(seconds(v, "timeout")?);
    }
    if let Some(v) = given(half_open_max_calls) {
        b = b.half_open_max_calls(count(v, "half_open_max_calls")?);
    }
    if let Some(v) = given(open_duration_multiplier) {
        b = b.open_duration_multiplier(number(v, "open_duration_multiplier")?);
    }
    if let Some(v) = given(max_open_duration) {
        b = b.max_open_duration(seconds(v, "max_open_duration")?);
    }
    if let Some(v) = given(max_wait_in_half_open) {
        b = b.max_wait_in_half_open(seconds(v, "max_wait_in_half_open")?);
    }
    Ok(b)
}

pub(super) fn window(
    size: Option<&Bound<'_, PyAny>>,
    duration: Option<&Bound<'_, PyAny>>,
    buckets: Option<&Bound<'_, PyAny>>,
) -> PyResult<Window> {
    match (size, duration) {
        (Some(_), Some(_)) => Err(invalid(
            "window_size",
            "give window_size (count-based) or window_duration (time-based), not both",
        )),
        (Some(size), None) => {
            if buckets.is_some() {
                return Err(invalid("window_buckets", "only goes with window_duration"));
            }
            let size = int_in(size, "window_size", 1, MAX_WINDOW)?;
            let slots = (0..size).map(|_| Slot::new()).collect::<Box<[Slot]>>();
            Ok(AnyWindow::Count(
                CountWindow::with_storage(slots).map_err(config_error)?,
            ))
        }
        (None, Some(duration)) => {
            let buckets = match buckets {
                Some(b) => int_in(b, "window_buckets", 1, MAX_WINDOW)?,
                None => 10,
            };
            let duration = seconds(duration, "window_duration")?;
            let storage = (0..buckets)
                .map(|_| Bucket::new())
                .collect::<Box<[Bucket]>>();
            Ok(AnyWindow::Time(
                TimeWindow::with_storage(storage, duration).map_err(config_error)?,
            ))
        }
        (None, None) => {
            if buckets.is_some() {
                return Err(invalid("window_buckets", "only goes with window_duration"));
            }
            Ok(AnyWindow::None)
        }
    }
}
