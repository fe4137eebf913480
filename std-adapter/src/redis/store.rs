//! The connection to Redis that shared breakers and rate limiters use, and the
//! options they share: key prefix, timeout, sync interval, probe lease and
//! what to do when Redis cannot be reached.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Pipeline, RedisError, RedisFuture, Script, Value};
use seawall_core::ConfigError;

use super::breaker::{SharedCircuitBreaker, SharedCircuitBreakerBuilder};
use super::rate_limit::{SharedRateLimiter, SharedRateLimiterBuilder};
use super::scripts::Arg;
use crate::{CircuitBreakerConfig, RateLimiterConfig};

/// What a shared breaker or rate limiter does while Redis cannot be reached
/// (down, slow past [`SharedConfig::timeout`], or cut off).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WhenUnavailable {
    /// Decide locally (the default). A breaker falls back to a local breaker of
    /// the core, seeded with the last shared state it saw (an open breaker stays
    /// open for the rest of its open duration, a closed one keeps its count of
    /// failures); a rate limiter to a local limiter with the same quota, which
    /// holds per process, not for the fleet.
    #[default]
    FailOpen,
    /// Reject every call until Redis answers again: the breaker as if open
    /// (retry after one sync interval), the rate limiter as if its quota were
    /// spent.
    FailClosed,
}

/// The options of a [`RedisStore`], shared by every breaker and rate limiter
/// made from it.
///
/// ```
/// use std::time::Duration;
/// use seawall::redis::{SharedConfig, WhenUnavailable};
///
/// let config = SharedConfig {
///     prefix: "checkout".into(),
///     sync_interval: Duration::from_millis(50),
///     ..Default::default()
/// };
/// assert_eq!(config.timeout, Duration::from_millis(100));
/// assert_eq!(config.when_unavailable, WhenUnavailable::FailOpen);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedConfig {
    /// The start of every key (`{prefix}:breaker:{name}`, `{prefix}:rate:{name}`),
    /// so that two services never share a breaker by accident (default
    /// `seawall`; not empty).
    pub prefix: String,
    /// The longest any Redis call may take before it counts as Redis being
    /// unavailable (default 100 ms). No call waits longer than this on Redis.
    pub timeout: Duration,
    /// How often each breaker reads the shared state and reports the outcomes
    /// it has not reported yet (default 100 ms): an Open decided elsewhere
    /// reaches this process within one interval plus one round trip. Also how
    /// often a breaker in fallback tries Redis again.
    pub sync_interval: Duration,
    /// How long a half-open probe holds its slot without answering (default
    /// 30 s): the slot of a probe whose process died is free again after this.
    /// Keep it above the longest call.
    pub probe_lease: Duration,
    /// What to do while Redis cannot be reached (default
    /// [`WhenUnavailable::FailOpen`]).
    pub when_unavailable: WhenUnavailable,
}

impl Default for SharedConfig {
    fn default() -> Self {
        Self {
            prefix: "seawall".into(),
            timeout: Duration::from_millis(100),
            sync_interval: Duration::from_millis(100),
            probe_lease: Duration::from_secs(30),
            when_unavailable: WhenUnavailable::FailOpen,
        }
    }
}

impl SharedConfig {
    /// Checks every option.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.prefix.is_empty() {
            return Err(ConfigError::new("prefix", "must not be empty"));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::new("timeout", "must be greater than zero"));
        }
        if self.sync_interval.is_zero() {
            return Err(ConfigError::new(
                "sync_interval",
                "must be greater than zero",
            ));
        }
        if self.probe_lease < Duration::from_micros(1) {
            return Err(ConfigError::new(
                "probe_lease",
                "must be at least one microsecond",
            ));
        }
        Ok(())
    }
}

/// Why a call to Redis did not give an answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// Redis did not answer within [`SharedConfig::timeout`].
    Timeout(Duration),
    /// The client or the server reported an error (connection refused, a
    /// script error, ...).
    Redis(RedisError),
    /// A script answered something this crate does not understand (another
    /// version of seawall's scripts under the same key?).
    Reply,
    /// The shared state held values out of range in these fields (not a
    /// number, negative, too large, an unknown state): they were read as
    /// their defaults and the state was written back repaired.
    Corrupt(Vec<&'static str>),
    /// The store was made outside a tokio runtime.
    NoRuntime,
    /// An option of [`SharedConfig`] is invalid.
    Config(ConfigError),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Timeout(after) => write!(f, "redis did not answer within {after:?}"),
            StoreError::Redis(error) => write!(f, "redis: {error}"),
            StoreError::Reply => f.write_str("redis: unexpected reply from a seawall script"),
            StoreError::Corrupt(fields) => write!(
                f,
                "redis: the shared state held corrupt values ({}); read as defaults and repaired",
                fields.join(", ")
            ),
            StoreError::NoRuntime => {
                f.write_str("a RedisStore must be made inside a tokio runtime")
            }
            StoreError::Config(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Redis(error) => Some(error),
            StoreError::Config(error) => Some(error),
            _ => None,
        }
    }
}

impl From<RedisError> for StoreError {
    fn from(error: RedisError) -> Self {
        StoreError::Redis(error)
    }
}

/// A connection to Redis for shared breakers and rate limiters.
///
/// One multiplexed connection, re-established in the background when it
/// breaks (redis' `ConnectionManager`); every call on it is bounded by
/// [`SharedConfig::timeout`]. A store is a handle: clones share the connection.
/// Making one does not connect (a process may start while Redis is down: its
/// breakers start in fallback and join the shared state when Redis answers).
///
/// ```no_run
/// use seawall::CircuitBreakerConfig;
/// use seawall::redis::{RedisStore, SharedConfig};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::new("redis://127.0.0.1:6379", SharedConfig::default())?;
/// let cb = store.breaker("database", CircuitBreakerConfig::default())?;
/// let rows = cb.call(|| async { Ok::<_, std::io::Error>(7) }).await?;
/// # let _ = rows;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    connection: Connection,
    config: SharedConfig,
    runtime: tokio::runtime::Handle,
}

/// A connection to use now: one server's, or a cluster's.
enum Handle {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Handle {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Handle::Single(connection) => connection.req_packed_command(cmd),
            Handle::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Handle::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Handle::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Handle::Single(connection) => connection.get_db(),
            Handle::Cluster(connection) => connection.get_db(),
        }
    }
}

/// One server, or a cluster.
enum Connection {
    /// One multiplexed connection, re-established when it breaks.
    Single(ConnectionManager),
    /// A cluster connection (routing each script to its key slot's node),
    /// made on first use.
    Cluster {
        client: Box<ClusterClient>,
        connection: tokio::sync::OnceCell<ClusterConnection>,
    },
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://host:port/db`), with `config`.
    /// Must be called inside a tokio runtime (its background work runs there);
    /// does not wait for Redis.
    pub fn new(url: &str, config: SharedConfig) -> Result<Self, StoreError> {
        config.validate().map_err(StoreError::Config)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StoreError::NoRuntime)?;
        let client = redis::Client::open(url)?;
        // Every call is bounded by our own timeout; the manager's reconnection
        // makes one quick attempt per call, so a returning Redis is found at
        // the next sync.
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(5))
            .set_max_delay(config.sync_interval);
        let connection = ConnectionManager::new_lazy_with_config(client, manager)?;
        Ok(Self::with(Connection::Single(connection), config, runtime))
    }

    /// A store for the Redis Cluster reached through `nodes` (some of its
    /// nodes, `redis://host:port`), with `config`. Every script of a shared
    /// breaker touches one key slot (its keys share a hash tag), and runs on
    /// the node that holds it. Must be called inside a tokio runtime; does
    /// not wait for Redis (it connects on first use).
    ///
    /// ```no_run
    /// use seawall::redis::{RedisStore, SharedConfig};
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let nodes = ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"];
    /// let store = RedisStore::cluster(&nodes, SharedConfig::default())?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub fn cluster(nodes: &[&str], config: SharedConfig) -> Result<Self, StoreError> {
        config.validate().map_err(StoreError::Config)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StoreError::NoRuntime)?;
        let client = ClusterClient::builder(nodes.iter().copied())
            .connection_timeout(config.timeout)
            .response_timeout(config.timeout)
            .retries(1)
            .build()?;
        let connection = Connection::Cluster {
            client: Box::new(client),
            connection: tokio::sync::OnceCell::new(),
        };
        Ok(Self::with(connection, config, runtime))
    }

    fn with(connection: Connection, config: SharedConfig, runtime: tokio::runtime::Handle) -> Self {
        Self {
            inner: Arc::new(StoreInner {
                connection,
                config,
                runtime,
            }),
        }
    }

    /// The options.
    pub fn config(&self) -> &SharedConfig {
        &self.inner.config
    }

    /// Asks Redis whether it is there (within the timeout).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.query::<String>(redis::cmd("PING")).await.map(drop)
    }

    /// Runs `command` within the timeout.
    async fn query<T: FromRedisValue>(&self, command: Cmd) -> Result<T, StoreError> {
        self.bounded(async move { command.query_async(&mut self.connection().await?).await })
            .await
    }

    /// A handle on the connection (a cluster's is made on first use).
    async fn connection(&self) -> Result<Handle, RedisError> {
        Ok(match &self.inner.connection {
            Connection::Single(manager) => Handle::Single(manager.clone()),
            Connection::Cluster { client, connection } => Handle::Cluster(
                connection
                    .get_or_try_init(|| client.get_async_connection())
                    .await?
                    .clone(),
            ),
        })
    }

    /// A shared breaker named `name` with `config` (see
    /// [`SharedCircuitBreaker`]); the breakers of every process that use the
    /// same prefix and name share one state.
    pub fn breaker(
        &self,
        name: impl Into<String>,
        config: CircuitBreakerConfig,
    ) -> Result<SharedCircuitBreaker, ConfigError> {
        self.breaker_builder(name).config(config).build()
    }

    /// A builder of a shared breaker, for a classifier, a clock or a listener.
    pub fn breaker_builder(&self, name: impl Into<String>) -> SharedCircuitBreakerBuilder {
        SharedCircuitBreakerBuilder::new(self.clone(), name.into())
    }

    /// A shared rate limiter named `name`: the quota of `config` holds for
    /// every process that uses the same prefix and name together.
    pub fn rate_limiter(
        &self,
        name: impl AsRef<str>,
        config: RateLimiterConfig,
    ) -> Result<SharedRateLimiter, ConfigError> {
        SharedRateLimiter::new(self.clone(), name.as_ref(), config, None)
    }

    /// A builder of a shared rate limiter named `name`, for more options
    /// than [`rate_limiter`](Self::rate_limiter) takes.
    pub fn rate_limiter_builder(&self, name: impl Into<String>) -> SharedRateLimiterBuilder {
        SharedRateLimiterBuilder::new(self.clone(), name.into())
    }

    /// Deletes `key`, within the timeout.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let mut command = redis::cmd("DEL");
        command.arg(key);
        self.query::<i64>(command).await.map(drop)
    }

    /// `{prefix}:{kind}:{name}`.
    pub(crate) fn key(&self, kind: &str, name: &str) -> String {
        format!("{}:{kind}:{name}", self.inner.config.prefix)
    }

    /// The keys of a breaker: its state, `{{prefix}:breaker:{name}}`, and its
    /// window, the same with `:window`. The braces are a hash tag: both keys
    /// are in one key slot, so a script may touch both on a Redis Cluster.
    pub(crate) fn breaker_keys(&self, name: &str) -> [String; 2] {
        let state = format!("{{{}}}", self.key("breaker", name));
        let window = format!("{state}:window");
        [state, window]
    }

    pub(crate) fn runtime(&self) -> &tokio::runtime::Handle {
        &self.inner.runtime
    }

    /// Runs `script` on `keys` with `args`, within the timeout.
    pub(crate) async fn eval<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[Arg],
    ) -> Result<T, StoreError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        self.bounded(async move { invocation.invoke_async(&mut self.connection().await?).await })
            .await
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        let timeout = self.inner.config.timeout;
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(StoreError::Redis(error)),
            Err(_) => Err(StoreError::Timeout(timeout)),
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("RedisStore")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}
