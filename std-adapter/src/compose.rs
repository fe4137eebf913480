//! The core's [composition table](seawall_core::compose) for errors whose type
//! the adapter does not know: a tower stack's [`BoxError`](crate::BoxError)
//! holding a seawall policy's refusal, or a refusal type itself.
//!
//! `Policy` and `seawall::Error` know their stops by type; tower layers only
//! see `S::Error`. A layer finds out whether that error is another seawall
//! layer's stop (a [`Rejection`], an [`Elapsed`], a [`BulkheadFull`], a
//! [`NotUntil`], directly, in a box, or in the `source()` chain of an error
//! that wraps one), and then asks the core's table what it counts as.

use std::any::Any;
use std::error::Error as StdError;
use std::time::Duration;

use seawall_core::breaker::Rejection;
use seawall_core::bulkhead::BulkheadFull;
use seawall_core::call::Elapsed;
use seawall_core::compose::Stop;
use seawall_core::rate_limit::NotUntil;
use seawall_core::retry::Failure;

/// A seawall policy's stop, with the wait it announced.
pub(crate) type Stopped = (Stop, Option<Duration>);

/// The stop that `error` is, or wraps, if any.
pub(crate) fn stop_of<E: 'static>(error: &E) -> Option<Stopped> {
    let any: &dyn Any = error;
    if let Some(boxed) = any.downcast_ref::<crate::BoxError>() {
        return stop_in_chain(&**boxed);
    }
    if let Some(boxed) = any.downcast_ref::<Box<dyn StdError + Send + 'static>>() {
        return stop_in_chain(&**boxed);
    }
    if let Some(boxed) = any.downcast_ref::<Box<dyn StdError + 'static>>() {
        return stop_in_chain(&**boxed);
    }
    stop_in_any(any)
}

/// The stop that `error` or one of its sources is, if any.
pub(crate) fn stop_in_chain(error: &(dyn StdError + 'static)) -> Option<Stopped> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(stop) = stop_in_error(error) {
            return Some(stop);
        }
        next = error.source();
    }
    None
}

fn stop_in_error(error: &(dyn StdError + 'static)) -> Option<Stopped> {
    if let Some(rejection) = error.downcast_ref::<Rejection>() {
        return Some(rejected(rejection));
    }
    if let Some(not_until) = error.downcast_ref::<NotUntil>() {
        return Some((Stop::RateLimited, Some(not_until.retry_after())));
    }
    if error.is::<BulkheadFull>() {
        return Some((Stop::BulkheadFull, None));
    }
    if error.is::<Elapsed>() {
        return Some((Stop::Timeout, None));
    }
    None
}

fn stop_in_any(any: &dyn Any) -> Option<Stopped> {
    if let Some(rejection) = any.downcast_ref::<Rejection>() {
        return Some(rejected(rejection));
    }
    if let Some(not_until) = any.downcast_ref::<NotUntil>() {
        return Some((Stop::RateLimited, Some(not_until.retry_after())));
    }
    if any.is::<BulkheadFull>() {
        return Some((Stop::BulkheadFull, None));
    }
    if any.is::<Elapsed>() {
        return Some((Stop::Timeout, None));
    }
    None
}

fn rejected(rejection: &Rejection) -> Stopped {
    (Stop::rejected(rejection.reason()), rejection.retry_after())
}

/// What a retry makes of `error`: the table's answer for a stop, and a
/// retryable failure for any other error.
pub(crate) fn failure_of<E: 'static>(error: &E) -> Failure {
    match stop_of(error) {
        Some((stop, retry_after)) => stop.retry_failure(retry_after),
        None => Failure::retryable(),
    }
}
