//! seawall-embassy on QEMU's lm3s6965evb: a task reads a simulated flaky
//! sensor through a retry, a circuit breaker and a timeout, prints what
//! happens over semihosting, checks it against what must happen, and exits
//! with status 0 when everything matched (1 otherwise).
//!
//! The sensor's script, by the number of calls that reach it:
//!
//! | call | answer |
//! |---|---|
//! | 1 | a reading after 2 ms |
//! | 2, 3, 4 | a bus NACK after 1 ms: the third in a row trips the breaker |
//! | 5 | no answer at all: the 20 ms timeout ends it, a failed probe |
//! | 6 on | readings again: the next probe closes the breaker |
//!
//! The task takes five samples, 30 ms apart. Each sample is a [`Retry`] (3
//! attempts, exponential backoff from 5 ms with full jitter) of a breaker call
//! with a 20 ms timeout. The breaker trips after 3 failures and stays open
//! 100 ms; a retry that finds it open waits exactly until it may probe.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::future::pending;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use cortex_m_semihosting::{debug, hprintln};
use critical_section::Mutex;
use embassy_executor::Spawner;
use embassy_time::{Instant, Timer};
use seawall_embassy::{
    BreakerConfig, CircuitBreaker, Error, GiveUp, Jitter, Listener, NoWindow, Rejection, Retry,
    RetryListener, RetryPolicy, State, Strategy, Transition, to_embassy_duration,
};
use seawall_embassy_firmware::time_driver;

const OPEN: Duration = Duration::from_millis(100);
const TIMEOUT: Duration = Duration::from_millis(20);

static BREAKER_CONFIG: BreakerConfig = match BreakerConfig::builder()
    .failure_threshold(3)
    .success_threshold(1)
    .open_duration(OPEN)
    .build()
{
    Ok(config) => config,
    Err(_) => panic!("invalid breaker configuration"),
};

/// The breaker in front of the sensor, shared by every task that reads it.
static SENSOR: CircuitBreaker<NoWindow, Events> =
    CircuitBreaker::with_listener(&BREAKER_CONFIG, NoWindow, Events);

static RETRY: Retry<Events> = Retry::new(
    match RetryPolicy::builder()
        .max_attempts(3)
        .strategy(Strategy::Exponential {
            initial_delay: Duration::from_millis(5),
            multiplier: 2.0,
            max_delay: Duration::from_millis(200),
        })
        .jitter(Jitter::Full)
        .build()
    {
        Ok(policy) => policy,
        Err(_) => panic!("invalid retry policy"),
    },
    0x5EA_3A11,
)
.with_listener(Events);

/// The simulated sensor: its answer depends on how many calls reached it.
static SENSOR_CALLS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SensorError {
    Nack,
}

async fn read_sensor() -> Result<u16, SensorError> {
    let call = SENSOR_CALLS.fetch_add(1, Ordering::Relaxed) + 1;
    hprintln!("{}   sensor: call {}", stamp(), call);
    match call {
        2..=4 => {
            Timer::after_millis(1).await;
            Err(SensorError::Nack)
        }
        5 => pending().await, // hangs: only the timeout ends it
        _ => {
            Timer::after_millis(2).await;
            Ok(400 + call as u16)
        }
    }
}

/// What happened, for the checks at the end.
struct Journal {
    transitions: [(Transition, u64); 8],
    transition_count: usize,
    retries: u32,
    give_ups: u32,
}

static JOURNAL: Mutex<RefCell<Journal>> = Mutex::new(RefCell::new(Journal {
    transitions: [(
        Transition {
            from: State::Closed,
            to: State::Closed,
        },
        0,
    ); 8],
    transition_count: 0,
    retries: 0,
    give_ups: 0,
}));

/// The listener of the breaker and of the retry: prints and records.
struct Events;

impl Listener for Events {
    fn on_transition(&self, transition: Transition) {
        hprintln!("{} breaker: {}", stamp(), transition);
        critical_section::with(|cs| {
            let mut journal = JOURNAL.borrow(cs).borrow_mut();
            let n = journal.transition_count;
            if n < journal.transitions.len() {
                journal.transitions[n] = (transition, Instant::now().as_ticks());
            }
            journal.transition_count = n + 1;
        });
    }

    fn on_rejection(&self, rejection: &Rejection) {
        hprintln!("{} breaker: rejected: {}", stamp(), rejection);
    }
}

impl RetryListener for Events {
    fn on_retry(&self, attempt: u32, delay: Duration) {
        hprintln!(
            "{}   retry: attempt {} failed, next in {:?}",
            stamp(),
            attempt,
            delay
        );
        critical_section::with(|cs| JOURNAL.borrow(cs).borrow_mut().retries += 1);
    }

    fn on_give_up(&self, attempt: u32, reason: GiveUp) {
        hprintln!(
            "{}   retry: attempt {} failed, giving up: {}",
            stamp(),
            attempt,
            reason
        );
        critical_section::with(|cs| JOURNAL.borrow(cs).borrow_mut().give_ups += 1);
    }
}

/// `[t=   123]`: the embassy tick of the event.
fn stamp() -> Stamp {
    Stamp(Instant::now().as_ticks())
}

struct Stamp(u64);

impl core::fmt::Display for Stamp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "[t={:>6}]", self.0)
    }
}

/// How a sample ended, as the checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sampled {
    Reading,
    Failed,
    Rejected,
    TimedOut,
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let peripherals = cortex_m::Peripherals::take().expect("first and only take");
    time_driver::init(peripherals.SYST);
    hprintln!(
        "seawall-embassy on lm3s6965evb: SysTick time driver at {} Hz",
        embassy_time::TICK_HZ
    );
    spawner.spawn(sampler().expect("the sampler is spawned once"));
}

#[embassy_executor::task]
async fn sampler() {
    let mut sampled = [Sampled::Reading; 5];
    for (index, slot) in sampled.iter_mut().enumerate() {
        let started = Instant::now();
        hprintln!("{} sample {}", stamp(), index + 1);
        let result = RETRY
            .execute(|| SENSOR.call_with_timeout(TIMEOUT, read_sensor))
            .await;
        let elapsed = Instant::now().as_ticks() - started.as_ticks();
        *slot = match result {
            Ok(value) => {
                hprintln!(
                    "{} sample {}: reading {} in {} ticks",
                    stamp(),
                    index + 1,
                    value,
                    elapsed
                );
                Sampled::Reading
            }
            Err(error) => {
                let kind = match error {
                    Error::Inner(_) => Sampled::Failed,
                    Error::Rejected(_) => Sampled::Rejected,
                    Error::Timeout(_) => Sampled::TimedOut,
                    _ => Sampled::Failed,
                };
                hprintln!(
                    "{} sample {}: {:?} ({}) in {} ticks",
                    stamp(),
                    index + 1,
                    kind,
                    Printable(&error),
                    elapsed
                );
                kind
            }
        };
        Timer::after_millis(30).await;
    }
    let failures = check(&sampled);
    if failures == 0 {
        hprintln!("PASS: every check matched");
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!("FAIL: {} checks did not match", failures);
        debug::exit(debug::EXIT_FAILURE);
    }
}

/// `Error<SensorError>`'s message (the sensor's error has no `Display`).
struct Printable<'a>(&'a Error<SensorError>);

impl core::fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Error::Inner(SensorError::Nack) => f.write_str("bus NACK"),
            other => other.map_inner(|_| "").fmt(f),
        }
    }
}

/// Compares what happened with what must have; prints each mismatch and
/// returns how many there were.
fn check(sampled: &[Sampled; 5]) -> u32 {
    let mut failures = 0;
    let mut expect = |what: &str, ok: bool| {
        if ok {
            hprintln!("  ok: {}", what);
        } else {
            hprintln!("  MISMATCH: {}", what);
            failures += 1;
        }
    };
    hprintln!("checks:");
    use Sampled::*;
    expect(
        "samples: reading, failed (3 NACKs), rejected (timed-out probe), reading, reading",
        *sampled == [Reading, Failed, Rejected, Reading, Reading],
    );
    expect(
        "7 calls reached the sensor",
        SENSOR_CALLS.load(Ordering::Relaxed) == 7,
    );
    let stats = SENSOR.stats();
    hprintln!("  stats: {:?}", stats);
    expect(
        "breaker counted 3 successes, 4 failures, 3 rejections",
        (stats.successful, stats.failed, stats.rejected) == (3, 4, 3),
    );
    expect("breaker ends closed", SENSOR.state() == State::Closed);

    let (transitions, count, retries, give_ups) = critical_section::with(|cs| {
        let journal = JOURNAL.borrow(cs).borrow();
        (
            journal.transitions,
            journal.transition_count,
            journal.retries,
            journal.give_ups,
        )
    });
    let states = |i: usize| (transitions[i].0.from, transitions[i].0.to);
    let at = |i: usize| transitions[i].1;
    use State::{Closed, HalfOpen, Open};
    expect(
        "transitions: closed->open, open->half_open, half_open->open, open->half_open, half_open->closed",
        count == 5
            && [states(0), states(1), states(2), states(3), states(4)]
                == [
                    (Closed, Open),
                    (Open, HalfOpen),
                    (HalfOpen, Open),
                    (Open, HalfOpen),
                    (HalfOpen, Closed),
                ],
    );
    expect(
        "stats count the same 5 transitions",
        stats.state_transitions == 5,
    );
    // A tick of slack: events happen on the tick after their timer fires.
    let open_ticks = to_embassy_duration(OPEN).as_ticks();
    let timeout_ticks = to_embassy_duration(TIMEOUT).as_ticks();
    hprintln!(
        "  open duration {} ticks, timeout {} ticks; measured {}, {}, {}",
        open_ticks,
        timeout_ticks,
        at(1) - at(0),
        at(2) - at(1),
        at(3) - at(2)
    );
    let within = |measured: u64, expected: u64| measured >= expected && measured <= expected + 2;
    expect(
        "the first probe came when the open duration ended (retry waited for the breaker)",
        count >= 2 && within(at(1) - at(0), open_ticks),
    );
    expect(
        "the hanging probe was cut at its timeout",
        count >= 3 && within(at(2) - at(1), timeout_ticks),
    );
    expect(
        "the second probe came when the second open duration ended",
        count >= 4 && within(at(3) - at(2), open_ticks),
    );
    expect(
        "retry: 5 retries, 2 give-ups",
        (retries, give_ups) == (5, 2),
    );
    failures
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("FAIL: panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
