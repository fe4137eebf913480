//! Waiting for a turn within `max_wait`: sleep this long, or give up now.
//!
//! A rate limiter says when a refused call's turn comes; a full bulkhead
//! cannot (a place frees up when some call ends). A caller willing to wait at
//! most `max_wait` starts a [`Wait`] and, after each refusal, asks
//! [`Wait::next`]: [`Turn::Sleep`] for a while and try again, or
//! [`Turn::GiveUp`] and return the refusal. Every adapter's wait loop is this
//! loop; only the sleeping is theirs.
//!
//! The patience is measured against the clock from the start of the wait,
//! not added up from the waits the refusals announced: a caller whose turn is
//! taken by another while it sleeps is still refused when its `max_wait` is
//! spent. A turn that would come after the end of the wait gives up at once,
//! rather than sleeping first. Arithmetic saturates: a `max_wait` of
//! [`Duration::MAX`] waits forever, in sleeps of at most [`MAX_SLEEP`] so that
//! every runtime's timer can hold them; and a refusal that names no later
//! time (only possible at the end of the clock's range) gives up rather than
//! asking again at once.
//!
//! ```
//! use core::time::Duration;
//! use seawall_core::time::ManualClock;
//! use seawall_core::wait::{Turn, Wait};
//!
//! let clock = ManualClock::new();
//! let wait = Wait::start(Duration::from_millis(500), &clock);
//! // A rate limiter's turn in 300 ms: within the wait.
//! assert_eq!(wait.next(Some(Duration::from_millis(300)), &clock), Turn::Sleep(Duration::from_millis(300)));
//! clock.advance(Duration::from_millis(300));
//! // Another caller took that turn; the next is 300 ms later, past the 500 ms.
//! assert_eq!(wait.next(Some(Duration::from_millis(300)), &clock), Turn::GiveUp);
//! // A full bulkhead names no time: sleep until woken, at most what is left.
//! assert_eq!(wait.next(None, &clock), Turn::Sleep(Duration::from_millis(200)));
//! ```

use core::time::Duration;

use crate::time::{Clock, Instant, duration_nanos};

/// The longest single sleep [`Wait::next`] asks for: a longer wait is slept in
/// turns of this, each followed by a new try, so no runtime's timer overflows.
pub const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// One caller's wait for its turn: when its patience ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Wait {
    /// `None` for a `max_wait` of zero: give up at the first refusal, without
    /// reading the clock.
    deadline: Option<Instant>,
    /// `max_wait` in nanoseconds: no sleep is longer, even on a clock that
    /// went backwards.
    max_wait: u64,
}

/// What to do after a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Turn {
    /// Sleep this long (or until woken, for a bulkhead), then try again.
    Sleep(Duration),
    /// The turn will not come within the wait: return the refusal.
    GiveUp,
}

impl Wait {
    /// A wait of at most `max_wait` from now. Reads the clock only when
    /// `max_wait` is more than zero.
    pub fn start<K: Clock + ?Sized>(max_wait: Duration, clock: &K) -> Wait {
        let deadline = if max_wait.is_zero() {
            None
        } else {
            Some(clock.now().saturating_add(max_wait))
        };
        Wait {
            deadline,
            max_wait: duration_nanos(max_wait),
        }
    }

    /// When the wait ends (`None`: it gives up at the first refusal);
    /// [`Instant::MAX`] for a wait without end.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// What to do after a refusal: `retry_after` is how long from now the
    /// refusal said the turn comes (a rate limiter's wait), or `None` when it
    /// cannot say (a full bulkhead: sleep until woken or the wait ends).
    pub fn next<K: Clock + ?Sized>(&self, retry_after: Option<Duration>, clock: &K) -> Turn {
        let Some(deadline) = self.deadline else {
            return Turn::GiveUp;
        };
        let now = clock.now();
        let remaining = duration_nanos(deadline - now).min(self.max_wait);
        let sleep = match retry_after {
            // Refused, yet due now: the end of the clock's range, where no
            // turn comes any more.
            Some(after) if after.is_zero() => return Turn::GiveUp,
            Some(after) => {
                let after = duration_nanos(after);
                if after > remaining {
                    return Turn::GiveUp;
                }
                after
            }
            None if remaining == 0 => return Turn::GiveUp,
            None => remaining,
        };
        Turn::Sleep(Duration::from_nanos(sleep).min(MAX_SLEEP))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn no_patience_gives_up_at_once() {
        let clock = ManualClock::new();
        let wait = Wait::start(Duration::ZERO, &clock);
        assert_eq!(wait.deadline(), None);
        assert_eq!(wait.next(Some(MS(1)), &clock), Turn::GiveUp);
        assert_eq!(wait.next(None, &clock), Turn::GiveUp);
    }

    #[test]
    fn a_turn_within_the_wait_is_slept_for_and_one_beyond_it_gives_up_at_once() {
        let clock = ManualClock::starting_at(Instant::from_secs(10));
        let wait = Wait::start(MS(100), &clock);
        assert_eq!(wait.next(Some(MS(100)), &clock), Turn::Sleep(MS(100)));
        assert_eq!(wait.next(Some(MS(101)), &clock), Turn::GiveUp);
        clock.advance(MS(60));
        // Measured against the clock: 40 ms are left, whatever was announced.
        assert_eq!(wait.next(Some(MS(40)), &clock), Turn::Sleep(MS(40)));
        assert_eq!(wait.next(Some(MS(41)), &clock), Turn::GiveUp);
        assert_eq!(wait.next(None, &clock), Turn::Sleep(MS(40)));
        clock.advance(MS(40));
        assert_eq!(wait.next(None, &clock), Turn::GiveUp);
        assert_eq!(
            wait.next(Some(Duration::from_nanos(1)), &clock),
            Turn::GiveUp
        );
    }

    #[test]
    fn a_refusal_due_now_gives_up_rather_than_spinning() {
        let clock = ManualClock::new();
        let wait = Wait::start(Duration::MAX, &clock);
        assert_eq!(wait.next(Some(Duration::ZERO), &clock), Turn::GiveUp);
    }

    #[test]
    fn forever_saturates_and_sleeps_in_bounded_turns() {
        let clock = ManualClock::starting_at(Instant::MAX - MS(5));
        let wait = Wait::start(Duration::MAX, &clock);
        assert_eq!(wait.deadline(), Some(Instant::MAX));
        assert_eq!(wait.next(None, &clock), Turn::Sleep(MS(5)));
        let clock = ManualClock::new();
        let wait = Wait::start(Duration::MAX, &clock);
        assert_eq!(wait.next(None, &clock), Turn::Sleep(MAX_SLEEP));
        assert_eq!(
            wait.next(Some(Duration::from_secs(86_400 * 365)), &clock),
            Turn::Sleep(MAX_SLEEP)
        );
        assert_eq!(
            wait.next(Some(Duration::MAX), &clock),
            Turn::Sleep(MAX_SLEEP)
        );
    }

    #[test]
    fn a_clock_going_backwards_waits_no_longer_than_max_wait_from_the_start() {
        let clock = ManualClock::starting_at(Instant::from_secs(10));
        let wait = Wait::start(MS(100), &clock);
        clock.set(Instant::from_secs(5));
        assert_eq!(wait.next(None, &clock), Turn::Sleep(MS(100)));
    }
}
