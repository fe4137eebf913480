//! embassy-time's driver over the Cortex-M SysTick timer.
//!
//! SysTick interrupts once per embassy tick (`TICK_HZ`, 32.768 kHz here) and
//! the handler counts ticks in a 64-bit counter, so time never wraps. Timers
//! wait in one queue (`embassy-time-queue-utils`, `generic-queue-8`); the tick
//! handler wakes those that are due. Everything shared with the handler sits
//! behind a critical section (interrupts off, single core), which is all the
//! synchronisation a single-core chip needs. One interrupt per tick is simple
//! rather than frugal: a real product would program a compare match instead.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::Mutex;
use embassy_time_driver::{Driver, TICK_HZ};
use embassy_time_queue_utils::Queue;

/// The core clock SysTick counts: QEMU's lm3s6965evb runs its Cortex-M3 at 12 MHz.
pub const CORE_CLOCK_HZ: u64 = 12_000_000;

struct SysTickDriver {
    state: Mutex<State>,
}

struct State {
    /// Ticks since `init`.
    ticks: Cell<u64>,
    /// The tick at which the queue next has a timer due (`u64::MAX`: none).
    alarm: Cell<u64>,
    queue: RefCell<Queue>,
}

impl SysTickDriver {
    const fn new() -> Self {
        Self {
            state: Mutex::new(State {
                ticks: Cell::new(0),
                alarm: Cell::new(u64::MAX),
                queue: RefCell::new(Queue::new()),
            }),
        }
    }

    fn on_tick(&self) {
        critical_section::with(|cs| {
            let state = self.state.borrow(cs);
            let now = state.ticks.get() + 1;
            state.ticks.set(now);
            if now >= state.alarm.get() {
                // Wakes every timer due by now and says when the next one is.
                state
                    .alarm
                    .set(state.queue.borrow_mut().next_expiration(now));
            }
        });
    }
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.state.borrow(cs).ticks.get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let state = self.state.borrow(cs);
            let mut queue = state.queue.borrow_mut();
            if queue.schedule_wake(at, waker) {
                // A timer already due is woken here; the next one sets the alarm.
                state.alarm.set(queue.next_expiration(state.ticks.get()));
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver::new());

/// Starts SysTick at `TICK_HZ`.
pub fn init(mut syst: SYST) {
    const RELOAD: u64 = CORE_CLOCK_HZ / TICK_HZ - 1;
    const _: () = assert!(
        RELOAD > 0 && RELOAD < (1 << 24),
        "SysTick's reload is 24 bits"
    );
    syst.disable_counter();
    syst.set_reload(RELOAD as u32);
    syst.clear_current();
    syst.set_clock_source(SystClkSource::Core);
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    DRIVER.on_tick();
}
