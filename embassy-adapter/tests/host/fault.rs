//! A device that fails on a plan: a breaker around a sensor whose calls go
//! through a `FaultInjector` opens while the plan is on, and the sensor's
//! delays pass on the mock clock.

use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use seawall_embassy::core::fault::{Fault, FaultRule};
use seawall_embassy::{BreakerConfig, CircuitBreaker, Error, FaultInjector, InjectedFault, State};

use crate::support::{advance, leak, poll, ready, setup};

#[derive(Debug, PartialEq)]
enum SensorError {
    Injected,
}

impl From<InjectedFault> for SensorError {
    fn from(_: InjectedFault) -> Self {
        SensorError::Injected
    }
}

async fn read() -> Result<u16, SensorError> {
    Ok(215)
}

static FAILING: [FaultRule; 1] = [FaultRule::new(Fault::Error, 1.0)];
static SLOW: [FaultRule; 1] = [FaultRule::new(
    Fault::Latency(Duration::from_millis(30)),
    1.0,
)];

#[test]
fn a_breaker_opens_on_a_failing_plan_and_closes_once_it_is_off() {
    let _driver = setup();
    let chaos = FaultInjector::new(&FAILING, 1).unwrap();
    let config: &'static BreakerConfig = leak(
        BreakerConfig::builder()
            .failure_threshold(3)
            .success_threshold(1)
            .open_duration(Duration::from_secs(5)),
    );
    let breaker = CircuitBreaker::new(config);
    let sample = || breaker.call(|| chaos.call(None, read));
    assert_eq!(ready(sample()), Ok(215), "off by default");
    chaos.enable();
    for _ in 0..3 {
        assert_eq!(ready(sample()), Err(Error::Inner(SensorError::Injected)));
    }
    assert_eq!(breaker.state(), State::Open);
    assert!(ready(sample()).unwrap_err().is_rejected());
    chaos.disable();
    advance(Duration::from_secs(5));
    assert_eq!(ready(sample()), Ok(215));
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(chaos.counts().errors, 3);
}

#[test]
fn injected_latency_passes_on_the_clock() {
    let _driver = setup();
    let chaos = FaultInjector::new(&SLOW, 1).unwrap();
    chaos.enable();
    let mut call = pin!(chaos.call(None, read));
    assert_eq!(poll(call.as_mut()), Poll::Pending);
    advance(Duration::from_millis(29));
    assert_eq!(poll(call.as_mut()), Poll::Pending);
    advance(Duration::from_millis(1));
    assert_eq!(poll(call.as_mut()), Poll::Ready(Ok(215)));
    assert_eq!(chaos.counts().latency, 1);
    assert_eq!(
        FaultInjector::new(&[FaultRule::new(Fault::Error, 2.0)], 0)
            .unwrap_err()
            .field(),
        "rate"
    );
}
