//! A permit to make one call through a shared breaker.

use std::sync::Arc;

use seawall_core::Instant;
use seawall_core::breaker::{Outcome, Transition};

use super::breaker::Inner;
use super::engine::Ticket;
use crate::Classify;

/// Leave to make one call, from [`SharedCircuitBreaker::try_acquire`](super::SharedCircuitBreaker::try_acquire).
///
/// Record the outcome with [`success`](Self::success),
/// [`failure`](Self::failure), [`record`](Self::record) or
/// [`record_result`](Self::record_result). A Closed outcome is recorded
/// locally and reported with the next sync (a failure wakes the sync at once),
/// so recording it returns no transition: the trip, if it comes, is seen by
/// every process, this one included, through the sync. A probe's outcome goes
/// to Redis before the method returns (bounded by the store's timeout) and
/// returns the transition it caused.
///
/// Dropping the permit releases it: the call counts as neither, and a probe's
/// slot is freed in the background (or when its lease expires). A permit
/// dropped while its thread unwinds from a panic (the call panicked) records
/// a failure instead, as the local breaker's permit does.
#[must_use = "a permit dropped at once is released without an outcome"]
pub struct SharedPermit<K> {
    inner: Arc<Inner<K>>,
    /// `None` once recorded or released.
    ticket: Option<Ticket>,
    /// When the call started, if calls are timed.
    start: Option<Instant>,
}

impl<K> SharedPermit<K> {
    pub(crate) fn new(inner: Arc<Inner<K>>, ticket: Ticket, start: Option<Instant>) -> Self {
        Self {
            inner,
            ticket: Some(ticket),
            start,
        }
    }

    /// Whether this permit holds a half-open probe slot (in Redis, or in the
    /// local fallback).
    pub fn is_probe(&self) -> bool {
        match &self.ticket {
            Some(Ticket::Probe { .. }) => true,
            Some(Ticket::Local { ticket, .. }) => ticket.is_probe(),
            _ => false,
        }
    }

    /// Records a success.
    pub async fn success(self) -> Option<Transition> {
        self.record(Outcome::Success).await
    }

    /// Records a failure.
    pub async fn failure(self) -> Option<Transition> {
        self.record(Outcome::Failure).await
    }

    /// Records `outcome` (with the time since the permit was acquired, for
    /// the slow-call rule of a breaker with a window).
    pub async fn record(mut self, outcome: Outcome) -> Option<Transition> {
        let ticket = self.ticket.take()?;
        let engine = &self.inner.engine;
        let latency = self.start.map(|start| engine.local_now() - start);
        engine.record(ticket, outcome, latency).await
    }

    /// Records `result` as the breaker's classifier says: a success, a
    /// failure, or neither (released).
    pub async fn record_result<T, E>(self, result: &Result<T, E>) -> Option<Transition>
    where
        K: Classify<T, E>,
    {
        match self.inner.classifier.classify(result) {
            Some(outcome) => self.record(outcome).await,
            None => {
                self.release();
                None
            }
        }
    }

    /// Releases the permit without an outcome (what dropping it does,
    /// unless the call panicked).
    pub fn release(mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.inner.engine.release(ticket);
        }
    }
}

impl<K> Drop for SharedPermit<K> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.inner.engine.dropped(ticket);
        }
    }
}

impl<K> std::fmt::Debug for SharedPermit<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedPermit")
            .field("probe", &self.is_probe())
            .finish_non_exhaustive()
    }
}
