//! A store on a Redis Cluster: three primaries started on 127.0.0.1 by the
//! test. Every script of a shared breaker touches one key slot (its keys
//! share a hash tag), so breakers whose keys live on different nodes work as
//! on one server.

mod redis_support;

use std::time::Duration;

use seawall::core::breaker::RejectReason;
use seawall::redis::{RedisStore, SharedConfig};
use seawall::{CircuitBreakerConfig, RateLimiterConfig, SlidingWindow, State};

use redis_support::{RedisCluster, eventually, fast};

const BOUND: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_breakers_and_a_limiter_work_on_a_three_node_cluster() {
    let cluster = RedisCluster::start(3);
    let urls = cluster.urls();
    let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
    let shared = SharedConfig {
        timeout: Duration::from_secs(2),
        ..fast()
    };
    let store = |config: &SharedConfig| RedisStore::cluster(&nodes, config.clone()).unwrap();
    let (a, b) = (store(&shared), store(&shared));
    let config = CircuitBreakerConfig {
        window: Some(SlidingWindow::Count { size: 4 }),
        minimum_calls: 4,
        failure_rate_threshold: 0.5,
        timeout: Duration::from_millis(200),
        success_threshold: 1,
        ..Default::default()
    };
    for name in ["orders", "payments", "search", "ledger", "mail", "stock"] {
        let here = a.breaker(name, config.clone()).unwrap();
        let there = b.breaker(name, config.clone()).unwrap();
        // Two calls each, half of them failures: the fleet's window trips it.
        for cb in [&here, &there] {
            cb.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
            let _ = cb.call(|| async { Err::<(), _>(()) }).await;
            cb.sync().await.unwrap();
        }
        eventually("open on both", BOUND, || async {
            here.state() == State::Open && there.state() == State::Open
        })
        .await;
        let window = there.sync().await.unwrap().window;
        assert_eq!((window.calls, window.failed), (4, 2), "{name}");
        // After the open duration, one probe across both closes it.
        let probe = redis_support::eventually_some("a probe", BOUND, || async {
            match here.try_acquire().await {
                Ok(permit) => Some(permit),
                Err(rejection) => {
                    assert_eq!(rejection.reason(), RejectReason::Open);
                    None
                }
            }
        })
        .await;
        assert!(probe.is_probe());
        // Read first: a view from before the probe may say Open a moment
        // more (its reckoning of Redis's clock lags by up to a round trip).
        there.sync().await.unwrap();
        assert_eq!(
            there.try_acquire().await.unwrap_err().reason(),
            RejectReason::HalfOpenFull
        );
        probe.success().await;
        assert_eq!(there.sync().await.unwrap().state, State::Closed);
        assert!(!here.is_fallback() && !there.is_fallback());
    }
    let per_node = cluster.keys_per_node();
    assert!(
        per_node.iter().filter(|&&keys| keys > 0).count() >= 2,
        "the breakers' keys live on several nodes: {per_node:?}"
    );

    let quota = RateLimiterConfig {
        rate: 1,
        period: Duration::from_secs(3600),
        burst: 3,
        max_wait: Duration::ZERO,
    };
    let (x, y) = (
        a.rate_limiter("api", quota).unwrap(),
        b.rate_limiter("api", quota).unwrap(),
    );
    let mut admitted = 0;
    for limiter in [&x, &y, &x, &y, &x] {
        admitted += usize::from(limiter.check().await.is_ok());
    }
    assert_eq!(admitted, 3);
    assert!(!x.is_fallback());
}
