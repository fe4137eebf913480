//! A readiness endpoint and Prometheus metrics over HTTP, beside a service
//! whose dependency goes down now and then.
//!
//! ```text
//! cargo run -p seawall --example health_server --features prometheus,serde
//! curl -i http://127.0.0.1:3000/health     # 200 healthy/degraded, 503 unhealthy
//! curl http://127.0.0.1:3000/metrics       # OpenMetrics text
//! ```
//!
//! The address can be given as the first argument (`127.0.0.1:0` picks a free
//! port). The simulated database is down for 10 s of every 30 s: watch the
//! breaker open, the status turn unhealthy (it is critical), then a probe
//! close it again.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State as AxumState;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use seawall::{
    Bulkhead, BulkheadConfig, CircuitBreaker, CircuitBreakerConfig, Registry, RetryPolicy,
    RetryStrategy,
};

#[derive(Clone)]
struct App {
    registry: Registry,
    prometheus: Arc<prometheus_client::registry::Registry>,
}

/// The readiness endpoint: the health report as JSON, 503 when unhealthy.
async fn health(AxumState(app): AxumState<App>) -> impl IntoResponse {
    let report = app.registry.health();
    let status = StatusCode::from_u16(report.status.http_status())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_string_pretty(&report).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body)
}

/// The metrics endpoint, in the OpenMetrics text format.
async fn metrics(AxumState(app): AxumState<App>) -> impl IntoResponse {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &app.prometheus) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            String::new(),
        ),
    }
}

/// A database that is down for the first 10 s of every 30 s.
async fn query(started: tokio::time::Instant) -> Result<u64, &'static str> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if started.elapsed().as_secs() % 30 < 10 {
        Err("connection refused")
    } else {
        Ok(42)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());

    let registry = Registry::builder()
        .call_durations(&seawall::registry::DEFAULT_BUCKETS)
        .build();
    let database = CircuitBreaker::new(
        "database",
        CircuitBreakerConfig {
            failure_threshold: 5,
            success_threshold: 2,
            timeout: Duration::from_secs(5),
            ..Default::default()
        },
    );
    registry.register_critical_breaker(&database)?;
    let retry = registry.register_retry(
        "database",
        RetryPolicy {
            max_attempts: 2,
            strategy: RetryStrategy::Fixed {
                delay: Duration::from_millis(50),
            },
            ..Default::default()
        },
    )?;
    let pool = Bulkhead::new(BulkheadConfig {
        max_concurrent: 10,
        ..Default::default()
    });
    registry.register_bulkhead("database", &pool)?;

    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);

    // The service's own work: a query every 100 ms, through retry, bulkhead
    // and breaker.
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            // Failures and rejections are in the metrics; a real service
            // would answer its own caller here.
            let _ = retry
                .execute(|| pool.call(|| database.call(|| query(started))))
                .await;
        }
    });

    let app = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(App {
            registry,
            prometheus: Arc::new(prometheus),
        });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "listening on http://{}: /health and /metrics",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
