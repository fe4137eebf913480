//! `seawall.SharedRateLimiter`: a rate limit that holds for a fleet (GCRA in
//! one Lua script per check, on Redis's clock).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use pyo3::prelude::*;
use pyo3::types::PyString;
use seawall::RateLimiterConfig;
use seawall_core::wait::{Turn, Wait};

use super::runtime::{self, Polled, Runtime, epoch, poll_once};
use super::store::RedisStore;
use crate::clock::ClockSource;
use crate::errors::{config_error, duration_from_secs, secs, string, wrong_type};
use crate::rate_limit::{cells, delay, limited, max_wait_arg, quota_args, too_many};

type RustLimiter = seawall::redis::SharedRateLimiter;

/// A rate limiter whose quota holds for every process that uses the same
/// store prefix and name together: at most ``rate`` calls per ``period``
/// seconds, in bursts of up to ``burst``, for the fleet.
///
/// Each check is one call to Redis (GCRA in one Lua script, on Redis's
/// clock), bounded by the store's ``timeout``, with the semantics of
/// :class:`RateLimiter`. While Redis is unavailable it follows the store's
/// ``when_unavailable``: a local limiter of the same quota (per process), or
/// refusal; it tries Redis again after one ``sync_interval``.
///
/// ``try_acquire()`` and ``check()`` answer at once; ``acquire()`` waits
/// (``time.sleep``) and ``await wait()`` waits (``asyncio.sleep``) until the
/// call is allowed, or raise :class:`RateLimitedError` if that would take
/// longer than ``max_wait``. As a decorator or a ``with`` / ``async with``
/// block it acquires before each call.
///
/// Args:
///     store: The :class:`RedisStore`.
///     name: The limiter's name: its key is ``{prefix}:rate:{name}``.
///     rate: Calls allowed per period for the fleet (at least 1).
///     period: The period in seconds (default 1.0).
///     burst: Calls allowed at once (default ``rate``).
///     max_wait: The longest the decorator and the blocks wait, in seconds
///         (default None: as long as it takes).
#[pyclass(
    module = "seawall._seawall",
    name = "SharedRateLimiter",
    subclass,
    frozen
)]
pub(crate) struct SharedRateLimiter {
    store: Py<RedisStore>,
    name: Py<PyString>,
    /// The name in Rust, for rebuilds.
    key_name: String,
    config: RateLimiterConfig,
    max_wait: Option<f64>,
    live: ArcSwap<Live>,
    rebuilding: Mutex<()>,
}

struct Live {
    epoch: u64,
    runtime: &'static Runtime,
    limiter: RustLimiter,
}

fn build(store: &RedisStore, name: &str, config: RateLimiterConfig) -> PyResult<Live> {
    let live = store.live()?;
    let limiter = live
        .store
        .rate_limiter(name, config)
        .map_err(config_error)?;
    Ok(Live {
        epoch: live.epoch,
        runtime: live.runtime,
        limiter,
    })
}

#[pymethods]
impl SharedRateLimiter {
    #[new]
    #[pyo3(signature = (store, name, rate, period = None, *, burst = None, max_wait = None))]
    fn new(
        py: Python<'_>,
        store: &Bound<'_, PyAny>,
        name: &Bound<'_, PyAny>,
        rate: &Bound<'_, PyAny>,
        period: Option<&Bound<'_, PyAny>>,
        burst: Option<&Bound<'_, PyAny>>,
        max_wait: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let store = store
            .cast::<RedisStore>()
            .map_err(|_| wrong_type("store", "a seawall.RedisStore", store))?
            .clone()
            .unbind();
        let name = string(name, "name")?.clone().unbind();
        let (rate, period, burst) = quota_args(rate, period, burst)?;
        let max_wait = max_wait_arg(max_wait)?;
        let config = RateLimiterConfig {
            rate,
            period,
            burst,
            max_wait: Duration::ZERO,
        };
        let live = build(store.get(), &name.bind(py).to_cow()?, config)?;
        Ok(Self {
            store,
            key_name: name.bind(py).to_cow()?.into_owned(),
            name,
            config,
            max_wait,
            live: ArcSwap::from_pointee(live),
            rebuilding: Mutex::new(()),
        })
    }

    /// Takes ``n`` cells (default 1) if the fleet has them now; never waits
    /// for its turn (only for Redis, within the store's ``timeout``).
    #[pyo3(signature = (n = None))]
    fn try_acquire(&self, py: Python<'_>, n: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        Ok(self.check(py, n)? == 0.0)
    }

    /// Takes ``n`` cells now if it can and answers 0.0; otherwise takes nothing
    /// and answers the seconds until they would be available.
    #[pyo3(signature = (n = None))]
    fn check(&self, py: Python<'_>, n: Option<&Bound<'_, PyAny>>) -> PyResult<f64> {
        let n = cells(n)?;
        let live = self.live()?;
        let limiter = live.limiter.clone();
        let admitted = runtime::block_on(
            py,
            live.runtime,
            async move { limiter.check_n(n).await },
            self.store.get().bound(),
        )?;
        Ok(delay(admitted.map_err(too_many)?))
    }

    /// As ``check``, for ``async`` code: the answer at once when no call to
    /// Redis is needed, else an asyncio future of it.
    #[pyo3(signature = (n = None))]
    fn _check_async<'py>(
        &self,
        py: Python<'py>,
        n: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let n = cells(n)?;
        let live = self.live()?;
        let limiter = live.limiter.clone();
        match poll_once(live.runtime, async move { limiter.check_n(n).await })? {
            Polled::Ready(admitted) => Ok(delay(admitted.map_err(too_many)?)
                .into_pyobject(py)?
                .into_any()),
            Polled::Pending(future) => {
                runtime::settle_later(py, live.runtime, future, |py, admitted| {
                    let delay = delay(admitted.map_err(too_many)?);
                    Ok(delay.into_pyobject(py)?.into_any().unbind())
                })
            }
        }
    }

    /// Whether Redis was unavailable at the last attempt (the limiter decides
    /// locally, or refuses, until it tries again).
    #[getter]
    fn is_fallback(&self) -> PyResult<bool> {
        Ok(self.live()?.limiter.is_fallback())
    }

    /// This process's requests so far: ``(admitted, refused)``.
    #[getter]
    fn counts(&self) -> PyResult<(u64, u64)> {
        Ok(self.live()?.limiter.counts())
    }

    /// The limiter's name.
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// The store the limiter's state lives in.
    #[getter]
    fn store(&self, py: Python<'_>) -> Py<RedisStore> {
        self.store.clone_ref(py)
    }

    /// Calls allowed per period, for the fleet.
    #[getter]
    fn rate(&self) -> u64 {
        self.config.rate
    }

    /// The period, in seconds.
    #[getter]
    fn period(&self) -> f64 {
        secs(self.config.period)
    }

    /// Calls allowed at once.
    #[getter]
    fn burst(&self) -> u32 {
        self.config.burst
    }

    /// The longest the decorator and the blocks wait, in seconds (None: no limit).
    #[getter]
    fn max_wait(&self) -> Option<f64> {
        self.max_wait
    }

    /// One wait for a turn, from now, within ``max_wait`` seconds (default:
    /// the limiter's; None: no limit): the core's decision, for ``acquire()``
    /// and ``wait()`` to act on.
    #[pyo3(signature = (max_wait = None))]
    fn _waiting(
        slf: &Bound<'_, Self>,
        max_wait: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<SharedWaiting> {
        let max_wait = match max_wait_arg(max_wait)? {
            Some(limit) => Some(limit),
            None => slf.get().max_wait,
        };
        let max_wait = max_wait.map_or(Duration::MAX, duration_from_secs);
        Ok(SharedWaiting {
            limiter: slf.clone().unbind(),
            wait: Wait::start(max_wait, &ClockSource::Monotonic),
        })
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "SharedRateLimiter({:?}, rate={}, period={}, burst={})",
            self.name.bind(py).to_string(),
            self.rate(),
            self.period(),
            self.burst()
        )
    }
}

impl SharedRateLimiter {
    /// The Rust limiter of the current fork epoch (rebuilt in a forked child).
    fn live(&self) -> PyResult<arc_swap::Guard<Arc<Live>>> {
        let live = self.live.load();
        if live.epoch == epoch() {
            return Ok(live);
        }
        drop(live);
        let _one = self.rebuilding.lock().unwrap_or_else(|e| e.into_inner());
        if self.live.load().epoch != epoch() {
            let live = build(self.store.get(), &self.key_name, self.config)?;
            std::mem::forget(self.live.swap(Arc::new(live)));
        }
        Ok(self.live.load())
    }
}

/// One caller's wait for a turn of a :class:`SharedRateLimiter`, within its
/// ``max_wait``, measured on the monotonic clock from its start: the core's
/// ``Wait`` decides (as for a local limiter), the caller only asks Redis and
/// sleeps.
#[pyclass(module = "seawall")]
pub(crate) struct SharedWaiting {
    limiter: Py<SharedRateLimiter>,
    wait: Wait,
}

#[pymethods]
impl SharedWaiting {
    /// After a refusal whose turn comes in ``retry_after`` seconds: the
    /// seconds to sleep before asking again. Raises
    /// :class:`RateLimitedError` when the turn would come after the wait's
    /// ``max_wait``.
    fn after(&self, py: Python<'_>, retry_after: f64) -> PyResult<f64> {
        let turn = self.wait.next(
            Some(duration_from_secs(retry_after)),
            &ClockSource::Monotonic,
        );
        match turn {
            Turn::Sleep(delay) => Ok(secs(delay)),
            Turn::GiveUp => Err(limited(py, &self.limiter.get().name, retry_after)),
        }
    }
}
