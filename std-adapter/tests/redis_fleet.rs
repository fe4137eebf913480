//! A fleet of separate processes on one redis-server: this test binary runs
//! again as child processes (each test is both the parent and, with
//! `SEAWALL_FLEET_ROLE` set, the child it starts), which report on stdout in
//! lines `FLEET key=value`.

mod redis_support;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use seawall::core::breaker::RejectReason;
use seawall::redis::{RedisStore, SharedConfig};
use seawall::{CircuitBreakerConfig, RateLimiterConfig, State};

use redis_support::{RedisServer, eventually, eventually_some, fast};

const ROLE: &str = "SEAWALL_FLEET_ROLE";
const URL: &str = "SEAWALL_FLEET_URL";
const START: &str = "SEAWALL_FLEET_START_US";
const BOUND: Duration = Duration::from_secs(20);

/// Starts `n` children running the test `test` of this binary.
fn spawn(test: &str, n: usize, url: &str, env: &[(&str, String)]) -> Vec<Child> {
    let exe = std::env::current_exe().expect("the test binary");
    (0..n)
        .map(|_| {
            Command::new(&exe)
                .args([test, "--exact", "--nocapture", "--test-threads", "1"])
                .env(ROLE, "child")
                .env(URL, url)
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn a child process")
        })
        .collect()
}

/// Waits for every child (killing any that outlives `BOUND`) and returns the
/// `FLEET` reports of each; a child that failed fails the test.
fn reports(children: Vec<Child>) -> Vec<Vec<String>> {
    let deadline = Instant::now() + BOUND * 2;
    children
        .into_iter()
        .map(|mut child| {
            while child.try_wait().expect("wait").is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("a child process did not finish in time");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let output = child.wait_with_output().expect("output");
            assert!(
                output.status.success(),
                "a child process failed: {}",
                output.status
            );
            String::from_utf8_lossy(&output.stdout)
                .lines()
                // After libtest's `test name ... ` on the same line.
                .filter_map(|line| {
                    line.split_once("FLEET ")
                        .map(|(_, report)| report.to_owned())
                })
                .collect()
        })
        .collect()
}

fn report(line: &str) {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "FLEET {line}").unwrap();
    stdout.flush().unwrap();
}

fn child_store(shared: SharedConfig) -> RedisStore {
    RedisStore::new(&std::env::var(URL).unwrap(), shared).unwrap()
}

fn is_child() -> bool {
    std::env::var_os(ROLE).is_some()
}

fn epoch_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

// --- opening together ----------------------------------------------------

fn opening() -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        failure_threshold: 8,
        timeout: Duration::from_secs(60),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_processes_open_together_when_their_failures_add_up() {
    if is_child() {
        // Two failures: a quarter of the threshold.
        let cb = child_store(fast()).breaker("orders", opening()).unwrap();
        for _ in 0..2 {
            let result = cb.call(|| async { Err::<(), _>("down") }).await;
            assert!(result.unwrap_err().is_inner());
        }
        eventually("this process sees Open", BOUND, || async {
            cb.state() == State::Open
        })
        .await;
        let error = cb.call(|| async { Ok::<_, ()>(()) }).await.unwrap_err();
        assert_eq!(error.rejection().unwrap().reason(), RejectReason::Open);
        report("open");
        return;
    }
    let server = RedisServer::start();
    let observer = redis_support::store(&server.url(), fast())
        .breaker("orders", opening())
        .unwrap();
    let children = spawn(
        "separate_processes_open_together_when_their_failures_add_up",
        4,
        &server.url(),
        &[],
    );
    for lines in reports(children) {
        assert_eq!(lines, ["open"]);
    }
    eventually("the observer sees Open", BOUND, || async {
        observer.state() == State::Open
    })
    .await;
    let shared = observer.shared_state().await.unwrap();
    assert_eq!((shared.state, shared.trips), (State::Open, 1));
}

// --- half-open across processes -------------------------------------------

fn probing(half_open_max_calls: u32) -> CircuitBreakerConfig {
    CircuitBreakerConfig {
        failure_threshold: 1,
        success_threshold: 2,
        half_open_max_calls,
        timeout: Duration::from_millis(200),
        ..Default::default()
    }
}

/// In a child: waits for the end of the open duration, then reports whether
/// it got a probe; a child with a probe dies holding it.
async fn child_probe(shared: SharedConfig, half_open_max_calls: u32) {
    let cb = child_store(shared)
        .breaker("stock", probing(half_open_max_calls))
        .unwrap();
    let answer = eventually_some("the open duration ends", BOUND, || async {
        match cb.try_acquire().await {
            Ok(permit) => Some(Ok(permit)),
            Err(rejection) if rejection.reason() == RejectReason::Open => None,
            Err(rejection) => Some(Err(rejection)),
        }
    })
    .await;
    match answer {
        Ok(permit) => {
            assert!(permit.is_probe());
            report("probe");
            // Dies without answering or releasing: no destructor runs.
            std::process::exit(0);
        }
        Err(rejection) => {
            assert_eq!(rejection.reason(), RejectReason::HalfOpenFull);
            report("full");
        }
    }
}

async fn trip(url: &str, shared: SharedConfig, half_open_max_calls: u32) {
    let cb = redis_support::store(url, shared)
        .breaker("stock", probing(half_open_max_calls))
        .unwrap();
    let _ = cb.call(|| async { Err::<(), _>("down") }).await;
    assert_eq!(cb.sync().await.unwrap().state, State::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_admits_exactly_the_limit_across_processes() {
    let long_lease = SharedConfig {
        probe_lease: Duration::from_secs(120),
        ..fast()
    };
    if is_child() {
        return child_probe(long_lease, 2).await;
    }
    let server = RedisServer::start();
    trip(&server.url(), long_lease.clone(), 2).await;
    let children = spawn(
        "half_open_admits_exactly_the_limit_across_processes",
        5,
        &server.url(),
        &[],
    );
    let answers: Vec<String> = reports(children).into_iter().flatten().collect();
    let probes = answers.iter().filter(|a| *a == "probe").count();
    let full = answers.iter().filter(|a| *a == "full").count();
    assert_eq!((probes, full), (2, 3), "{answers:?}");
    let observer = redis_support::store(&server.url(), long_lease)
        .breaker("stock", probing(2))
        .unwrap();
    let shared = observer.shared_state().await.unwrap();
    assert_eq!(
        (shared.state, shared.probes_in_flight),
        (State::HalfOpen, 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slot_of_a_probe_whose_process_died_is_freed_by_its_lease() {
    // Long enough that no loaded machine sees it lapse by itself: the test
    // moves it into the past rather than wait for it.
    let lease = Duration::from_secs(120);
    let shared = SharedConfig {
        probe_lease: lease,
        ..fast()
    };
    if is_child() {
        return child_probe(shared, 1).await;
    }
    let server = RedisServer::start();
    trip(&server.url(), shared.clone(), 1).await;
    let children = spawn(
        "the_slot_of_a_probe_whose_process_died_is_freed_by_its_lease",
        1,
        &server.url(),
        &[],
    );
    assert_eq!(reports(children), [["probe"]]);
    // The dead process still holds the only slot...
    let cb = redis_support::store(&server.url(), shared)
        .breaker("stock", probing(1))
        .unwrap();
    let rejection = cb.try_acquire().await.unwrap_err();
    assert_eq!(rejection.reason(), RejectReason::HalfOpenFull);
    // ...until its lease expires: Redis's clock passes its expiry.
    let key = "{test:breaker:stock}";
    let leases = server.hget(key, "leases").unwrap();
    let (token, _) = leases.split_once(' ').unwrap();
    let lapsed = format!("{token} {}", server.time_micros() - 1);
    server.hset(key, "leases", &lapsed);
    cb.sync().await.unwrap();
    let probe = cb.try_acquire().await.unwrap();
    assert!(probe.is_probe());
}

// --- the fleet's rate limit -------------------------------------------------

const RATE: u64 = 20;
const BURST: u32 = 5;
const RUN: Duration = Duration::from_secs(1);

fn quota() -> RateLimiterConfig {
    RateLimiterConfig {
        rate: RATE,
        period: Duration::from_secs(1),
        burst: BURST,
        max_wait: Duration::ZERO,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleets_rate_limit_holds_within_the_burst_across_processes() {
    if is_child() {
        let limiter = child_store(fast()).rate_limiter("api", quota()).unwrap();
        let start: u64 = std::env::var(START).unwrap().parse().unwrap();
        while epoch_micros() < start {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let (mut admitted, mut first, mut last) = (0, u64::MAX, 0);
        while epoch_micros() < start + RUN.as_micros() as u64 {
            let before = epoch_micros();
            let allowed = limiter.check().await.is_ok();
            let after = epoch_micros();
            if allowed {
                admitted += 1;
                first = first.min(before);
                last = last.max(after);
            }
            assert!(!limiter.is_fallback());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        report(&format!("admitted={admitted} first={first} last={last}"));
        return;
    }
    let server = RedisServer::start();
    let start = epoch_micros() + 700_000;
    let children = spawn(
        "the_fleets_rate_limit_holds_within_the_burst_across_processes",
        4,
        &server.url(),
        &[(START, start.to_string())],
    );
    let mut total = 0;
    let (mut first, mut last) = (u64::MAX, 0);
    for lines in reports(children) {
        let [line] = &lines[..] else {
            panic!("{lines:?}")
        };
        let field = |name: &str| -> u64 {
            line.split(' ')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .unwrap()
                .parse()
                .unwrap()
        };
        total += field("admitted");
        first = first.min(field("first"));
        last = last.max(field("last"));
    }
    // Every admission of the fleet lies in [first, last]: at most the burst
    // plus the rate over that span (one more for the rounding of the span).
    let span = Duration::from_micros(last - first);
    let most = BURST as u64 + (RATE as f64 * span.as_secs_f64()).ceil() as u64 + 1;
    assert!(
        total <= most,
        "{total} admitted in {span:?}, at most {most}"
    );
    // Four processes each alone would have had the burst and more: the limit
    // did admit, close to the rate.
    assert!(
        total >= BURST as u64 + RATE / 2,
        "{total} admitted in {span:?}"
    );
}
