//! `seawall.RedisStore`: the connection and the options that shared breakers
//! and rate limiters use.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};
use seawall::redis::{SharedConfig, StoreError, WhenUnavailable};

use super::runtime::{self, Runtime, epoch};
use crate::errors::{config_error, given, invalid, seconds, secs, string, wrong_type};

/// A connection to Redis for breakers and rate limiters shared by a fleet of
/// processes.
///
/// Every process that uses the same ``prefix`` and name shares one breaker
/// (or one rate limit). Making a store does not connect: a process may start
/// while Redis is down (its breakers start in fallback and join the shared
/// state when Redis answers). The connection is re-established in the
/// background when it breaks.
///
/// Args:
///     url: ``redis://[[user]:password@]host[:port][/db]``, or ``unix:///path/to/redis.sock``;
///         or, for a Redis Cluster, a list of some of its nodes' URLs (every
///         script of a shared breaker touches one key slot).
///     prefix: The start of every key (``{prefix}:breaker:{name}``,
///         ``{prefix}:rate:{name}``), so that two services never share a
///         breaker by accident (default ``"seawall"``).
///     timeout: The longest any Redis call may take, in seconds, before Redis
///         counts as unavailable (default 0.1). No call waits longer on Redis.
///     sync_interval: How often each breaker reads the shared state, in seconds
///         (default 0.1): an Open decided by another process reaches this one
///         within one interval plus one round trip. Also how often a breaker in
///         fallback tries Redis again.
///     probe_lease: How long a half-open probe holds its slot without
///         answering, in seconds (default 30.0): the slot of a probe whose
///         process died is free again after this. Keep it above the longest call.
///     when_unavailable: ``"fail_open"`` (default: decide locally, a breaker
///         from the last shared state it saw, a limiter per process) or
///         ``"fail_closed"`` (reject every call until Redis answers).
#[pyclass(module = "seawall._seawall", name = "RedisStore", subclass, frozen)]
pub(crate) struct RedisStore {
    /// One URL, or a cluster's nodes.
    urls: Vec<String>,
    cluster: bool,
    pub(crate) config: SharedConfig,
    live: Mutex<Option<Arc<LiveStore>>>,
}

/// The store as built in one fork epoch.
pub(crate) struct LiveStore {
    pub(crate) epoch: u64,
    pub(crate) runtime: &'static Runtime,
    pub(crate) store: seawall::redis::RedisStore,
}

fn when_unavailable(value: &Bound<'_, PyAny>) -> PyResult<WhenUnavailable> {
    let name = "when_unavailable";
    let text = value
        .cast::<PyString>()
        .map_err(|_| wrong_type(name, "\"fail_open\" or \"fail_closed\"", value))?
        .to_cow()?;
    match &*text {
        "fail_open" => Ok(WhenUnavailable::FailOpen),
        "fail_closed" => Ok(WhenUnavailable::FailClosed),
        other => Err(invalid(
            name,
            format!("must be \"fail_open\" or \"fail_closed\", got {other:?}"),
        )),
    }
}

#[pymethods]
impl RedisStore {
    #[new]
    #[pyo3(signature = (
        url, *, prefix = None, timeout = None, sync_interval = None, probe_lease = None,
        when_unavailable = None
    ))]
    fn new(
        url: &Bound<'_, PyAny>,
        prefix: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        sync_interval: Option<&Bound<'_, PyAny>>,
        probe_lease: Option<&Bound<'_, PyAny>>,
        when_unavailable: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (urls, cluster) = match url.cast::<pyo3::types::PyList>() {
            Ok(list) => {
                let mut urls = Vec::with_capacity(list.len());
                for item in list.iter() {
                    urls.push(string(&item, "url")?.to_cow()?.into_owned());
                }
                if urls.is_empty() {
                    return Err(invalid("url", "a cluster needs at least one node's URL"));
                }
                (urls, true)
            }
            Err(_) => (vec![string(url, "url")?.to_cow()?.into_owned()], false),
        };
        let mut config = SharedConfig::default();
        if let Some(prefix) = given(prefix) {
            config.prefix = string(prefix, "prefix")?.to_cow()?.into_owned();
        }
        if let Some(v) = given(timeout) {
            config.timeout = seconds(v, "timeout")?;
        }
        if let Some(v) = given(sync_interval) {
            config.sync_interval = seconds(v, "sync_interval")?;
        }
        if let Some(v) = given(probe_lease) {
            config.probe_lease = seconds(v, "probe_lease")?;
        }
        if let Some(v) = given(when_unavailable) {
            config.when_unavailable = self::when_unavailable(v)?;
        }
        config.validate().map_err(config_error)?;
        let store = Self {
            urls,
            cluster,
            config,
            live: Mutex::new(None),
        };
        // Checks the URL now (it does not connect).
        store.live()?;
        Ok(store)
    }

    /// The start of every key.
    #[getter]
    fn prefix(&self) -> &str {
        &self.config.prefix
    }

    /// The longest a Redis call may take, in seconds.
    #[getter]
    fn timeout(&self) -> f64 {
        secs(self.config.timeout)
    }

    /// How often each breaker reads the shared state, in seconds.
    #[getter]
    fn sync_interval(&self) -> f64 {
        secs(self.config.sync_interval)
    }

    /// How long a probe holds its slot without answering, in seconds.
    #[getter]
    fn probe_lease(&self) -> f64 {
        secs(self.config.probe_lease)
    }

    /// ``"fail_open"`` or ``"fail_closed"``.
    #[getter]
    fn when_unavailable(&self) -> &'static str {
        match self.config.when_unavailable {
            WhenUnavailable::FailOpen => "fail_open",
            WhenUnavailable::FailClosed => "fail_closed",
        }
    }

    /// Whether Redis answers a ``PING`` within ``timeout`` (the GIL is released
    /// while waiting).
    fn ping(&self, py: Python<'_>) -> PyResult<bool> {
        let live = self.live()?;
        let store = live.store.clone();
        let answer = runtime::block_on(
            py,
            live.runtime,
            async move { store.ping().await },
            self.bound(),
        )?;
        Ok(answer.is_ok())
    }

    fn __repr__(&self) -> String {
        // Not the URL: it may hold a password.
        format!(
            "RedisStore(prefix={:?}, timeout={}, sync_interval={}, when_unavailable={:?})",
            self.config.prefix,
            self.timeout(),
            self.sync_interval(),
            self.when_unavailable()
        )
    }
}

impl RedisStore {
    /// The store of the current fork epoch (built on first use in each).
    pub(crate) fn live(&self) -> PyResult<Arc<LiveStore>> {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(current) = &*live
            && current.epoch == epoch()
        {
            return Ok(Arc::clone(current));
        }
        let runtime = runtime::runtime()?;
        let store = {
            let _context = runtime.tokio.enter();
            if self.cluster {
                let nodes: Vec<&str> = self.urls.iter().map(String::as_str).collect();
                seawall::redis::RedisStore::cluster(&nodes, self.config.clone())
            } else {
                seawall::redis::RedisStore::new(&self.urls[0], self.config.clone())
            }
        }
        .map_err(|error| match error {
            StoreError::Config(error) => config_error(error),
            other => invalid("url", other),
        })?;
        let current = Arc::new(LiveStore {
            epoch: runtime.epoch,
            runtime,
            store,
        });
        *live = Some(Arc::clone(&current));
        Ok(current)
    }

    /// The longest a bridged call may take: its Redis calls are bounded by
    /// the timeout (a sync may wait for another one first); this only guards
    /// against a runtime that cannot run.
    pub(crate) fn bound(&self) -> Duration {
        self.config
            .timeout
            .saturating_mul(4)
            .saturating_add(Duration::from_secs(2))
    }
}

/// `RedisUnavailableError(message)`, or `SharedStateCorruptError(message,
/// fields)` for a corrupt state, both defined in `seawall/_redis.py`.
pub(crate) fn unavailable(py: Python<'_>, error: StoreError) -> PyErr {
    static UNAVAILABLE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static CORRUPT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let message = error.to_string();
    let class = match &error {
        StoreError::Corrupt(_) => CORRUPT.import(py, "seawall._redis", "SharedStateCorruptError"),
        _ => UNAVAILABLE.import(py, "seawall._redis", "RedisUnavailableError"),
    };
    match (class, error) {
        (Ok(class), StoreError::Corrupt(fields)) => {
            PyErr::from_type(class.clone(), (message, fields))
        }
        (Ok(class), _) => PyErr::from_type(class.clone(), message),
        (Err(error), _) => error,
    }
}
