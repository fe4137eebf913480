use std::time::Duration;

use seawall_embassy::core::time::{Clock, Instant};
use seawall_embassy::{EmbassyClock, to_duration, to_embassy_duration, to_instant};

use crate::support::{advance, setup};

#[test]
fn the_clock_follows_the_time_driver() {
    let _driver = setup();
    assert_eq!(EmbassyClock.now(), Instant::ZERO);
    advance(Duration::from_millis(1500));
    assert_eq!(EmbassyClock.now(), Instant::from_millis(1500));
    advance(Duration::from_micros(7));
    assert_eq!(EmbassyClock.now(), Instant::from_micros(1_500_007));
    assert_eq!(to_instant(embassy_time::Instant::now()), EmbassyClock.now());
    // The mock driver ticks at 1 MHz.
    assert_eq!(embassy_time::Instant::now().as_ticks(), 1_500_007);
}

#[test]
fn durations_round_up_to_ticks_and_back_down() {
    let _driver = setup();
    assert_eq!(to_embassy_duration(Duration::from_nanos(1)).as_ticks(), 1);
    assert_eq!(
        to_embassy_duration(Duration::from_millis(3)).as_ticks(),
        3_000
    );
    assert_eq!(to_embassy_duration(Duration::MAX).as_ticks(), u64::MAX);
    assert_eq!(
        to_duration(embassy_time::Duration::from_ticks(2_500)),
        Duration::from_micros(2_500)
    );
}
