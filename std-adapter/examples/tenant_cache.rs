//! An integration example: a tenant cache (moka) in front of a tenant
//! database that goes down (hangs), and comes back; once without and once with
//! a circuit breaker.
//!
//! 20 clients ask for tenants for 8 s, in three phases: healthy (1 s), outage
//! (4 s: every query hangs until the 2 s query timeout), recovery (3 s). Per
//! phase it prints the calls, what answered them (cache, database), the
//! failures and rejections, and the latency percentiles. Without the breaker a
//! call during the outage waits the full 2 s; with it, once the breaker has
//! seen 5 failures, a call is rejected in well under a microsecond, and the
//! cache keeps serving what it has.
//!
//! ```sh
//! cargo run --release -p seawall --example tenant_cache
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use moka::future::Cache;
use seawall::core::rng::{Rng, SplitMix64};
use seawall::{CircuitBreaker, CircuitBreakerConfig, Error, with_timeout};

const CLIENTS: u64 = 20;
const TENANTS: u64 = 5_000;
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
const PHASES: [(&str, Duration); 3] = [
    ("healthy", Duration::from_secs(1)),
    ("outage", Duration::from_secs(4)),
    ("recovery", Duration::from_secs(3)),
];

#[derive(Debug, Clone)]
struct Tenant {
    #[allow(dead_code)]
    id: u64,
}

#[derive(Debug)]
enum DbError {
    TimedOut,
}

/// The tenant database: 2 ms per query when up; hangs when down.
struct TenantDb {
    down: AtomicU8,
}

impl TenantDb {
    async fn fetch(&self, id: u64) -> Result<Tenant, DbError> {
        let query = async {
            if self.down.load(Ordering::Relaxed) == 1 {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            Tenant { id }
        };
        with_timeout(QUERY_TIMEOUT, || query)
            .await
            .map_err(|_| DbError::TimedOut)
    }
}

/// How a lookup ended.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Cache,
    Database,
    Failed,
    Rejected,
}

/// The tenant cache: the cache first, then the database through the
/// breaker (if any).
struct TenantCache {
    cache: Cache<u64, Tenant>,
    db: Arc<TenantDb>,
    circuit_breaker: Option<CircuitBreaker>,
}

impl TenantCache {
    /// How the lookup ended, and how long the database step took (the query
    /// through the breaker, or its rejection), if there was one.
    async fn get_or_fetch(&self, id: u64) -> (Answer, Option<Duration>) {
        if self.cache.get(&id).await.is_some() {
            return (Answer::Cache, None);
        }
        let start = Instant::now();
        let fetched = match &self.circuit_breaker {
            Some(cb) => cb.call(|| self.db.fetch(id)).await,
            None => self.db.fetch(id).await.map_err(Error::Inner),
        };
        let took = Some(start.elapsed());
        match fetched {
            Ok(tenant) => {
                self.cache.insert(id, tenant).await;
                (Answer::Database, took)
            }
            Err(Error::Inner(DbError::TimedOut)) => (Answer::Failed, took),
            Err(_) => (Answer::Rejected, took),
        }
    }
}

struct Sample {
    phase: usize,
    answer: Answer,
    /// The whole lookup, cache included.
    latency: Duration,
    /// The database step alone.
    fetch: Option<Duration>,
}

async fn run(with_breaker: bool) -> Vec<Sample> {
    let db = Arc::new(TenantDb {
        down: AtomicU8::new(0),
    });
    let circuit_breaker = with_breaker.then(|| {
        CircuitBreaker::new(
            "tenant-db",
            CircuitBreakerConfig {
                failure_threshold: 5,
                success_threshold: 2,
                timeout: Duration::from_secs(1),
                // A probe that hangs must not keep the breaker half-open (and
                // every other call rejected) for the whole query timeout.
                max_wait_in_half_open: Some(Duration::from_millis(500)),
                ..Default::default()
            },
        )
    });
    let cache = Arc::new(TenantCache {
        cache: Cache::builder()
            .max_capacity(TENANTS)
            .time_to_live(Duration::from_millis(500))
            .build(),
        db: Arc::clone(&db),
        circuit_breaker,
    });
    let phase = Arc::new(AtomicU8::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let cache = Arc::clone(&cache);
            let phase = Arc::clone(&phase);
            tokio::spawn(async move {
                let mut rng = SplitMix64::new(client);
                let mut samples = Vec::new();
                loop {
                    let current = phase.load(Ordering::Relaxed) as usize;
                    if current >= PHASES.len() {
                        return samples;
                    }
                    let id = rng.next_u64() % TENANTS;
                    let start = Instant::now();
                    let (answer, fetch) = cache.get_or_fetch(id).await;
                    let latency = start.elapsed();
                    samples.push(Sample {
                        phase: current,
                        answer,
                        latency,
                        fetch,
                    });
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        })
        .collect();
    for (index, (_, length)) in PHASES.iter().enumerate() {
        db.down.store(u8::from(index == 1), Ordering::Relaxed);
        phase.store(index as u8, Ordering::Relaxed);
        tokio::time::sleep(*length).await;
    }
    phase.store(PHASES.len() as u8, Ordering::Relaxed);
    let mut samples = Vec::new();
    for client in clients {
        samples.extend(client.await.expect("client task"));
    }
    if let Some(cb) = &cache.circuit_breaker {
        let stats = cb.stats();
        println!(
            "  breaker: {} transitions, success rate {:.1} %, rejection rate {:.1} %, now {}",
            stats.state_transitions,
            stats.success_rate() * 100.0,
            stats.rejection_rate() * 100.0,
            cb.state()
        );
    }
    samples
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn show(latency: Duration) -> String {
    let nanos = latency.as_nanos();
    match nanos {
        0..=9_999 => format!("{nanos} ns"),
        10_000..=9_999_999 => format!("{:.1} µs", nanos as f64 / 1e3),
        10_000_000..=9_999_999_999 => format!("{:.1} ms", nanos as f64 / 1e6),
        _ => format!("{:.2} s", nanos as f64 / 1e9),
    }
}

/// Prints one line per phase; returns the p50 of the rejections and of the
/// failures of the outage.
fn report(samples: &[Sample]) -> (Duration, Duration) {
    println!(
        "  {:<9} {:>7} {:>7} {:>7} {:>7} {:>8} {:>10} {:>10} {:>10}",
        "phase", "calls", "cache", "db", "failed", "rejected", "p50", "p99", "max"
    );
    let mut outage = (Duration::ZERO, Duration::ZERO);
    for (index, (name, _)) in PHASES.iter().enumerate() {
        let phase: Vec<&Sample> = samples.iter().filter(|s| s.phase == index).collect();
        let count = |answer| phase.iter().filter(|s| s.answer == answer).count();
        let mut latencies: Vec<Duration> = phase.iter().map(|s| s.latency).collect();
        latencies.sort();
        println!(
            "  {:<9} {:>7} {:>7} {:>7} {:>7} {:>8} {:>10} {:>10} {:>10}",
            name,
            phase.len(),
            count(Answer::Cache),
            count(Answer::Database),
            count(Answer::Failed),
            count(Answer::Rejected),
            show(percentile(&latencies, 0.50)),
            show(percentile(&latencies, 0.99)),
            show(latencies.last().copied().unwrap_or_default()),
        );
        if index == 1 {
            let median_of = |answer| {
                let mut of: Vec<Duration> = phase
                    .iter()
                    .filter(|s| s.answer == answer)
                    .filter_map(|s| s.fetch)
                    .collect();
                of.sort();
                percentile(&of, 0.5)
            };
            outage = (median_of(Answer::Rejected), median_of(Answer::Failed));
        }
    }
    outage
}

#[tokio::main]
async fn main() {
    println!(
        "{CLIENTS} clients, {TENANTS} tenants, cache TTL 500 ms; the database hangs during the outage \
         (query timeout {QUERY_TIMEOUT:?})\n"
    );
    println!("without a circuit breaker:");
    let without = run(false).await;
    let (_, hanging) = report(&without);
    println!(
        "\nwith a circuit breaker (5 failures open it for 1 s, 2 successful probes close it, \
         a probe unanswered for 500 ms reopens it):"
    );
    let with = run(true).await;
    let (rejected, _) = report(&with);
    println!(
        "\nduring the outage, the database step of a lookup (median, timed around \
         `cb.call`):\n  without the breaker, a query that hangs: {}\n  with it, a rejection: {} \
         (the lookups' p50 above adds the cache miss and the timing itself)",
        show(hanging),
        show(rejected)
    );
}
