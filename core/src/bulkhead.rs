//! A bulkhead: a limit on the calls in flight at once.
//!
//! One atomic count with a maximum. [`Bulkhead::try_enter`] admits a call and
//! hands out a [`BulkheadPermit`] that gives the place back when dropped, however
//! the call ends (returned, failed, panicked, cancelled). Nothing here waits: a
//! full bulkhead answers [`BulkheadFull`] at once, and the adapters add queues
//! and maximum waits on top.

use core::fmt;

use crate::error::ConfigError;
use crate::sync::{AtomicU32, Ordering};

/// A limit of `max_concurrent` calls in flight.
///
/// ```
/// use seawall_core::bulkhead::Bulkhead;
///
/// static BULKHEAD: Bulkhead = match Bulkhead::new(2) {
///     Ok(bulkhead) => bulkhead,
///     Err(_) => panic!("invalid bulkhead"),
/// };
/// let first = BULKHEAD.try_enter().unwrap();
/// let second = BULKHEAD.try_enter().unwrap();
/// assert!(BULKHEAD.try_enter().is_err());
/// drop(first);
/// assert_eq!(BULKHEAD.in_flight(), 1);
/// let third = BULKHEAD.try_enter().unwrap();
/// # drop((second, third));
/// ```
#[derive(Debug)]
pub struct Bulkhead {
    in_flight: AtomicU32,
    max: u32,
}

impl Bulkhead {
    loom_const_fn! {
        /// A bulkhead admitting up to `max_concurrent` calls at once (at least 1).
        pub fn new(max_concurrent: u32) -> Result<Self, ConfigError> {
            if max_concurrent == 0 {
                return Err(ConfigError::new("max_concurrent", "must be at least 1"));
            }
            Ok(Self { in_flight: AtomicU32::new(0), max: max_concurrent })
        }
    }

    /// The most calls admitted at once.
    pub fn max_concurrent(&self) -> u32 {
        self.max
    }

    /// The calls in flight now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// The places free now.
    pub fn available(&self) -> u32 {
        self.max.saturating_sub(self.in_flight())
    }

    /// Admits a call if a place is free; the permit gives it back when dropped.
    #[inline]
    pub fn try_enter(&self) -> Result<BulkheadPermit<'_>, BulkheadFull> {
        match self.enter_raw() {
            Ok(()) => Ok(BulkheadPermit { bulkhead: self }),
            Err(full) => Err(full),
        }
    }

    /// [`try_enter`](Self::try_enter) for adapters that keep the bulkhead in an
    /// `Arc` and need an owned [`BulkheadTicket`] instead of a borrowing permit.
    #[inline]
    pub fn try_enter_ticket(&self) -> Result<BulkheadTicket, BulkheadFull> {
        match self.enter_raw() {
            Ok(()) => Ok(BulkheadTicket { _private: () }),
            Err(full) => Err(full),
        }
    }

    /// Gives back the place of a ticket issued by this bulkhead.
    #[inline]
    pub fn release(&self, ticket: BulkheadTicket) {
        let BulkheadTicket { _private: () } = ticket;
        self.exit();
    }

    /// Wraps a ticket of this bulkhead back into a permit.
    pub fn permit(&self, ticket: BulkheadTicket) -> BulkheadPermit<'_> {
        let BulkheadTicket { _private: () } = ticket;
        BulkheadPermit { bulkhead: self }
    }

    #[inline]
    fn enter_raw(&self) -> Result<(), BulkheadFull> {
        // A CAS loop rather than fetch_add-then-undo: the count never shows more
        // than `max`, even for an instant.
        let mut current = self.in_flight.load(Ordering::Relaxed);
        loop {
            if current >= self.max {
                return Err(BulkheadFull {
                    max_concurrent: self.max,
                });
            }
            match self.in_flight.compare_exchange_weak(
                current,
                current + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => current = actual,
            }
        }
    }

    #[inline]
    fn exit(&self) {
        let previous = self.in_flight.fetch_sub(1, Ordering::Release);
        debug_assert!(previous > 0, "a bulkhead place was given back twice");
    }
}

/// A place in a [`Bulkhead`], given back when dropped: the bulkhead's permit.
#[must_use = "dropping the permit at once gives the place back"]
#[derive(Debug)]
pub struct BulkheadPermit<'a> {
    bulkhead: &'a Bulkhead,
}

impl<'a> BulkheadPermit<'a> {
    /// The bulkhead this permit holds a place in.
    pub fn bulkhead(&self) -> &'a Bulkhead {
        self.bulkhead
    }

    /// Turns the permit into an owned [`BulkheadTicket`], to be given back through
    /// [`Bulkhead::release`] later.
    pub fn into_ticket(self) -> BulkheadTicket {
        core::mem::forget(self);
        BulkheadTicket { _private: () }
    }
}

impl Drop for BulkheadPermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.bulkhead.exit();
    }
}

/// A place in a bulkhead without a borrow of it, for adapters that hold the
/// bulkhead in an `Arc` (a tower response future, a Python context manager).
///
/// It must go back to the bulkhead that issued it exactly once, through
/// [`Bulkhead::release`]; it is neither `Copy` nor `Clone`, so it cannot be given
/// back twice. It has no `Drop`: an adapter wraps it in its own permit.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a ticket must be released, or its place stays taken"]
pub struct BulkheadTicket {
    _private: (),
}

/// A call refused because every place is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BulkheadFull {
    /// The bulkhead's maximum.
    pub max_concurrent: u32,
}

impl fmt::Display for BulkheadFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bulkhead is full ({} calls in flight)",
            self.max_concurrent
        )
    }
}

impl core::error::Error for BulkheadFull {}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_maximum() {
        let bulkhead = Bulkhead::new(3).unwrap();
        assert_eq!(bulkhead.max_concurrent(), 3);
        let guards: [_; 3] = core::array::from_fn(|_| bulkhead.try_enter().unwrap());
        assert_eq!(bulkhead.in_flight(), 3);
        assert_eq!(bulkhead.available(), 0);
        assert_eq!(
            bulkhead.try_enter().unwrap_err(),
            BulkheadFull { max_concurrent: 3 }
        );
        assert_eq!(bulkhead.in_flight(), 3, "a refusal takes nothing");
        drop(guards);
        assert_eq!(bulkhead.in_flight(), 0);
        assert_eq!(bulkhead.available(), 3);
    }

    #[test]
    fn tickets_and_permits_convert() {
        let bulkhead = Bulkhead::new(1).unwrap();
        let ticket = bulkhead.try_enter_ticket().unwrap();
        assert!(bulkhead.try_enter_ticket().is_err());
        let permit = bulkhead.permit(ticket);
        assert!(core::ptr::eq(permit.bulkhead(), &bulkhead));
        assert_eq!(bulkhead.in_flight(), 1);
        let ticket = permit.into_ticket();
        assert_eq!(bulkhead.in_flight(), 1, "into_ticket keeps the place");
        bulkhead.release(ticket);
        assert_eq!(bulkhead.in_flight(), 0);
        assert!(bulkhead.try_enter().is_ok());
    }

    #[test]
    fn a_panicking_call_gives_its_place_back() {
        extern crate std;
        let bulkhead = Bulkhead::new(1).unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = bulkhead.try_enter().unwrap();
            panic!("the call panicked");
        }));
        assert!(result.is_err());
        assert_eq!(bulkhead.in_flight(), 0);
    }

    #[test]
    fn zero_is_refused() {
        let error = Bulkhead::new(0).unwrap_err();
        assert_eq!(error.field(), "max_concurrent");
        assert_eq!(error.reason(), "must be at least 1");
        assert!(Bulkhead::new(u32::MAX).is_ok());
    }
}
