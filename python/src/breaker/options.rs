//! The breaker's options: those both breakers share, and its sliding window
//! (allocated here, on the heap).

use pyo3::prelude::*;
use std::time::Duration;

use seawall_core::breaker::{
    AnyWindow, BreakerConfig, BreakerConfigBuilder, Bucket, CountWindow, Slot, TimeSlices,
    TimeWindow,
};

use super::Window;
use crate::errors::{config_error, count, given, int_in, invalid, number, ratio, seconds};

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

/// The options of the rate rule (a windowed breaker's), on a builder.
pub(crate) fn rate_options(
    mut b: BreakerConfigBuilder,
    failure_rate_threshold: Option<&Bound<'_, PyAny>>,
    slow_call_rate_threshold: Option<&Bound<'_, PyAny>>,
    slow_call_duration: Option<&Bound<'_, PyAny>>,
    minimum_calls: Option<&Bound<'_, PyAny>>,
) -> PyResult<BreakerConfigBuilder> {
    if let Some(v) = given(failure_rate_threshold) {
        b = b.failure_rate_threshold(ratio(v, "failure_rate_threshold")?);
    }
    if let Some(v) = given(slow_call_rate_threshold) {
        b = b.slow_call_rate_threshold(ratio(v, "slow_call_rate_threshold")?);
    }
    if let Some(v) = given(slow_call_duration) {
        b = b.slow_call_duration(seconds(v, "slow_call_duration")?);
    }
    if let Some(v) = given(minimum_calls) {
        b = b.minimum_calls(count(v, "minimum_calls")?);
    }
    Ok(b)
}

/// The window the arguments ask for, checked, before its storage exists:
/// the local breaker allocates it, the shared one keeps it in Redis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WindowArgs {
    /// The consecutive-failure rule.
    None,
    /// The last N calls.
    Count(usize),
    /// The last T, in B buckets.
    Time(Duration, usize),
}

/// Checks the window arguments: `window_size` (count-based) or
/// `window_duration` with `window_buckets` (time-based), or none.
pub(crate) fn window_args(
    size: Option<&Bound<'_, PyAny>>,
    duration: Option<&Bound<'_, PyAny>>,
    buckets: Option<&Bound<'_, PyAny>>,
) -> PyResult<WindowArgs> {
    match (size, duration) {
        (Some(_), Some(_)) => Err(invalid(
            "window_size",
            "give window_size (count-based) or window_duration (time-based), not both",
        )),
        (Some(size), None) => {
            if buckets.is_some() {
                return Err(invalid("window_buckets", "only goes with window_duration"));
            }
            Ok(WindowArgs::Count(
                int_in(size, "window_size", 1, MAX_WINDOW)? as usize,
            ))
        }
        (None, Some(duration)) => {
            let buckets = match buckets {
                Some(b) => int_in(b, "window_buckets", 1, MAX_WINDOW)?,
                None => 10,
            };
            let duration = seconds(duration, "window_duration")?;
            // The same checks as the storage's (a bucket of at least 1 ms).
            TimeSlices::new(duration, buckets as usize).map_err(config_error)?;
            Ok(WindowArgs::Time(duration, buckets as usize))
        }
        (None, None) => {
            if buckets.is_some() {
                return Err(invalid("window_buckets", "only goes with window_duration"));
            }
            Ok(WindowArgs::None)
        }
    }
}

pub(super) fn window(
    size: Option<&Bound<'_, PyAny>>,
    duration: Option<&Bound<'_, PyAny>>,
    buckets: Option<&Bound<'_, PyAny>>,
) -> PyResult<Window> {
    Ok(match window_args(size, duration, buckets)? {
        WindowArgs::None => AnyWindow::None,
        WindowArgs::Count(size) => {
            let slots = (0..size).map(|_| Slot::new()).collect::<Box<[Slot]>>();
            AnyWindow::Count(CountWindow::with_storage(slots).map_err(config_error)?)
        }
        WindowArgs::Time(duration, buckets) => {
            let storage = (0..buckets)
                .map(|_| Bucket::new())
                .collect::<Box<[Bucket]>>();
            AnyWindow::Time(TimeWindow::with_storage(storage, duration).map_err(config_error)?)
        }
    })
}
