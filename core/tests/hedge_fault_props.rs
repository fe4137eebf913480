//! Property tests of hedging and fault plans: the hedging decision against a
//! reference model of its rules, the bound a retry budget puts on hedges in a
//! brownout, and fault plans against a reference of how rules combine.

use std::time::Duration;

use proptest::prelude::*;
use seawall_core::fault::{self, Fault, FaultKind, FaultRule, Window};
use seawall_core::hedge::{Failed, Hedge, HedgeConfig, HedgeDelay, Next};
use seawall_core::retry::{Failure, GiveUp, RetryBudget};
use seawall_core::rng::{Rng, SplitMix64, unit};
use seawall_core::time::ManualClock;

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Poll,
    Fail { retryable: bool },
    Succeed,
    Cancel,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..30u64).prop_map(Op::Advance),
        Just(Op::Poll),
        any::<bool>().prop_map(|retryable| Op::Fail { retryable }),
        Just(Op::Succeed),
        Just(Op::Cancel),
    ]
}

/// The rules of `seawall_core::hedge`, written out plainly for one call with
/// a fixed delay and a budget.
#[derive(Debug)]
struct Model {
    max: u32,
    delay: u64,
    now: u64,
    sent: u32,
    in_flight: u32,
    next_at: u64,
    timed: bool,
    ended: bool,
    /// Millionths of a token, as the budget counts.
    tokens: u64,
    max_tokens: u64,
}

impl Model {
    fn above_half(&self, tokens: u64) -> bool {
        tokens * 2 > self.max_tokens
    }
}

proptest! {
    #[test]
    fn one_call_follows_the_model(
        max in 2..5u32,
        delay in 0..20u64,
        max_tokens in 1..6u32,
        ops in prop::collection::vec(op(), 0..40),
    ) {
        let hedge = Hedge::<64>::new(HedgeConfig {
            max_attempts: max,
            delay: HedgeDelay::fixed(Duration::from_millis(delay)),
            at_once: 1,
        }).unwrap();
        let budget = RetryBudget::new(max_tokens, 0.5).unwrap();
        let clock = ManualClock::new();
        let mut call = hedge.start(&clock);
        let mut m = Model {
            max, delay, now: 0, sent: 1, in_flight: 1, next_at: delay, timed: true,
            ended: false, tokens: u64::from(max_tokens) * 1_000_000,
            max_tokens: u64::from(max_tokens) * 1_000_000,
        };
        for op in ops {
            match op {
                Op::Advance(ms) => {
                    clock.advance(Duration::from_millis(ms));
                    m.now += ms;
                }
                Op::Poll => {
                    let expected = if m.ended || !m.timed || m.sent >= m.max {
                        Next::Idle
                    } else if m.next_at > m.now {
                        Next::Wait(Duration::from_millis(m.next_at - m.now))
                    } else if !m.above_half(m.tokens) {
                        m.timed = false;
                        Next::Idle
                    } else {
                        m.tokens -= 1_000_000;
                        m.sent += 1;
                        m.in_flight += 1;
                        m.next_at = m.now + m.delay;
                        Next::Send { attempt: m.sent }
                    };
                    prop_assert_eq!(hedge.poll(&mut call, &clock, &budget), expected);
                }
                Op::Fail { retryable } => {
                    if m.in_flight == 0 {
                        continue; // nothing to fail
                    }
                    let failure = if retryable { Failure::retryable() } else { Failure::not_retryable() };
                    let expected = if m.ended {
                        Failed::Continue
                    } else {
                        m.in_flight -= 1;
                        if !retryable {
                            m.ended = true;
                            m.in_flight = 0;
                            Failed::GiveUp(GiveUp::NotRetryable)
                        } else {
                            m.tokens = m.tokens.saturating_sub(1_000_000);
                            let allowed = m.above_half(m.tokens);
                            let left = m.sent < m.max;
                            if left && allowed {
                                m.sent += 1;
                                m.in_flight += 1;
                                m.next_at = m.now + m.delay;
                                Failed::Send { attempt: m.sent }
                            } else if m.in_flight > 0 {
                                Failed::Continue
                            } else {
                                m.ended = true;
                                Failed::GiveUp(if left { GiveUp::BudgetEmpty } else { GiveUp::AttemptsExhausted })
                            }
                        }
                    };
                    prop_assert_eq!(hedge.on_failure(&mut call, failure, &clock, &budget), expected);
                }
                Op::Succeed => {
                    if m.in_flight == 0 || m.ended {
                        continue;
                    }
                    let answer = hedge.on_success(&mut call, m.sent, &clock, &budget);
                    prop_assert_eq!(answer.cancelled, m.in_flight - 1);
                    prop_assert_eq!(answer.hedged, m.sent > 1);
                    m.tokens = (m.tokens + 500_000).min(m.max_tokens);
                    m.ended = true;
                    m.in_flight = 0;
                }
                Op::Cancel => {
                    let expected = if m.ended { 0 } else { m.in_flight };
                    prop_assert_eq!(hedge.on_cancel(&mut call), expected);
                    m.ended = true;
                    m.in_flight = 0;
                }
            }
            prop_assert_eq!(call.sent(), m.sent);
            prop_assert_eq!(call.in_flight(), m.in_flight);
            prop_assert_eq!(call.is_ended(), m.ended);
            prop_assert_eq!((budget.tokens() * 1e6).round() as u64, m.tokens);
            prop_assert!(call.sent() <= max);
            prop_assert_eq!(hedge.stats().hedges, u64::from(call.sent() - 1));
        }
    }

    /// In a brownout every call wants a hedge; a budget holds them to half its
    /// tokens plus `token_ratio` per success.
    #[test]
    fn a_budget_bounds_hedges_in_a_brownout(
        max_tokens in 1..100u32,
        ratio_percent in 1..=100u32,
        calls in 1..2_000u32,
    ) {
        let ratio = f64::from(ratio_percent) / 100.0;
        let budget = RetryBudget::new(max_tokens, ratio).unwrap();
        let hedge = Hedge::<64>::new(HedgeConfig {
            max_attempts: 2,
            delay: HedgeDelay::fixed(Duration::from_millis(10)),
            at_once: 1,
        }).unwrap();
        let clock = ManualClock::new();
        for _ in 0..calls {
            let mut call = hedge.start(&clock);
            clock.advance(Duration::from_millis(10));
            let _ = hedge.poll(&mut call, &clock, &budget);
            clock.advance(Duration::from_millis(90));
            hedge.on_success(&mut call, 1, &clock, &budget);
        }
        let stats = hedge.stats();
        let bound = f64::from(max_tokens) / 2.0 + ratio * f64::from(calls) + 1.0;
        prop_assert!((stats.hedges as f64) <= bound, "{} hedges > {bound}", stats.hedges);
        prop_assert_eq!(stats.hedges + stats.refused, u64::from(calls));
        prop_assert_eq!(stats.cancelled, stats.hedges);
    }
}

fn rule() -> impl Strategy<Value = FaultRule<&'static str>> {
    let fault = prop_oneof![
        Just(Fault::Error),
        Just(Fault::Outcome),
        (1..500u64).prop_map(|ms| Fault::Latency(Duration::from_millis(ms))),
    ];
    let key = prop_oneof![Just(None), Just(Some("a")), Just(Some("b"))];
    let window = prop_oneof![
        Just(Window::ALWAYS),
        (0..100u64, 1..100u64).prop_map(|(after, len)| Window::between(
            Duration::from_millis(after),
            Duration::from_millis(after + len)
        )),
        (0..100u64, 1..100u64, 0..100u64).prop_map(|(after, len, rest)| Window::between(
            Duration::from_millis(after),
            Duration::from_millis(after + len)
        )
        .every(Duration::from_millis(after + len + rest))),
    ];
    (
        fault,
        prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64],
        key,
        window,
    )
        .prop_map(|(fault, rate, key, window)| FaultRule {
            fault,
            rate,
            window,
            key,
        })
}

proptest! {
    #[test]
    fn plans_follow_the_reference(
        rules in prop::collection::vec(rule(), 0..8),
        seed in any::<u64>(),
        calls in prop::collection::vec((prop_oneof![Just(None), Just(Some("a")), Just(Some("b"))], 0..400u64), 1..30),
    ) {
        prop_assert!(fault::validate(&rules).is_ok());
        let mut rng = SplitMix64::new(seed);
        let mut reference = SplitMix64::new(seed);
        for (key, ms) in calls {
            let elapsed = Duration::from_millis(ms);
            let injection = fault::decide(&rules, key, elapsed, &mut rng);
            let mut delay = Duration::ZERO;
            let mut replace = None;
            let mut fired = 0u64;
            for (index, rule) in rules.iter().enumerate() {
                let applies = rule.key.is_none_or(|k| key == Some(k)) && rule.window.contains(elapsed);
                if !applies {
                    continue;
                }
                let draw = unit(&mut reference);
                if draw < rule.rate {
                    fired |= 1 << index;
                    match rule.fault {
                        Fault::Latency(d) => delay += d,
                        Fault::Error => { replace.get_or_insert(FaultKind::Error); }
                        Fault::Outcome => { replace.get_or_insert(FaultKind::Outcome); }
                    }
                }
                if rule.rate == 0.0 { prop_assert_eq!(fired & (1 << index), 0); }
                if rule.rate == 1.0 { prop_assert_ne!(fired & (1 << index), 0); }
            }
            prop_assert_eq!(injection.delay(), delay);
            prop_assert_eq!(injection.replace(), replace);
            prop_assert_eq!(injection.rules(), fired);
            prop_assert_eq!(rng.clone().next_u64(), reference.clone().next_u64(), "same draws");
        }
    }
}
