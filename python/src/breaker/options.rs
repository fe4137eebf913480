//! The breaker's options that are not the core configuration's: its sliding
//! window (allocated here, on the heap) and its listeners.

use pyo3::prelude::*;
use seawall_core::breaker::{AnyWindow, Bucket, CountWindow, Slot, TimeWindow};

use super::Window;
use crate::errors::{config_error, int_in, invalid, seconds, wrong_type};

/// The most calls a count window may hold, and buckets a time window may have:
/// their storage is allocated up front.
const MAX_WINDOW: u64 = 1_000_000;

pub(super) fn listener(callback: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    if !callback.is_callable() {
        return Err(wrong_type("on_state_change", "a callable", callback));
    }
    Ok(callback.clone().unbind())
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
