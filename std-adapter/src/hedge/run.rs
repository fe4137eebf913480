//! The loop of one hedged call: send attempts when the core says, take the
//! first answer, drop the others.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;

use seawall_core::hedge::{Failed, Hedge as Core, HedgeCall, Next};
use seawall_core::retry::Allowance;
use tokio::time::Sleep;

use crate::clock::TokioClock;
use crate::retry::ShouldRetry;

/// Ends the call in the core when the caller drops it midway: the attempts in
/// flight are counted as cancelled (their futures are dropped with the call).
struct Guard<'a> {
    core: &'a Core,
    call: HedgeCall,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.core.on_cancel(&mut self.call);
    }
}

/// What the run tells the world about: a hedge sent, a call a hedge answered.
pub(crate) trait Events {
    fn hedge_sent(&self, _attempt: u32) {}
    fn answered(&self, _attempt: u32, _cancelled: u32) {}
}

impl Events for () {}

/// Runs one hedged call: `attempt()` makes each attempt's future; the first
/// result that `classifier` does not call a failure worth another attempt is
/// returned, or the last failure once the core gives up. The attempts still in
/// flight are dropped (cancelled) when the call ends or is dropped. A success
/// pays the allowance back only if `pays` (a retry around the hedge that
/// shares the allowance pays it itself, once).
pub(crate) async fn run<F, Fut, T, E, C>(
    core: &Core,
    allowance: Allowance<'_>,
    pays: bool,
    classifier: &C,
    events: &impl Events,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: ShouldRetry<T, E>,
{
    let mut guard = Guard {
        core,
        call: core.start(&TokioClock),
    };
    // The fast path (the first attempt answers before any hedge is due)
    // allocates nothing and sets no timer: the first attempt lives here, the
    // others in a vector made on the first hedge, and the timer is set only
    // once the attempts are found waiting.
    let mut first = pin!(attempt());
    let mut first_running = true;
    let mut others: Vec<(u32, Pin<Box<Fut>>)> = Vec::new();
    let mut timer: Option<Pin<Box<Sleep>>> = None;
    loop {
        let mut wait = None;
        loop {
            match core.poll(&mut guard.call, &TokioClock, allowance) {
                Next::Send { attempt: number } => {
                    events.hedge_sent(number);
                    others.push((number, Box::pin(attempt())));
                }
                Next::Wait(duration) => {
                    wait = Some(duration);
                    break;
                }
                Next::Idle => break,
            }
        }
        let mut armed = false;
        let ended = poll_fn(|cx| {
            if first_running && let Poll::Ready(result) = first.as_mut().poll(cx) {
                return Poll::Ready(Some((1, None, result)));
            }
            for (index, (number, future)) in others.iter_mut().enumerate() {
                if let Poll::Ready(result) = future.as_mut().poll(cx) {
                    return Poll::Ready(Some((*number, Some(index), result)));
                }
            }
            if let Some(wait) = wait {
                let deadline = || tokio::time::Instant::now() + wait;
                let timer =
                    timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline())));
                if !armed {
                    timer.as_mut().reset(deadline());
                    armed = true;
                }
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
            }
            Poll::Pending
        })
        .await;
        let Some((number, index, result)) = ended else {
            continue; // the timer: ask the core again
        };
        match index {
            None => first_running = false,
            Some(index) => drop(others.swap_remove(index)),
        }
        match classifier.should_retry(&result) {
            None => {
                let pay = if pays { allowance } else { Allowance::None };
                let answer = core.on_success(&mut guard.call, number, &TokioClock, pay);
                events.answered(number, answer.cancelled);
                return result;
            }
            Some(failure) => {
                match core.on_failure(&mut guard.call, failure, &TokioClock, allowance) {
                    Failed::Send { attempt: next } => {
                        events.hedge_sent(next);
                        others.push((next, Box::pin(attempt())));
                    }
                    Failed::Continue => {}
                    Failed::GiveUp(_) => return result,
                }
            }
        }
    }
}
