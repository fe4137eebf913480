//! One attempt of a call, through the configuration in its order: the
//! breaker, the rate limiter, the bulkhead, the adaptive limit, then the
//! dependency within the timeout; then the breaker's and the limit's records
//! and the retry policy's answer.

use std::time::Duration;

use seawall_core::breaker::Outcome;
use seawall_core::bulkhead::{BulkheadFull, BulkheadTicket};
use seawall_core::call::{Elapsed, Error as Ending};
use seawall_core::rate_limit::NotUntil;
use seawall_core::retry::{Failure, RetryDecision};
use seawall_core::rng::unit;
use seawall_core::time::Instant;

use super::event::What;
use super::{Answer, Attempt, End, Engine, Phase, Source};
use crate::draw::Stream;

impl Engine<'_> {
    /// What the dependency does with the next attempt of call `slot`, now.
    #[inline]
    fn answer(&mut self, slot: u32) -> Answer {
        let call = self.calls.get(slot);
        match &self.model.source {
            Source::Model { conditions, .. } => {
                let condition = conditions.at(&mut self.cursor, self.now);
                let address = (u64::from(call.try_no) << 32) | u64::from(call.attempts);
                let mut rng = self.model.draws.rng(Stream::Dependency, call.id, address);
                // Both draws always, in this order: the same call meets the
                // same luck whatever the conditions.
                let failed = unit(&mut rng) < condition.failure_rate;
                let latency = condition.latency.sample(&mut rng);
                Answer {
                    latency,
                    failed: failed || condition.hang,
                    hang: condition.hang,
                }
            }
            Source::Trace(trace) => {
                let record = if call.try_no == 0 && call.attempts == 1 {
                    trace.records.get(call.id as usize)
                } else {
                    // An attempt the trace did not record meets the dependency
                    // as the next recorded call found it.
                    trace.at_or_after(self.now).or(trace.records.last())
                };
                let record = record.copied().expect("a trace with calls");
                Answer {
                    latency: record.latency,
                    failed: record.failed,
                    hang: false,
                }
            }
        }
    }

    /// A bulkhead wait is over: whichever attempt holds the slot now, if it
    /// is queued until now, is refused (a stale event finds none such).
    pub(super) fn expire(&mut self, slot: u32) {
        let now = self.now;
        let waiting = self
            .attempts
            .get_live_mut(slot)
            .is_some_and(|a| a.phase == Phase::Queued(now));
        if waiting {
            let max_concurrent = self
                .stack
                .places
                .as_ref()
                .map_or(0, |p| p.bulkhead.max_concurrent());
            self.refuse(slot, Ending::BulkheadFull(BulkheadFull { max_concurrent }));
        }
    }

    pub(super) fn start_attempt(&mut self, call_slot: u32) {
        let now = self.now;
        let call = self.calls.get_mut(call_slot);
        call.attempts += 1;
        let key = call.key;
        if call.attempts == 1 {
            self.summary.calls += 1;
            self.timeline.current.calls += 1;
            if call.try_no > 0 {
                self.summary.client_retries += 1;
            }
        } else {
            self.timeline.current.retries += 1;
        }
        let ticket = match &self.stack.breakers {
            None => None,
            Some(breakers) => {
                let breaker = breakers.of(key);
                let reported = breakers.key_of(key);
                match breaker.try_acquire_ticket(&Instant::from_nanos(now)) {
                    Ok(ticket) => {
                        if let Some(t) = ticket.transition() {
                            self.note(reported, t);
                        }
                        if ticket.is_probe() {
                            self.summary.probes += 1;
                            self.timeline.current.probes += 1;
                        }
                        Some(ticket)
                    }
                    Err(rejection) => {
                        if let Some(t) = rejection.transition() {
                            self.note(reported, t);
                        }
                        self.refuse_call(call_slot, Ending::Rejected(rejection));
                        return;
                    }
                }
            }
        };
        let (slot, _) = self.attempts.insert(Attempt {
            call: call_slot,
            ticket,
            place: None,
            limit: None,
            phase: Phase::Limiter(now),
            timed_out: false,
            answer: Answer {
                latency: 0,
                failed: false,
                hang: false,
            },
        });
        self.pass_limiter(slot);
    }

    pub(super) fn pass_limiter(&mut self, slot: u32) {
        let now = self.now;
        if let Some(limiter) = &self.stack.limiter
            && let Err(not_until) = limiter.limiter.check(&Instant::from_nanos(now))
        {
            let Phase::Limiter(since) = self.attempts.get(slot).phase else {
                unreachable!("an attempt resumes only from the limiter's wait")
            };
            let earliest = not_until.earliest_possible();
            if earliest.as_nanos() - since <= limiter.max_wait {
                self.schedule(earliest.as_nanos(), What::Resume, slot);
            } else {
                let refusal = NotUntil::new(Instant::from_nanos(now), earliest);
                self.refuse(slot, Ending::RateLimited(refusal));
            }
            return;
        }
        self.pass_bulkhead(slot);
    }

    fn pass_bulkhead(&mut self, slot: u32) {
        let now = self.now;
        if let Some(places) = &mut self.stack.places {
            match places.bulkhead.try_enter_ticket() {
                Ok(place) => self.attempts.get_mut(slot).place = Some(place),
                Err(full) => {
                    if places.max_wait > 0 {
                        let epoch = self.attempts.epoch(slot);
                        places.queue.push_back((slot, epoch));
                        let expires = now + places.max_wait;
                        self.attempts.get_mut(slot).phase = Phase::Queued(expires);
                        self.schedule(expires, What::Expire, slot);
                    } else {
                        self.refuse(slot, Ending::BulkheadFull(full));
                    }
                    return;
                }
            }
        }
        self.pass_limit(slot);
    }

    /// The adaptive limit, refusing at once when reached (as a full bulkhead).
    fn pass_limit(&mut self, slot: u32) {
        if let Some(limit) = &mut self.stack.limit {
            match limit.try_start(self.now) {
                Ok(token) => self.attempts.get_mut(slot).limit = Some(token),
                Err(max_concurrent) => {
                    // A full bulkhead's refusal, counted as the limit's.
                    self.refuse(slot, Ending::BulkheadFull(BulkheadFull { max_concurrent }));
                    self.summary.refused_by_bulkhead -= 1;
                    self.summary.refused_by_limiter += 1;
                    return;
                }
            }
        }
        self.run_attempt(slot);
    }

    /// The attempt reaches the dependency.
    fn run_attempt(&mut self, slot: u32) {
        let now = self.now;
        let call_slot = self.attempts.get(slot).call;
        let mut answer = self.answer(call_slot);
        if let Some(server) = &mut self.server {
            // The caller waits for a worker, then for the answer.
            let own = (!answer.hang).then_some(answer.latency);
            match server.serve(now, own) {
                Some(latency) => answer.latency = latency,
                None => answer.hang = true,
            }
        }
        let retry = self.calls.get(call_slot).attempts > 1;
        self.summary.attempts += 1;
        self.timeline.current.attempts += 1;
        if retry {
            self.summary.retries += 1;
        }
        let timeout = self.stack.timeout;
        let attempt = self.attempts.get_mut(slot);
        attempt.phase = Phase::Running(now);
        attempt.answer = answer;
        let end = match timeout {
            Some(limit) if answer.hang || answer.latency > limit => {
                attempt.timed_out = true;
                now + limit
            }
            // Hangs, and nothing ends it: the call stays unfinished.
            None if answer.hang => return,
            _ => now + answer.latency,
        };
        self.schedule(end, What::Finish, slot);
    }

    pub(super) fn finish(&mut self, slot: u32) {
        let now = self.now;
        let attempt = self.attempts.remove(slot);
        let Phase::Running(started) = attempt.phase else {
            unreachable!("only a running attempt finishes")
        };
        let failed = attempt.timed_out || attempt.answer.failed;
        if let (Some(limit), Some(token)) = (&mut self.stack.limit, attempt.limit) {
            // A timeout or an error is a sign of overload; an answer teaches
            // its latency.
            limit.finish(token, now, failed);
        }
        if let Some(place) = attempt.place {
            self.free_place(place);
        }
        let call = self.calls.get(attempt.call);
        let key = call.key;
        if let Some(ticket) = attempt.ticket {
            let breakers = self
                .stack
                .breakers
                .as_ref()
                .expect("a ticket comes from a breaker");
            let outcome = if failed {
                Outcome::Failure
            } else {
                Outcome::Success
            };
            let latency = Duration::from_nanos(now - started);
            let transition =
                breakers
                    .of(key)
                    .record(ticket, outcome, Some(latency), &Instant::from_nanos(now));
            if let Some(t) = transition {
                let reported = breakers.key_of(key);
                self.note(reported, t);
            }
        }
        let step = &mut self.timeline.current;
        if failed {
            step.failed += 1;
            if attempt.timed_out {
                step.timeouts += 1;
                self.summary.timeouts += 1;
            }
            let ending = if attempt.timed_out {
                Ending::Timeout(Elapsed::new(Duration::from_nanos(now - started)))
            } else {
                Ending::Inner(())
            };
            self.retry_or_end(attempt.call, ending.failure(), End::Failed);
        } else {
            step.succeeded += 1;
            if let Some(retry) = &self.stack.retry {
                let first = seawall_core::retry::RetryState::new();
                let call = self.calls.get(attempt.call);
                let state = call.retry.as_ref().map_or(&first, |(state, _)| state);
                retry.allowance().record_success(state);
            }
            self.end_call(attempt.call, End::Succeeded);
        }
    }

    /// Gives a bulkhead place back, and to the first attempt queued for one.
    fn free_place(&mut self, place: BulkheadTicket) {
        let Some(places) = &mut self.stack.places else {
            return;
        };
        places.bulkhead.release(place);
        while let Some(&(slot, epoch)) = places.queue.front() {
            places.queue.pop_front();
            let Some(attempt) = self.attempts.get_mut_at(slot, epoch) else {
                continue;
            };
            if !matches!(attempt.phase, Phase::Queued(_)) {
                continue;
            }
            match places.bulkhead.try_enter_ticket() {
                Ok(place) => {
                    attempt.place = Some(place);
                    self.pass_limit(slot);
                }
                Err(_) => unreachable!("a place was just freed"),
            }
            return;
        }
    }

    /// A policy refused attempt `slot`: its breaker permit goes back unrecorded.
    fn refuse(&mut self, slot: u32, ending: Ending<()>) {
        let attempt = self.attempts.remove(slot);
        if let Some(ticket) = attempt.ticket {
            let key = self.calls.get(attempt.call).key;
            let breakers = self
                .stack
                .breakers
                .as_ref()
                .expect("a ticket comes from a breaker");
            breakers.of(key).release(ticket);
        }
        self.refuse_call(attempt.call, ending);
    }

    fn refuse_call(&mut self, call_slot: u32, ending: Ending<()>) {
        match ending {
            Ending::Rejected(_) => self.summary.refused_by_breaker += 1,
            Ending::RateLimited(_) => self.summary.refused_by_rate_limiter += 1,
            Ending::BulkheadFull(_) => self.summary.refused_by_bulkhead += 1,
            _ => {}
        }
        self.timeline.current.refused += 1;
        // What the dependency would have done with it.
        let would = self.answer(call_slot);
        let would_fail = would.failed
            || self
                .stack
                .timeout
                .is_some_and(|limit| would.latency > limit);
        if would_fail {
            self.summary.failures_spared += 1;
        } else {
            self.summary.successes_lost += 1;
        }
        self.retry_or_end(call_slot, ending.failure(), End::Rejected);
    }

    fn retry_or_end(&mut self, call_slot: u32, failure: Failure, end: End) {
        let now = self.now;
        let Some(retry) = &self.stack.retry else {
            self.end_call(call_slot, end);
            return;
        };
        let draws = self.model.draws;
        let clock = Instant::from_nanos(now);
        let call = self.calls.get_mut(call_slot);
        let (state, rng) = call.retry.get_or_insert_with(|| {
            let started = Instant::from_nanos(call.arrival);
            let rng = draws.rng(Stream::Backoff, call.id, u64::from(call.try_no));
            (retry.policy.start(&started), rng)
        });
        match retry
            .policy
            .on_failure(state, failure, retry.allowance(), &clock, rng)
        {
            RetryDecision::Retry { delay } => {
                let at = now.saturating_add(delay.as_nanos() as u64);
                self.schedule(at, What::Retry, call_slot);
            }
            RetryDecision::GiveUp(_) => self.end_call(call_slot, end),
        }
    }
}
