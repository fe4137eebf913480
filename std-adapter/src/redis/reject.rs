//! Rejections and refusals in the core's types, for decisions made in Redis.
//!
//! The core's [`Rejection`] and [`NotUntil`] are made only by its state
//! machines, which is what keeps them honest. A decision taken by a script is
//! turned into one the same way: a throwaway breaker or limiter of the core,
//! on the stack, is driven to the same decision at chosen instants. It costs
//! a few uncontended atomic operations and no allocation.

use std::time::Duration;

use seawall_core::breaker::{BreakerConfig, CircuitBreaker, Rejection};
use seawall_core::rate_limit::{NotUntil, Quota, RateLimiter};
use seawall_core::time::Instant;

/// Far enough for any open duration (146 years), near enough to add to.
const HORIZON: u64 = 1 << 62;

/// One failure opens it for `HORIZON`; one probe fills it.
static FACTORY: BreakerConfig = match BreakerConfig::builder()
    .failure_threshold(1)
    .half_open_max_calls(1)
    .open_duration(Duration::from_nanos(HORIZON))
    .build()
{
    Ok(config) => config,
    Err(_) => panic!("the factory configuration is valid"),
};

/// A quota that is always valid (a `wait` in range makes another just as valid).
const ONE_NANOSECOND: Quota = match Quota::new(1, Duration::from_nanos(1), 1) {
    Ok(quota) => quota,
    Err(_) => panic!("one per nanosecond is a valid quota"),
};

/// A breaker of the factory, opened at instant zero until `HORIZON`.
fn opened() -> CircuitBreaker {
    let breaker = CircuitBreaker::new(&FACTORY);
    if let Ok(permit) = breaker.try_acquire(&Instant::ZERO) {
        let _ = permit.failure(&Instant::ZERO);
    }
    breaker
}

/// The first rejection of `breaker` at `at`, failing whatever it admits.
fn rejection_at(breaker: &CircuitBreaker, at: Instant) -> Rejection {
    loop {
        match breaker.try_acquire(&at) {
            Err(rejection) => return rejection,
            // Not reached for the breakers made here; failing the call makes
            // the next try a rejection.
            Ok(permit) => drop(permit.failure(&at)),
        }
    }
}

/// The breaker is open for `retry_after` more.
pub(crate) fn open(retry_after: Duration) -> Rejection {
    let remaining = u64::try_from(retry_after.as_nanos())
        .unwrap_or(HORIZON)
        .clamp(1, HORIZON);
    rejection_at(&opened(), Instant::from_nanos(HORIZON - remaining))
}

/// The breaker is half-open and every probe slot is taken.
pub(crate) fn half_open_full() -> Rejection {
    let breaker = opened();
    let end = Instant::from_nanos(HORIZON);
    // The probe holds the only slot; the ticket is never returned.
    let _probe = breaker.try_acquire_ticket(&end);
    rejection_at(&breaker, end)
}

/// The breaker was forced open.
pub(crate) fn forced_open() -> Rejection {
    let breaker = CircuitBreaker::new(&FACTORY);
    let _ = breaker.force_open();
    rejection_at(&breaker, Instant::ZERO)
}

/// A rate limiter's refusal at `now`, admitted `retry_after` later.
pub(crate) fn not_until(retry_after: Duration, now: Instant) -> NotUntil {
    let wait = retry_after.clamp(Duration::from_nanos(1), Duration::from_nanos(HORIZON));
    // Interval and tolerance are `wait`: the first check fills it, the next
    // is refused until `now + wait`.
    let limiter = RateLimiter::new(Quota::new(1, wait, 1).unwrap_or(ONE_NANOSECOND));
    loop {
        if let Err(not_until) = limiter.check(&now) {
            return not_until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seawall_core::breaker::RejectReason;

    #[test]
    fn rejections_say_what_the_script_decided() {
        let rejection = open(Duration::from_millis(1500));
        assert_eq!(rejection.reason(), RejectReason::Open);
        assert_eq!(rejection.retry_after(), Some(Duration::from_millis(1500)));
        assert_eq!(
            open(Duration::ZERO).retry_after(),
            Some(Duration::from_nanos(1))
        );
        assert_eq!(
            open(Duration::MAX).retry_after(),
            Some(Duration::from_nanos(HORIZON))
        );
        let full = half_open_full();
        assert_eq!(
            (full.reason(), full.retry_after()),
            (RejectReason::HalfOpenFull, None)
        );
        let forced = forced_open();
        assert_eq!(
            (forced.reason(), forced.retry_after()),
            (RejectReason::ForcedOpen, None)
        );
    }

    #[test]
    fn refusals_count_from_the_time_given() {
        let now = Instant::from_secs(1000);
        let refused = not_until(Duration::from_millis(40), now);
        assert_eq!(refused.retry_after(), Duration::from_millis(40));
        assert_eq!(refused.earliest_possible(), now + Duration::from_millis(40));
        assert_eq!(
            not_until(Duration::ZERO, now).retry_after(),
            Duration::from_nanos(1)
        );
    }
}
