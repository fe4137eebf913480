//! An owned place in a bulkhead.

use std::sync::Arc;

use seawall_core::bulkhead::BulkheadTicket;

use super::Inner;

/// A place in a [`Bulkhead`](super::Bulkhead), given back when dropped (the
/// call ended, failed or was cancelled).
#[must_use = "a permit dropped at once gives its place back"]
pub struct BulkheadPermit {
    inner: Arc<Inner>,
    ticket: Option<BulkheadTicket>,
}

impl BulkheadPermit {
    pub(super) fn new(inner: Arc<Inner>, ticket: BulkheadTicket) -> Self {
        Self {
            inner,
            ticket: Some(ticket),
        }
    }
}

impl Drop for BulkheadPermit {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.inner.release(ticket);
        }
    }
}

impl std::fmt::Debug for BulkheadPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkheadPermit").finish_non_exhaustive()
    }
}
