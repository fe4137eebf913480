//! The tokio fault injector beyond the scenarios: off by default, switched by
//! name through the registry, keyed rules through the tower layer, the same
//! faults again after a reseed, and a breaker opening under injected errors.

use std::time::Duration;

use seawall::core::fault::{Fault, FaultKind, FaultRule, Window};
use seawall::{
    BoxError, CircuitBreaker, CircuitBreakerConfig, FaultInjector, FaultLayer, FaultPlan,
    InjectedFault, Registry, State,
};
use tower::{ServiceBuilder, ServiceExt, service_fn};

const MS: fn(u64) -> Duration = Duration::from_millis;

async fn ok() -> Result<&'static str, std::io::Error> {
    Ok("ran")
}

#[tokio::test(start_paused = true)]
async fn off_by_default_and_switched_by_name() {
    let chaos = FaultInjector::new(
        "db",
        FaultPlan::new(1).rule(FaultRule::new(Fault::Error, 1.0)),
    )
    .unwrap();
    let registry = Registry::new();
    registry.register_fault_injector(&chaos).unwrap();
    assert!(
        registry.register_fault_injector(&chaos).is_err(),
        "one name, one injector"
    );
    assert_eq!(chaos.call(ok).await.unwrap(), "ran");

    registry.fault_injector("db").unwrap().enable();
    let error = chaos.call(ok).await.unwrap_err();
    assert_eq!(error.to_string(), "fault injected by db (error)");
    let fault = error
        .into_inner()
        .unwrap()
        .downcast::<InjectedFault>()
        .unwrap();
    assert_eq!((fault.injector(), fault.kind()), ("db", FaultKind::Error));

    registry.fault_injector("db").unwrap().disable();
    assert_eq!(chaos.call(ok).await.unwrap(), "ran");
    assert_eq!(chaos.counts().errors, 1);
    assert!(registry.fault_injector("cache").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_reseed_replays_the_same_faults() {
    let plan = FaultPlan::new(42)
        .rule(FaultRule::new(Fault::Error, 0.5))
        .rule(FaultRule::new(Fault::Latency(MS(3)), 0.5));
    let chaos = FaultInjector::new("flaky", plan).unwrap();
    chaos.enable();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mut run = Vec::new();
        for _ in 0..50 {
            let started = tokio::time::Instant::now();
            let failed = chaos.call(ok).await.is_err();
            run.push((failed, started.elapsed()));
        }
        runs.push(run);
        chaos.reseed();
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].iter().any(|(failed, _)| *failed));
    assert!(runs[0].iter().any(|(_, delay)| *delay == MS(3)));
}

#[tokio::test(start_paused = true)]
async fn the_layer_reads_keys_and_replaces_outcomes_in_windows() {
    let plan = FaultPlan::new(3).rule(
        FaultRule::new(Fault::Outcome, 1.0)
            .for_key("tenant-7")
            .during(Window::between(MS(100), MS(200))),
    );
    let chaos = FaultInjector::new("api", plan).unwrap();
    let service = ServiceBuilder::new()
        .layer(
            FaultLayer::new(chaos.clone())
                .key(|tenant: &String| Some(tenant.clone()))
                .outcome(|_| Ok(503)),
        )
        .service(service_fn(|_: String| async { Ok::<u16, BoxError>(200) }));
    let status = |tenant: &str| service.clone().oneshot(tenant.to_string());
    chaos.enable();
    assert_eq!(
        status("tenant-7").await.unwrap(),
        200,
        "the window is not open yet"
    );
    tokio::time::advance(MS(100)).await;
    assert_eq!(status("tenant-7").await.unwrap(), 503);
    assert_eq!(status("tenant-1").await.unwrap(), 200);
    tokio::time::advance(MS(100)).await;
    assert_eq!(
        status("tenant-7").await.unwrap(),
        200,
        "the window has closed"
    );
    assert_eq!(chaos.counts().outcomes, 1);

    // Without an outcome, an outcome fault fails the request.
    let failing = ServiceBuilder::new()
        .layer(FaultLayer::new(chaos.clone()).key(|t: &String| Some(t.clone())))
        .service(service_fn(|_: String| async { Ok::<u16, BoxError>(200) }));
    chaos.enable(); // the windows start over
    tokio::time::advance(MS(150)).await;
    let error = failing.oneshot("tenant-7".into()).await.unwrap_err();
    assert_eq!(
        error.downcast::<InjectedFault>().unwrap().kind(),
        FaultKind::Outcome
    );
}

/// 30 % injected errors open a breaker whose threshold is a 20 % failure rate.
#[tokio::test(start_paused = true)]
async fn injected_errors_open_a_breaker() {
    let breaker = CircuitBreaker::builder("tenant-cache")
        .config(CircuitBreakerConfig {
            failure_rate_threshold: 0.2,
            window: Some(seawall::SlidingWindow::Count { size: 20 }),
            minimum_calls: 20,
            ..Default::default()
        })
        .build()
        .unwrap();
    let chaos = FaultInjector::new(
        "tenant-cache",
        FaultPlan::new(7).rule(FaultRule::new(Fault::Error, 0.3)),
    )
    .unwrap();
    chaos.enable();
    let mut rejected = 0;
    for _ in 0..100 {
        if let Err(seawall::Error::Rejected(_)) = breaker.call(|| chaos.call(ok)).await {
            rejected += 1;
        }
    }
    assert_eq!(breaker.state(), State::Open);
    assert!(rejected > 0);
    assert!(chaos.counts().errors >= 4);
}

/// The plan's file form, as the guide shows it, the simulator's `faults` and
/// the Python injector read it.
#[cfg(feature = "serde")]
#[test]
fn a_plan_reads_its_file_form() {
    let plan: FaultPlan = serde_json::from_str(
        r#"{
          "seed": 7,
          "rules": [
            { "kind": "error", "rate": 0.3 },
            { "kind": "latency", "delay_ms": 200, "rate": 1.0 },
            { "kind": "outcome", "rate": 1.0, "key": "tenant-7", "after_ms": 60000, "until_ms": 90000 }
          ]
        }"#,
    )
    .unwrap();
    assert_eq!(
        plan,
        FaultPlan::new(7)
            .rule(FaultRule::new(Fault::Error, 0.3))
            .rule(FaultRule::new(Fault::Latency(MS(200)), 1.0))
            .rule(
                FaultRule::new(Fault::Outcome, 1.0)
                    .for_key("tenant-7")
                    .during(Window::between(MS(60_000), MS(90_000)))
            )
    );
    let text = serde_json::to_string(&plan).unwrap();
    assert_eq!(serde_json::from_str::<FaultPlan>(&text).unwrap(), plan);
    let error = serde_json::from_str::<FaultPlan>(r#"{"rules": [{"kind": "error", "rate": 3}]}"#)
        .unwrap_err();
    assert!(error.to_string().contains("invalid rate"), "{error}");
}
