//! The bulkhead: at most `max_concurrent` calls in flight, and a bounded wait
//! for a place.
//!
//! The count is the core's [`Bulkhead`](seawall_core::bulkhead::Bulkhead) (one
//! atomic, places given back on drop); this module adds the waiting: at most
//! `max_queued` callers wait at once, each for at most `max_wait`, woken in
//! arrival order as places free up.

mod layer;
mod permit;
mod service;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use seawall_core::ConfigError;
use seawall_core::bulkhead::{Bulkhead as CoreBulkhead, BulkheadFull, BulkheadTicket};
use seawall_core::wait::{Turn, Wait};
use tokio::sync::Notify;

pub use layer::BulkheadLayer;
pub use permit::BulkheadPermit;
pub use service::BulkheadService;

use crate::clock::TokioClock;
use crate::error::Error;

/// A bulkhead's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkheadConfig {
    /// Calls in flight at once (at least 1; default 25).
    pub max_concurrent: u32,
    /// How long a call may wait for a place before it is refused (default zero:
    /// refused at once when full; `Duration::MAX`: as long as it takes).
    pub max_wait: Duration,
    /// How many calls may wait at once; more are refused at once (default
    /// `u32::MAX`).
    pub max_queued: u32,
}

impl Default for BulkheadConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 25,
            max_wait: Duration::ZERO,
            max_queued: u32::MAX,
        }
    }
}

pub(crate) struct Inner {
    core: CoreBulkhead,
    /// Woken once for each place given back.
    freed: Notify,
    queued: AtomicU32,
    config: BulkheadConfig,
}

impl Inner {
    pub(crate) fn release(&self, ticket: BulkheadTicket) {
        self.core.release(ticket);
        self.freed.notify_one();
    }

    /// A place, waiting for one as the configuration allows: the core's
    /// [`Wait`] decides how long, this loop only sleeps.
    async fn enter(&self) -> Result<BulkheadTicket, BulkheadFull> {
        let full = match self.core.try_enter_ticket() {
            Ok(ticket) => return Ok(ticket),
            Err(full) => full,
        };
        let wait = Wait::start(self.config.max_wait, &TokioClock);
        if wait.next(None, &TokioClock) == Turn::GiveUp {
            return Err(full);
        }
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.config.max_queued {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(full);
        }
        let _queued = Queued(&self.queued);
        loop {
            // Registered before trying, so a place freed in between still wakes us.
            let mut freed = pin!(self.freed.notified());
            freed.as_mut().enable();
            match self.core.try_enter_ticket() {
                Ok(ticket) => return Ok(ticket),
                Err(full) => match wait.next(None, &TokioClock) {
                    Turn::Sleep(at_most) => {
                        let _ = tokio::time::timeout(at_most, freed).await;
                    }
                    Turn::GiveUp => return Err(full),
                },
            }
        }
    }
}

/// Counts a waiting caller until it stops waiting (admitted, refused or cancelled).
struct Queued<'a>(&'a AtomicU32);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Limits the calls in flight to a dependency, so that a slow one cannot take
/// every task, connection or thread of the service.
///
/// A handle: clones share the same places.
///
/// ```
/// use std::time::Duration;
/// use seawall::{Bulkhead, BulkheadConfig};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let bulkhead = Bulkhead::new(BulkheadConfig { max_concurrent: 1, ..Default::default() });
/// let first = bulkhead.try_enter().unwrap();
/// let second = bulkhead.call(|| async { Ok::<_, ()>(()) }).await;
/// assert!(second.unwrap_err().is_bulkhead_full());
/// drop(first);
/// assert_eq!(bulkhead.call(|| async { Ok::<_, ()>(7) }).await, Ok(7));
/// # }
/// ```
#[derive(Clone)]
pub struct Bulkhead {
    inner: Arc<Inner>,
}

impl Bulkhead {
    /// A bulkhead with `config`.
    ///
    /// # Panics
    ///
    /// If `config` is invalid, with the message of the [`ConfigError`] that
    /// [`try_new`](Self::try_new) would return.
    #[track_caller]
    pub fn new(config: BulkheadConfig) -> Self {
        match Self::try_new(config) {
            Ok(bulkhead) => bulkhead,
            Err(error) => panic!("{error}"),
        }
    }

    /// A bulkhead with `config`, or its first invalid option.
    pub fn try_new(config: BulkheadConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            inner: Arc::new(Inner {
                core: CoreBulkhead::new(config.max_concurrent)?,
                freed: Notify::new(),
                queued: AtomicU32::new(0),
                config,
            }),
        })
    }

    /// The limits.
    pub fn config(&self) -> BulkheadConfig {
        self.inner.config
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> u32 {
        self.inner.core.in_flight()
    }

    /// Free places now.
    pub fn available(&self) -> u32 {
        self.inner.core.available()
    }

    /// Callers waiting for a place now.
    pub fn queued(&self) -> u32 {
        self.inner.queued.load(Ordering::Acquire)
    }

    /// A place now, or [`BulkheadFull`], without waiting.
    pub fn try_enter(&self) -> Result<BulkheadPermit, BulkheadFull> {
        let ticket = self.inner.core.try_enter_ticket()?;
        Ok(BulkheadPermit::new(Arc::clone(&self.inner), ticket))
    }

    /// A place, waiting up to `max_wait` for one. Dropping the future stops
    /// waiting.
    pub async fn enter(&self) -> Result<BulkheadPermit, BulkheadFull> {
        let ticket = self.inner.enter().await?;
        Ok(BulkheadPermit::new(Arc::clone(&self.inner), ticket))
    }

    /// Runs the future made by `f` in a place of the bulkhead, waiting for one
    /// as configured; [`Error::BulkheadFull`] when none came in time. The place
    /// is given back when the call ends or its future is dropped.
    pub async fn call<F, Fut, T, E>(&self, f: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let ticket = self.inner.enter().await?;
        let _place = Place {
            inner: &self.inner,
            ticket: Some(ticket),
        };
        f().await.map_err(Error::Inner)
    }
}

/// A borrowed place, given back on drop.
struct Place<'a> {
    inner: &'a Inner,
    ticket: Option<BulkheadTicket>,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.inner.release(ticket);
        }
    }
}

impl std::fmt::Debug for Bulkhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bulkhead")
            .field("config", &self.inner.config)
            .field("in_flight", &self.in_flight())
            .field("queued", &self.queued())
            .finish()
    }
}
