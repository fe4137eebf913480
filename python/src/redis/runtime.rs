//! The extension's tokio runtime and the bridges between it and Python.
//!
//! One multi-thread runtime, started on first use and never dropped (dropping
//! it at exit could wait on its threads). A forked child cannot use its
//! parent's runtime (its threads are not copied): `os.register_at_fork` bumps
//! an epoch in the child, and every object built in an older epoch rebuilds
//! itself on a runtime of the new one.
//!
//! A call runs its future once on the calling thread (`poll_once`): what the
//! local view decides (a Closed call, a rejection while Open) is answered
//! there, with no hop to another thread. Only a future that waits on Redis
//! moves to the runtime, and the caller then either blocks with the GIL
//! released (`wait`) or gets an asyncio future that the runtime settles
//! (`settle_later`). The GIL is taken only on the runtime's blocking threads,
//! never on its workers, and never while a lock of ours is held.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyWeakrefReference};
use seawall::Transition;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::classify::reported;

/// Moves in a forked child: objects of an older epoch rebuild themselves.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// The runtime of the current epoch.
static CURRENT: Mutex<Option<&'static Runtime>> = Mutex::new(None);

/// The current fork epoch.
#[inline]
pub(crate) fn epoch() -> u64 {
    EPOCH.load(Ordering::Acquire)
}

/// Called in a forked child (registered with `os.register_at_fork` by
/// `seawall._redis`): the parent's runtime has no threads here.
#[pyfunction]
pub(crate) fn _redis_after_fork() {
    EPOCH.fetch_add(1, Ordering::AcqRel);
}

/// The runtime and the queue of state changes for the listeners.
pub(crate) struct Runtime {
    pub(crate) epoch: u64,
    pub(crate) tokio: tokio::runtime::Runtime,
    events: UnboundedSender<Event>,
}

/// The runtime of this epoch, started on first use.
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    let epoch = epoch();
    let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(runtime) = *current
        && runtime.epoch == epoch
    {
        return Ok(runtime);
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("seawall-redis")
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the tokio runtime: {e}")))?;
    let (events, mut queue) = unbounded_channel::<Event>();
    // Tells the state changes no call has told, on a blocking thread
    // (listeners are Python, and may block).
    tokio.spawn(async move {
        while let Some(first) = queue.recv().await {
            let mut batch = vec![first];
            while let Ok(next) = queue.try_recv() {
                batch.push(next);
            }
            let _ = tokio::task::spawn_blocking(move || deliver(batch)).await;
        }
    });
    // Never dropped: one per epoch, for the life of the process.
    let runtime: &'static Runtime = Box::leak(Box::new(Runtime {
        epoch,
        tokio,
        events,
    }));
    *current = Some(runtime);
    Ok(runtime)
}

/// What `poll_once` found.
pub(crate) enum Polled<F: Future> {
    Ready(F::Output),
    /// Waiting on Redis: to be finished by `wait` or `settle_later`.
    Pending(Pin<Box<F>>),
}

/// Polls `future` once on this thread, inside the runtime's context.
#[inline]
pub(crate) fn poll_once<F: Future>(runtime: &Runtime, future: F) -> PyResult<Polled<F>> {
    let _context = runtime.tokio.enter();
    let mut future = Box::pin(future);
    let mut cx = Context::from_waker(Waker::noop());
    match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
        Ok(Poll::Ready(output)) => Ok(Polled::Ready(output)),
        Ok(Poll::Pending) => Ok(Polled::Pending(future)),
        Err(_) => Err(internal()),
    }
}

/// Finishes `future` on the runtime while this thread waits with the GIL
/// released. Every Redis call inside is bounded by the store's `timeout`;
/// `bound` only guards against a runtime that cannot run.
pub(crate) fn wait<F>(
    py: Python<'_>,
    runtime: &Runtime,
    future: Pin<Box<F>>,
    bound: Duration,
) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (done, result) = sync_channel(1);
    runtime.tokio.spawn(async move {
        let _ = done.send(future.await);
    });
    py.detach(move || result.recv_timeout(bound))
        .map_err(|error| match error {
            RecvTimeoutError::Timeout => PyRuntimeError::new_err(format!(
                "seawall: a Redis call did not end within {bound:?}"
            )),
            // The task panicked (and was caught by tokio).
            RecvTimeoutError::Disconnected => internal(),
        })
}

/// Polls `future` once; if it waits on Redis, waits for it (GIL released).
pub(crate) fn block_on<F>(
    py: Python<'_>,
    runtime: &Runtime,
    future: F,
    bound: Duration,
) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match poll_once(runtime, future)? {
        Polled::Ready(output) => Ok(output),
        Polled::Pending(future) => wait(py, runtime, future, bound),
    }
}

/// What a finished future gives Python: a value, or an exception to raise.
pub(crate) type Settled = Result<Py<PyAny>, PyErr>;

/// An asyncio future of the running loop that `future` settles when it ends:
/// `convert` turns its output into the result or the exception, with the GIL,
/// on one of the runtime's blocking threads; the loop's thread sets it. A
/// result nobody can take any more (the await was cancelled, the loop closed)
/// is dropped, which releases a permit.
pub(crate) fn settle_later<'py, F, C>(
    py: Python<'py>,
    runtime: &Runtime,
    future: Pin<Box<F>>,
    convert: C,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    C: FnOnce(Python<'_>, F::Output) -> Settled + Send + 'static,
{
    static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let event_loop = GET_RUNNING_LOOP
        .import(py, "asyncio", "get_running_loop")?
        .call0()?;
    let awaitable = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let (event_loop_ref, awaitable_ref) = (event_loop.unbind(), awaitable.clone().unbind());
    // Its own task, so that a panic is caught (by tokio) and still settles
    // the future: an await must never hang.
    let task = runtime.tokio.spawn(future);
    runtime.tokio.spawn(async move {
        let output = task.await;
        let _ = tokio::task::spawn_blocking(move || {
            Python::try_attach(|py| {
                let settled = match output {
                    Ok(output) => catch_unwind(AssertUnwindSafe(|| convert(py, output)))
                        .unwrap_or_else(|_| Err(internal())),
                    Err(_) => Err(internal()),
                };
                let (value, error) = match settled {
                    Ok(value) => (Some(value), None),
                    Err(error) => (None, Some(error.into_value(py))),
                };
                let settle = SETTLE.import(py, "seawall._redis", "_settle");
                let scheduled = settle.and_then(|settle| {
                    event_loop_ref.call_method1(
                        py,
                        pyo3::intern!(py, "call_soon_threadsafe"),
                        (settle, awaitable_ref, value.as_ref(), error),
                    )
                });
                if scheduled.is_err() {
                    // The loop is closed: nobody waits for the value.
                    if let Some(value) = value {
                        release(py, value.bind(py));
                    }
                }
            })
        })
        .await;
    });
    Ok(awaitable)
}

static SETTLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Releases `value` if it is a permit nobody will use.
fn release(py: Python<'_>, value: &Bound<'_, PyAny>) {
    if value.hasattr(pyo3::intern!(py, "release")).unwrap_or(false) {
        let _ = value.call_method0(pyo3::intern!(py, "release"));
    }
}

/// A panic was caught at the boundary.
pub(crate) fn internal() -> PyErr {
    PyRuntimeError::new_err("seawall: internal error in the Redis bridge (a panic was caught)")
}

// --- state changes -------------------------------------------------------

/// The listeners of one shared breaker, the Python object they are told
/// about (weakly: the breaker owns them, not the other way round), and the
/// changes not told yet.
///
/// The Rust breaker reports its changes in the order it makes them (it must
/// not take the GIL: it may hold its locks). They are told, in that order and
/// one teller at a time, by the next Python call into the breaker on its own
/// thread, or by the runtime's delivery thread when no call comes (a change
/// another process caused, seen by the sync task). A listener's `Exception`
/// goes to `sys.unraisablehook`; any other `BaseException` (Ctrl-C,
/// `sys.exit()`) is raised by the call that told it, or, when the delivery
/// thread told it, by the breaker's next call.
pub(crate) struct Listeners {
    target: std::sync::OnceLock<Py<PyWeakrefReference>>,
    callbacks: Mutex<Vec<Py<PyAny>>>,
    pending: Mutex<Pending>,
    /// Whether `pending` may hold something (set and cleared under its
    /// lock): a call with nothing to tell takes no lock.
    dirty: AtomicBool,
}

/// Changes reported and not told yet.
#[derive(Default)]
struct Pending {
    queue: VecDeque<Transition>,
    /// Whether a thread is telling now (it tells the later ones too).
    telling: bool,
    /// A `BaseException` the delivery thread caught, for the next call to raise.
    raised: Option<PyErr>,
}

impl Listeners {
    pub(crate) fn new(callbacks: Vec<Py<PyAny>>) -> Arc<Self> {
        Arc::new(Self {
            target: std::sync::OnceLock::new(),
            callbacks: Mutex::new(callbacks),
            pending: Mutex::new(Pending::default()),
            dirty: AtomicBool::new(false),
        })
    }

    /// Names the breaker object the callbacks receive.
    pub(crate) fn bind(&self, breaker: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.target.get().is_none() {
            let weak = PyWeakrefReference::new(breaker)?.unbind();
            let _ = self.target.set(weak);
        }
        Ok(())
    }

    pub(crate) fn add(&self, callback: Py<PyAny>) {
        self.lock().push(callback);
    }

    /// Removes `callback`; whether it was there.
    pub(crate) fn remove(&self, callback: &Bound<'_, PyAny>) -> bool {
        let mut callbacks = self.lock();
        let before = callbacks.len();
        callbacks.retain(|c| !c.is(callback));
        callbacks.len() != before
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Py<PyAny>>> {
        self.callbacks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A listener for the Rust breaker: queues the change and wakes the
    /// delivery thread (it runs while the breaker updates its view, so it
    /// must not take the GIL).
    pub(crate) fn sender(
        self: &Arc<Self>,
        runtime: &Runtime,
    ) -> impl Fn(&str, Transition) + Send + Sync + 'static {
        let listeners = Arc::clone(self);
        let events = runtime.events.clone();
        move |_, transition| {
            let mut pending = listeners.pending();
            pending.queue.push_back(transition);
            listeners.dirty.store(true, Ordering::Release);
            drop(pending);
            let _ = events.send(Event {
                listeners: Arc::clone(&listeners),
            });
        }
    }

    /// Tells the listeners of the changes not told yet, on this thread
    /// (after a Python call into the breaker), and raises a `BaseException`
    /// a listener raised, here or on the delivery thread since the last call.
    pub(crate) fn tell(&self, py: Python<'_>) -> PyResult<()> {
        if !self.dirty.load(Ordering::Acquire) {
            return Ok(());
        }
        let raised = self.tell_pending(py);
        let mut pending = self.pending();
        let earlier = pending.raised.take();
        if pending.queue.is_empty() && !pending.telling {
            self.dirty.store(false, Ordering::Release);
        }
        drop(pending);
        match earlier {
            Some(earlier) => Err(earlier),
            None => raised,
        }
    }

    /// Tells every change queued, unless another thread is telling (it tells
    /// them); the first `BaseException` a listener raised.
    fn tell_pending(&self, py: Python<'_>) -> PyResult<()> {
        let mut raised = None;
        loop {
            let batch = {
                let mut pending = self.pending();
                if pending.telling || pending.queue.is_empty() {
                    break;
                }
                pending.telling = true;
                std::mem::take(&mut pending.queue)
            };
            if let Err(error) = self.tell_batch(py, batch) {
                raised.get_or_insert(error);
            }
            self.pending().telling = false;
        }
        raised.map_or(Ok(()), Err)
    }

    /// Calls every listener with each change of `batch`, with the GIL and no
    /// lock held.
    fn tell_batch(&self, py: Python<'_>, batch: VecDeque<Transition>) -> PyResult<()> {
        let Some(breaker) = self.target.get().and_then(|weak| weak.bind(py).upgrade()) else {
            return Ok(());
        };
        let mut raised = None;
        for transition in batch {
            let callbacks: Vec<Py<PyAny>> = self.lock().iter().map(|c| c.clone_ref(py)).collect();
            let from = PyString::new(py, transition.from.as_str());
            let to = PyString::new(py, transition.to.as_str());
            for callback in callbacks {
                let callback = callback.bind(py);
                if let Err(error) = callback.call1((&breaker, &from, &to))
                    && let Err(base) = reported(py, error, callback)
                {
                    raised.get_or_insert(base);
                }
            }
        }
        raised.map_or(Ok(()), Err)
    }
}

struct Event {
    listeners: Arc<Listeners>,
}

/// The delivery thread's turn: tells what no call has told, keeping a
/// `BaseException` for the breaker's next call to raise.
fn deliver(batch: Vec<Event>) {
    Python::try_attach(|py| {
        for event in batch {
            let listeners = event.listeners;
            if let Err(error) = listeners.tell_pending(py) {
                let mut pending = listeners.pending();
                if pending.raised.is_none() {
                    pending.raised = Some(error);
                }
                listeners.dirty.store(true, Ordering::Release);
            }
        }
    });
}
