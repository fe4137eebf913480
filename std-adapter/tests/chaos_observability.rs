//! Hedges and fault injectors in the Prometheus metrics and in `tracing`
//! (features `prometheus` and `tracing`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use seawall::core::fault::{Fault, FaultRule};
use seawall::core::hedge::HedgeDelay;
use seawall::{FaultInjector, FaultPlan, Hedge, PolicyKind, Registry};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// One test at a time: `tracing` caches each callsite's interest globally, so
/// a test running without a subscriber can make the other miss its events.
static SERIAL: Mutex<()> = Mutex::new(());

fn scrape(registry: &Registry) -> String {
    let mut prometheus = prometheus_client::registry::Registry::default();
    registry.register_metrics(&mut prometheus);
    let mut text = String::new();
    encode(&mut text, &prometheus).unwrap();
    text
}

/// Runs `test` on a paused current-thread runtime, one test at a time.
fn serial(test: impl Future<Output = ()>) {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(test);
}

#[test]
fn hedges_sent_and_won_and_faults_injected_are_metrics() {
    serial(metrics());
}

async fn metrics() {
    let registry = Registry::new();
    let hedge = Hedge::builder("search")
        .delay(HedgeDelay::fixed(Duration::from_millis(10)))
        .build()
        .unwrap();
    let chaos = FaultInjector::new(
        "search",
        FaultPlan::new(1)
            .rule(FaultRule::new(
                Fault::Latency(Duration::from_millis(50)),
                1.0,
            ))
            .rule(FaultRule::new(Fault::Error, 0.5)),
    )
    .unwrap();
    registry.register_hedge(&hedge).unwrap();
    registry.register_fault_injector(&chaos).unwrap();
    assert_eq!(registry.names(PolicyKind::Hedge), ["search"]);
    assert_eq!(registry.names(PolicyKind::FaultInjector), ["search"]);
    let text = scrape(&registry);
    assert!(
        text.contains(r#"seawall_fault_enabled{name="search"} 0"#),
        "{text}"
    );

    chaos.enable();
    // Each attempt is delayed 50 ms by the plan: a hedge goes at 10 ms; the
    // first attempt answers first, unless the plan failed it.
    for _ in 0..20 {
        let _ = hedge
            .call(|| chaos.call(|| async { Ok::<_, std::io::Error>(()) }))
            .await;
    }
    let stats = registry.hedge_stats("search").unwrap();
    let counts = chaos.counts();
    assert_eq!(stats.calls, 20);
    assert!(stats.hedges >= 20 && stats.won > 0, "{stats:?}");
    let text = scrape(&registry);
    for line in [
        r#"seawall_hedge_calls_total{name="search"} 20"#.to_string(),
        format!(
            r#"seawall_hedge_sent_total{{name="search"}} {}"#,
            stats.hedges
        ),
        format!(r#"seawall_hedge_won_total{{name="search"}} {}"#, stats.won),
        format!(
            r#"seawall_hedge_cancelled_total{{name="search"}} {}"#,
            stats.cancelled
        ),
        r#"seawall_hedge_refused_total{name="search"} 0"#.to_string(),
        r#"seawall_fault_enabled{name="search"} 1"#.to_string(),
        format!(
            r#"seawall_fault_injected_total{{name="search",kind="error"}} {}"#,
            counts.errors
        ),
        format!(
            r#"seawall_fault_injected_total{{name="search",kind="latency"}} {}"#,
            counts.latency
        ),
        r#"seawall_fault_injected_total{name="search",kind="outcome"} 0"#.to_string(),
    ] {
        assert!(text.contains(&line), "{line} not in\n{text}");
    }
    assert!(counts.errors > 0 && counts.latency > counts.errors);
}

/// Each event's target and fields.
type Events = Vec<(String, BTreeMap<String, String>)>;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Events>>);

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
        let target = event.metadata().target().to_string();
        self.0.lock().unwrap().push((target, fields.0));
    }
}

#[test]
fn every_injected_fault_and_every_hedge_is_an_event() {
    serial(events());
}

async fn events() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let chaos = FaultInjector::new(
        "cache",
        FaultPlan::new(1).rule(FaultRule::new(Fault::Error, 1.0).for_key("tenant-7")),
    )
    .unwrap();
    chaos.enable();
    let _ = chaos
        .call_keyed("tenant-7", || async { Ok::<_, std::io::Error>(()) })
        .await;
    let _ = chaos
        .call_keyed("tenant-1", || async { Ok::<_, std::io::Error>(()) })
        .await;
    chaos.disable();
    let hedge = Hedge::builder("replicas")
        .delay(HedgeDelay::fixed(Duration::from_millis(1)))
        .build()
        .unwrap();
    let mut n = 0;
    let _ = hedge
        .call(|| {
            n += 1;
            let latency = if n == 1 { 100 } else { 1 };
            async move {
                tokio::time::sleep(Duration::from_millis(latency)).await;
                Ok::<_, std::io::Error>(())
            }
        })
        .await;

    let events = capture.0.lock().unwrap().clone();
    let messages: Vec<(&str, &str)> = events
        .iter()
        .map(|(target, fields)| (target.as_str(), fields["message"].as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            ("seawall::fault", "fault injection on"),
            ("seawall::fault", "fault injected"),
            ("seawall::fault", "fault injection off"),
            ("seawall::hedge", "hedge sent"),
            ("seawall::hedge", "hedge won"),
        ]
    );
    let injected = &events[1].1;
    assert_eq!(injected["injector"], "cache");
    assert_eq!(injected["key"], "tenant-7");
    assert_eq!(injected["replace"], "error");
    assert_eq!(events[4].1["hedge"], "replicas");
}
