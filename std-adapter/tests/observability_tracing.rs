//! `tracing` events of circuit breakers (feature `tracing`), captured by a
//! test subscriber.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seawall::{CircuitBreaker, CircuitBreakerConfig};
use tracing::Level;
use tracing::field::{Field, Visit};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

#[derive(Debug, Clone, PartialEq)]
struct Captured {
    level: Level,
    target: String,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

impl Capture {
    fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().into(),
            fields: fields.0,
        });
    }
}

/// One test at a time: `tracing` caches each callsite's interest and the
/// maximum level globally, so per-thread subscribers of tests running in
/// parallel can make one another miss events.
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the test's subscriber and its turn until dropped.
struct Guard {
    _subscriber: tracing::subscriber::DefaultGuard,
    _turn: std::sync::MutexGuard<'static, ()>,
}

/// Captures the events of this thread at `level` and above until the guard drops.
fn capture(level: LevelFilter) -> (Capture, Guard) {
    let turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone().with_filter(level));
    let guard = Guard {
        _subscriber: tracing::subscriber::set_default(subscriber),
        _turn: turn,
    };
    (capture, guard)
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn breaker() -> CircuitBreaker {
    CircuitBreaker::new(
        "db",
        CircuitBreakerConfig {
            failure_threshold: 1,
            success_threshold: 1,
            timeout: Duration::from_secs(10),
            ..Default::default()
        },
    )
}

#[tokio::test(start_paused = true)]
async fn opening_warns_and_closing_informs() {
    let (capture, _guard) = capture(LevelFilter::INFO);
    let db = breaker();
    let _ = db.call(|| async { Err::<(), _>("down") }).await;
    tokio::time::advance(Duration::from_secs(10)).await;
    db.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
    db.force_open();

    let events = capture.take();
    let summary: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.level,
                e.fields["message"].as_str(),
                e.fields["to"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Level::WARN, "circuit breaker opened", "open"),
            (Level::INFO, "circuit breaker changed state", "half_open"),
            (Level::INFO, "circuit breaker closed", "closed"),
            (Level::WARN, "circuit breaker opened", "forced_open"),
        ]
    );
    assert_eq!(events[0].target, "seawall::circuit_breaker");
    assert_eq!(
        events[0].fields,
        fields(&[
            ("message", "circuit breaker opened"),
            ("breaker", "db"),
            ("from", "closed"),
            ("to", "open"),
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn rejections_are_reported_at_most_once_a_second_per_breaker() {
    let db = breaker();
    let other = CircuitBreaker::new("cache", CircuitBreakerConfig::default());
    let _ = db.call(|| async { Err::<(), _>("down") }).await;
    other.force_open();
    let (capture, _guard) = capture(LevelFilter::DEBUG);

    let reject = |cb: &CircuitBreaker| assert!(cb.try_acquire().is_err());
    for _ in 0..5 {
        reject(&db);
    }
    reject(&other);
    tokio::time::advance(Duration::from_millis(999)).await;
    reject(&db);
    tokio::time::advance(Duration::from_millis(1)).await;
    reject(&db);

    let events = capture.take();
    let seen: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.level,
                e.fields["breaker"].as_str(),
                e.fields["suppressed"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (Level::DEBUG, "db", "0"),
            (Level::DEBUG, "cache", "0"),
            // The four rejections after the first, and the one at 999 ms.
            (Level::DEBUG, "db", "5"),
        ]
    );
    assert_eq!(
        events[0].fields["message"],
        "circuit breaker rejected a call"
    );
    assert_eq!(events[0].fields["reason"], "open");
    assert_eq!(events[0].fields["retry_after_ms"], "10000");
    assert_eq!(events[1].fields["reason"], "forced_open");
    assert!(!events[1].fields.contains_key("retry_after_ms"));
    assert_eq!(events[2].fields["retry_after_ms"], "9000");
}

#[tokio::test(start_paused = true)]
async fn without_debug_rejections_emit_nothing() {
    let db = breaker();
    let (capture, _guard) = capture(LevelFilter::INFO);
    let _ = db.call(|| async { Err::<(), _>("down") }).await;
    for _ in 0..3 {
        assert!(db.try_acquire().is_err());
    }
    let events = capture.take();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].level, Level::WARN);
}

#[cfg(feature = "redis")]
#[path = "redis_support/mod.rs"]
mod redis_support;

/// A shared breaker that reads a corrupt state from Redis warns, naming the
/// fields (the sync runs on this thread, where the subscriber listens).
#[cfg(feature = "redis")]
#[tokio::test]
async fn a_corrupt_shared_state_warns() {
    use redis_support::{RedisServer, fast, store};
    let server = RedisServer::start();
    let quiet = seawall::redis::SharedConfig {
        sync_interval: Duration::from_secs(3600),
        ..fast()
    };
    let cb = store(&server.url(), quiet)
        .breaker("ledger", CircuitBreakerConfig::default())
        .unwrap();
    cb.sync().await.unwrap();
    server.command(&["HSET", "{test:breaker:ledger}", "failures", "-3"]);
    let (capture, _guard) = capture(LevelFilter::WARN);
    assert!(cb.sync().await.is_err());
    let events = capture.take();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].level, Level::WARN);
    assert_eq!(
        events[0].fields,
        fields(&[
            ("breaker", "ledger"),
            ("fields", "failures"),
            (
                "message",
                "shared circuit breaker state in Redis was corrupt; repaired"
            ),
        ])
    );
}
