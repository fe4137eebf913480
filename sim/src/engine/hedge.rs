//! Hedged groups of attempts: the core's hedge decides when the next attempt
//! of a call goes out; the first answer ends the group and cancels the
//! others, whose breaker permits are released unrecorded and places freed.
//!
//! A group is one attempt of the retry policy (the order is `retry( hedge(
//! breaker( ...)))`): its last failure goes to the retry, which may start a
//! new group after its backoff.

use seawall_core::hedge::{Failed, HedgeCall, Next};
use seawall_core::retry::{Allowance, Failure};
use seawall_core::time::Instant;

use super::event::What;
use super::{End, Engine, Kind, Phase};
use crate::policy::Stack;

/// A call's hedged group in progress.
pub(crate) struct Group {
    call: HedgeCall,
    /// The group's attempts in flight (their slots).
    running: Vec<u32>,
    /// When the hedge event scheduled for the group is due, if one is.
    armed: Option<u64>,
}

/// What bounds a configuration's hedges: the hedge's own budget, or the
/// retry's.
fn allowance(stack: &Stack) -> Allowance<'_> {
    let own = stack.hedge.as_ref().and_then(|h| h.budget.as_ref());
    let retry = stack.retry.as_ref().and_then(|r| r.budget.as_ref());
    match own.or(retry) {
        Some(budget) => Allowance::Budget(budget),
        None => Allowance::None,
    }
}

impl Engine<'_> {
    /// Begins a hedged group for call `slot`, if the configuration hedges;
    /// false otherwise.
    #[inline(always)]
    pub(super) fn begin_group(&mut self, slot: u32) -> bool {
        let Some(hedge) = &self.stack.hedge else {
            return false;
        };
        let call = hedge.core.start(&Instant::from_nanos(self.now));
        self.calls.get_mut(slot).hedge = Some(Box::new(Group {
            call,
            running: Vec::new(),
            armed: None,
        }));
        true
    }

    /// Notes attempt `attempt` as one of call `slot`'s group.
    #[inline(always)]
    pub(super) fn joined(&mut self, slot: u32, attempt: u32) {
        if self.stack.hedge.is_none() {
            return;
        }
        if let Some(group) = &mut self.calls.get_mut(slot).hedge {
            group.running.push(attempt);
        }
    }

    /// Sends what the hedge says is due now for call `slot`, and schedules
    /// the next look.
    pub(super) fn poll_group(&mut self, slot: u32) {
        let epoch = self.calls.epoch(slot);
        loop {
            let now = self.now;
            let allowance = allowance(&self.stack);
            let Some(hedge) = &self.stack.hedge else {
                return;
            };
            let Some(call) = self.calls.get_mut_at(slot, epoch) else {
                return;
            };
            let Some(group) = &mut call.hedge else {
                return;
            };
            match hedge
                .core
                .poll(&mut group.call, &Instant::from_nanos(now), allowance)
            {
                Next::Send { .. } => self.send_attempt(slot, Kind::Hedge),
                Next::Wait(wait) => {
                    let at = now.saturating_add(wait.as_nanos() as u64);
                    if group.armed != Some(at) {
                        group.armed = Some(at);
                        self.schedule(at, What::Hedge, slot);
                    }
                    return;
                }
                Next::Idle => return,
            }
        }
    }

    /// A hedge event: if it is still the one the group waits for, look again.
    pub(super) fn hedge_due(&mut self, slot: u32) {
        let now = self.now;
        let due = self
            .calls
            .get_live_mut(slot)
            .and_then(|call| call.hedge.as_mut())
            .is_some_and(|group| {
                let due = group.armed == Some(now);
                if due {
                    group.armed = None;
                }
                due
            });
        if due {
            self.poll_group(slot);
        }
    }

    /// Attempt `attempt` (if it got that far) of call `slot` ended with
    /// `failure`: the group sends the next attempt, waits for the others, or
    /// ends and hands the failure to the retry.
    #[inline(always)]
    pub(super) fn attempt_failed(
        &mut self,
        slot: u32,
        attempt: Option<u32>,
        failure: Failure,
        end: End,
    ) {
        if self.stack.hedge.is_none() {
            return self.retry_or_end(slot, failure, end);
        }
        let now = self.now;
        let allowance = allowance(&self.stack);
        let decision = match (&self.stack.hedge, &mut self.calls.get_mut(slot).hedge) {
            (Some(hedge), Some(group)) => {
                if let Some(attempt) = attempt {
                    group.running.retain(|&a| a != attempt);
                }
                Some(hedge.core.on_failure(
                    &mut group.call,
                    failure,
                    &Instant::from_nanos(now),
                    allowance,
                ))
            }
            _ => None,
        };
        match decision {
            None => self.retry_or_end(slot, failure, end),
            Some(Failed::Send { .. }) => {
                self.send_attempt(slot, Kind::Hedge);
                self.poll_group(slot);
            }
            Some(Failed::Continue) => {}
            Some(Failed::GiveUp(_)) => {
                self.end_group(slot);
                self.retry_or_end(slot, failure, end);
            }
        }
    }

    /// Attempt `attempt` of call `slot` answered: the group ends with it.
    #[inline(always)]
    pub(super) fn group_answered(&mut self, slot: u32, attempt: u32, kind: Kind) {
        if self.stack.hedge.is_none() {
            return;
        }
        let now = self.now;
        // The retry's budget is paid by the call's success; the hedge pays
        // only a budget of its own, so that a shared one is paid once.
        let own = self.stack.hedge.as_ref().and_then(|h| h.budget.as_ref());
        let pay = own.map_or(Allowance::None, Allowance::Budget);
        if let (Some(hedge), Some(group)) = (&self.stack.hedge, &mut self.calls.get_mut(slot).hedge)
        {
            group.running.retain(|&a| a != attempt);
            // Attempt numbers only tell the first from the others here.
            let number = if kind == Kind::Hedge { 2 } else { 1 };
            hedge
                .core
                .on_success(&mut group.call, number, &Instant::from_nanos(now), pay);
            self.end_group(slot);
        }
    }

    /// Ends call `slot`'s group: its attempts still in flight are cancelled.
    fn end_group(&mut self, slot: u32) {
        let Some(group) = self.calls.get_mut(slot).hedge.take() else {
            return;
        };
        for attempt in group.running {
            self.cancel_attempt(attempt);
        }
    }

    /// Drops attempt `slot` where it is: its breaker permit goes back
    /// unrecorded, its place is freed; it stays in its slot until the event
    /// due for it, if any, comes.
    fn cancel_attempt(&mut self, slot: u32) {
        let timeout = self.stack.timeout;
        let attempt = self.attempts.get_mut(slot);
        let ticket = attempt.ticket.take();
        let place = attempt.place.take();
        let waiting = match attempt.phase {
            Phase::Limiter(_) => Some(Phase::CancelledLimiter),
            Phase::Queued(until) => Some(Phase::CancelledQueued(until)),
            // A hang with nothing to end it: no event will come.
            Phase::Running(_) if attempt.answer.hang && timeout.is_none() => None,
            Phase::Running(_) => Some(Phase::CancelledRunning),
            Phase::CancelledLimiter | Phase::CancelledQueued(_) | Phase::CancelledRunning => {
                unreachable!("an attempt is cancelled once")
            }
        };
        let call = attempt.call;
        match waiting {
            Some(phase) => attempt.phase = phase,
            None => drop(self.attempts.remove(slot)),
        }
        if let Some(ticket) = ticket {
            let key = self.calls.get(call).key;
            let breakers = self
                .stack
                .breakers
                .as_ref()
                .expect("a ticket comes from a breaker");
            breakers.of(key).release(ticket);
        }
        if let Some(place) = place {
            self.free_place(place);
        }
    }
}
