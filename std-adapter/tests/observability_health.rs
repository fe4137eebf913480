//! The health report as JSON (feature `serde`).

use std::time::Duration;

use seawall::{CircuitBreaker, CircuitBreakerConfig, Registry};
use serde_json::{Value, json};

#[tokio::test(start_paused = true)]
async fn the_report_serialises_to_the_documented_shape() {
    let registry = Registry::new();
    let database = CircuitBreaker::new(
        "database",
        CircuitBreakerConfig {
            failure_threshold: 2,
            ..Default::default()
        },
    );
    registry.register_critical_breaker(&database).unwrap();
    let _ = database.call(|| async { Ok::<_, ()>(()) }).await;
    tokio::time::advance(Duration::from_millis(1500)).await;
    for _ in 0..2 {
        let _ = database.call(|| async { Err::<(), _>(()) }).await;
    }
    let _ = database.call(|| async { Ok::<_, ()>(()) }).await;
    tokio::time::advance(Duration::from_millis(2500)).await;

    let mut value = serde_json::to_value(registry.health()).unwrap();
    // `since` is the wall-clock time the state began: RFC 3339, UTC, ms.
    let since = value["breakers"][0]
        .as_object_mut()
        .unwrap()
        .remove("since")
        .unwrap();
    let since = since.as_str().unwrap();
    assert_eq!(since.len(), "2025-01-01T12:00:00.000Z".len(), "{since}");
    assert!(since.ends_with('Z') && &since[10..11] == "T", "{since}");
    assert_eq!(
        value,
        json!({
            "status": "unhealthy",
            "breakers": [{
                "name": "database",
                "state": "open",
                "critical": true,
                "shared": false,
                "failure_rate": 2.0 / 3.0,
                "slow_call_rate": 0.0,
                "in_state_seconds": 2.5,
                "calls": { "successful": 1, "failed": 2, "released": 0, "rejected": 1 }
            }]
        })
    );
}

#[test]
fn an_empty_registry_is_healthy_with_no_breakers() {
    let value: Value = serde_json::to_value(Registry::new().health()).unwrap();
    assert_eq!(value, json!({ "status": "healthy", "breakers": [] }));
}
