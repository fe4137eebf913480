use core::time::Duration;

use super::*;
use crate::rng::SplitMix64;
use crate::time::ManualClock;

const MS: fn(u64) -> Duration = Duration::from_millis;

#[test]
fn a_rule_fires_on_its_share_of_the_calls() {
    let rules = [FaultRule::<&str>::new(Fault::Error, 0.25)];
    let mut rng = SplitMix64::new(1);
    let fired = (0..10_000)
        .filter(|_| !decide(&rules, None, Duration::ZERO, &mut rng).is_none())
        .count();
    assert!((2_300..2_700).contains(&fired), "{fired}");
    // Rates 0 and 1 are exact.
    for (rate, expected) in [(0.0, 0), (1.0, 100)] {
        let rules = [FaultRule::<&str>::new(Fault::Outcome, rate)];
        let fired = (0..100)
            .filter(|_| !decide(&rules, None, Duration::ZERO, &mut rng).is_none())
            .count();
        assert_eq!(fired, expected);
    }
}

#[test]
fn delays_add_up_and_the_first_replacement_wins() {
    let rules = [
        FaultRule::<&str>::new(Fault::Latency(MS(100)), 1.0),
        FaultRule::new(Fault::Outcome, 1.0),
        FaultRule::new(Fault::Latency(MS(50)), 1.0),
        FaultRule::new(Fault::Error, 1.0),
    ];
    let mut rng = SplitMix64::new(3);
    let injection = decide(&rules, None, Duration::ZERO, &mut rng);
    assert_eq!(injection.delay(), MS(150));
    assert_eq!(injection.replace(), Some(FaultKind::Outcome));
    assert_eq!(injection.rules(), 0b1111);
    assert!(injection.fired(3) && !injection.fired(4) && !injection.fired(99));
    // One word per rule that applied.
    let mut again = SplitMix64::new(3);
    for _ in 0..4 {
        again.next_u64();
    }
    assert_eq!(rng, again);
}

#[test]
fn rules_apply_by_key_and_in_their_window_only() {
    let rules = [
        FaultRule::new(Fault::Error, 1.0).for_key("tenant-7"),
        FaultRule::new(Fault::Latency(MS(5)), 1.0).during(Window::between(MS(100), MS(200))),
    ];
    let mut rng = SplitMix64::new(0);
    let at = |ms, key, rng: &mut SplitMix64| decide(&rules, key, MS(ms), rng);
    assert_eq!(at(0, None, &mut rng), Injection::NONE);
    assert_eq!(
        at(0, Some("tenant-1"), &mut rng),
        Injection::NONE,
        "another key"
    );
    assert_eq!(
        at(0, Some("tenant-7"), &mut rng).replace(),
        Some(FaultKind::Error)
    );
    assert_eq!(at(100, None, &mut rng).delay(), MS(5));
    assert_eq!(at(199, None, &mut rng).delay(), MS(5));
    assert!(at(200, None, &mut rng).is_none(), "until is excluded");
    // Rules that do not apply draw nothing: one word per rule that applied.
    let mut again = SplitMix64::new(0);
    for _ in 0..3 {
        again.next_u64();
    }
    assert_eq!(rng, again);
}

#[test]
fn windows_repeat_with_their_period() {
    let window = Window::between(MS(0), MS(30)).every(MS(100));
    assert!(window.contains(MS(0)) && window.contains(MS(29)));
    assert!(!window.contains(MS(30)) && !window.contains(MS(99)));
    assert!(window.contains(MS(100)) && window.contains(MS(1_029)));
    let open_end = Window {
        after: MS(60),
        until: None,
        every: Some(MS(100)),
    };
    assert!(!open_end.contains(MS(159)) && open_end.contains(MS(160)));
    assert!(Window::ALWAYS.contains(Duration::MAX));
    assert!(!Window::ALWAYS.every(Duration::ZERO).contains(MS(1)));
}

#[test]
fn every_invalid_field_is_named() {
    let field = |rule: FaultRule<&str>| rule.validate().unwrap_err().field();
    for bad in [-0.1, 1.1, f64::NAN] {
        assert_eq!(field(FaultRule::new(Fault::Error, bad)), "rate");
    }
    let rule = |window| FaultRule::new(Fault::Error, 0.5).during(window);
    assert_eq!(field(rule(Window::between(MS(5), MS(5)))), "until");
    assert_eq!(
        field(rule(Window::between(MS(0), MS(50)).every(MS(40)))),
        "until"
    );
    let late = Window {
        after: MS(50),
        until: None,
        every: Some(MS(50)),
    };
    assert_eq!(field(rule(late)), "every");
    assert!(
        rule(Window::between(MS(0), MS(50)).every(MS(50)))
            .validate()
            .is_ok()
    );
    let many = [FaultRule::<&str>::new(Fault::Error, 0.5); 65];
    assert_eq!(validate(&many).unwrap_err().field(), "rules");
    assert!(validate(&many[..64]).is_ok());
    assert_eq!(
        validate(&[FaultRule::<&str>::new(Fault::Error, 2.0)])
            .unwrap_err()
            .field(),
        "rate"
    );
}

#[test]
fn the_injector_is_off_until_switched_on_and_counts_what_it_injects() {
    let rules = [
        FaultRule::<&str>::new(Fault::Error, 1.0).during(Window::between(MS(0), MS(10))),
        FaultRule::new(Fault::Latency(MS(1)), 1.0),
        FaultRule::new(Fault::Outcome, 1.0),
    ];
    let clock = ManualClock::new();
    let injector = FaultInjector::new(9);
    assert_eq!(injector.seed(), 9);
    assert!(!injector.is_enabled());
    assert_eq!(injector.inject(&rules, None, &clock), None);
    clock.advance(MS(1_000));
    injector.enable(&clock); // windows count from now
    assert!(injector.is_enabled());
    let first = injector.inject(&rules, None, &clock).unwrap();
    assert_eq!(first.replace(), Some(FaultKind::Error));
    clock.advance(MS(10));
    let second = injector.inject(&rules, None, &clock).unwrap();
    assert_eq!(second.replace(), Some(FaultKind::Outcome));
    assert_eq!(
        injector.counts(),
        FaultCounts {
            errors: 1,
            latency: 2,
            outcomes: 1
        }
    );
    assert_eq!(injector.counts().of(FaultKind::Latency), 2);
    injector.disable();
    assert_eq!(injector.inject(&rules, None, &clock), None);
    assert_eq!(injector.counts().latency, 2);
}

#[test]
fn a_reseeded_injector_replays_the_same_faults() {
    let rules = [FaultRule::<&str>::new(Fault::Error, 0.5)];
    let clock = ManualClock::new();
    let injector = FaultInjector::new(42);
    injector.enable(&clock);
    let run = || -> [bool; 64] {
        core::array::from_fn(|_| injector.inject(&rules, None, &clock).is_some())
    };
    let first = run();
    injector.reseed();
    assert_eq!(run(), first);
    // And the same as the free decision with a plain generator.
    let mut rng = SplitMix64::new(42);
    let plain: [bool; 64] =
        core::array::from_fn(|_| !decide(&rules, None, Duration::ZERO, &mut rng).is_none());
    assert_eq!(plain, first);
}

#[test]
fn kinds_have_names() {
    for kind in FaultKind::ALL {
        assert_eq!(FaultKind::from_name(kind.as_str()), Some(kind));
    }
    assert_eq!(FaultKind::from_name("panic"), None);
    assert_eq!(Fault::Latency(MS(1)).kind(), FaultKind::Latency);
    let owned = FaultRule::new(Fault::Error, 0.5).for_key("k");
    assert_eq!(owned.as_ref().key, Some("k"));
}
