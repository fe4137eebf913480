//! An integration example: a tenant cache (moka) in front of a tenant
//! database that goes down (hangs), and comes back; once without and once with
//! a circuit breaker. With `--chaos`, the database stays up and a fault plan
//! injects 30 % errors and 200 ms of latency into its queries instead, for the
//! middle phase, to test the breaker's answer before production does.
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
//! cargo run --release -p seawall --example tenant_cache -- --chaos
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use moka::future::Cache;
use seawall::core::fault::{Fault, FaultRule};
use seawall::core::rng::{Rng, SplitMix64};
use seawall::{
    CircuitBreaker, CircuitBreakerConfig, Error, FaultInjector, FaultPlan, InjectedFault, Registry,
    SlidingWindow, with_timeout,
};

const CLIENTS: u64 = 20;
const TENANTS: u64 = 5_000;
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// The phases; with `--chaos` the middle one is the fault plan's, not an outage.
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
    /// A fault the chaos plan injected.
    Injected,
}

impl From<InjectedFault> for DbError {
    fn from(_: InjectedFault) -> Self {
        DbError::Injected
    }
}

/// The tenant database: 2 ms per query when up; hangs when down. Its queries
/// go through a fault injector, off unless switched on.
struct TenantDb {
    down: AtomicU8,
    chaos: FaultInjector,
}

impl TenantDb {
    async fn fetch(&self, id: u64) -> Result<Tenant, DbError> {
        let query = async {
            if self.down.load(Ordering::Relaxed) == 1 {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            Ok(Tenant { id })
        };
        with_timeout(QUERY_TIMEOUT, || self.chaos.call(|| query))
            .await
            .map_err(|_| DbError::TimedOut)?
    }
}

/// 30 % of the queries fail, and every one takes 200 ms longer.
fn chaos_plan() -> FaultPlan {
    FaultPlan::new(7)
        .rule(FaultRule::new(Fault::Error, 0.3))
        .rule(FaultRule::new(
            Fault::Latency(Duration::from_millis(200)),
            1.0,
        ))
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
            Err(Error::Inner(_)) => (Answer::Failed, took),
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

async fn run(with_breaker: bool, chaos: bool) -> Vec<Sample> {
    let registry = Registry::new();
    let db = Arc::new(TenantDb {
        down: AtomicU8::new(0),
        chaos: FaultInjector::new("tenant-db", chaos_plan()).expect("a valid plan"),
    });
    registry
        .register_fault_injector(&db.chaos)
        .expect("one injector");
    let config = if chaos {
        // Injected errors are not consecutive: a failure rate, and the
        // slow-call rate for the injected latency.
        CircuitBreakerConfig {
            window: Some(SlidingWindow::Count { size: 20 }),
            failure_rate_threshold: 0.25,
            slow_call_duration: Duration::from_millis(100),
            slow_call_rate_threshold: 0.5,
            minimum_calls: 20,
            success_threshold: 2,
            timeout: Duration::from_secs(1),
            ..Default::default()
        }
    } else {
        CircuitBreakerConfig {
            failure_threshold: 5,
            success_threshold: 2,
            timeout: Duration::from_secs(1),
            // A probe that hangs must not keep the breaker half-open (and
            // every other call rejected) for the whole query timeout.
            max_wait_in_half_open: Some(Duration::from_millis(500)),
            ..Default::default()
        }
    };
    let circuit_breaker = with_breaker.then(|| CircuitBreaker::new("tenant-db", config));
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
        if chaos {
            // Switched by name, as an admin endpoint would.
            let injector = registry.fault_injector("tenant-db").expect("registered");
            if index == 1 {
                injector.enable();
            } else {
                injector.disable();
            }
        } else {
            db.down.store(u8::from(index == 1), Ordering::Relaxed);
        }
        phase.store(index as u8, Ordering::Relaxed);
        tokio::time::sleep(*length).await;
    }
    if chaos {
        let counts = db.chaos.counts();
        println!(
            "  injected: {} errors, {} delayed queries",
            counts.errors, counts.latency
        );
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
    if std::env::args().any(|arg| arg == "--chaos") {
        return chaos().await;
    }
    println!(
        "{CLIENTS} clients, {TENANTS} tenants, cache TTL 500 ms; the database hangs during the outage \
         (query timeout {QUERY_TIMEOUT:?})\n"
    );
    println!("without a circuit breaker:");
    let without = run(false, false).await;
    let (_, hanging) = report(&without);
    println!(
        "\nwith a circuit breaker (5 failures open it for 1 s, 2 successful probes close it, \
         a probe unanswered for 500 ms reopens it):"
    );
    let with = run(true, false).await;
    let (rejected, _) = report(&with);
    println!(
        "\nduring the outage, the database step of a lookup (median, timed around \
         `cb.call`):\n  without the breaker, a query that hangs: {}\n  with it, a rejection: {} \
         (the lookups' p50 above adds the cache miss and the timing itself)",
        show(hanging),
        show(rejected)
    );
}

/// The chaos run: the database stays up; during the middle phase a fault plan
/// fails 30 % of its queries and delays every one by 200 ms.
async fn chaos() {
    println!(
        "{CLIENTS} clients, {TENANTS} tenants, cache TTL 500 ms; during the middle phase a fault \
         plan injects 30 % errors and 200 ms of latency into every query\n"
    );
    println!("without a circuit breaker:");
    report(&run(false, true).await);
    println!(
        "\nwith a circuit breaker (opens at a 25 % failure rate or 50 % slow calls over the \
         last 20, for 1 s; 2 successful probes close it):"
    );
    report(&run(true, true).await);
}
