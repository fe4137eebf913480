//! The size probe of docs/BENCHMARKS.md: the smallest embassy program that
//! calls a device in a loop, built three ways so that the sizes can be diffed:
//!
//! - no feature: the call goes straight to the device (the baseline);
//! - `core-breaker`: through the core's consecutive-failure breaker by hand
//!   (`try_acquire`, then `success`/`failure`): what the core adds;
//! - `breaker`: through the adapter's `CircuitBreaker::call`: what a user of
//!   seawall-embassy pays.
//!
//! The device's answer comes from a register the compiler cannot predict, and
//! the results go to atomics, so nothing is optimised away.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use embassy_executor::Spawner;
use embassy_time::Timer;
use seawall_embassy_firmware::time_driver;

#[cfg(all(feature = "breaker", feature = "core-breaker"))]
compile_error!("build the probe with one of `breaker` and `core-breaker`, not both");

/// A stand-in for a device register.
static REGISTER: AtomicU32 = AtomicU32::new(0);
static SUCCEEDED: AtomicU32 = AtomicU32::new(0);
static FAILED: AtomicU32 = AtomicU32::new(0);

async fn read_device() -> Result<u32, u32> {
    Timer::after_millis(1).await;
    let value = REGISTER.load(Ordering::Relaxed);
    if value & 1 == 0 {
        Ok(value)
    } else {
        Err(value)
    }
}

#[cfg(any(feature = "breaker", feature = "core-breaker"))]
static CONFIG: seawall_embassy::BreakerConfig = match seawall_embassy::BreakerConfig::builder()
    .failure_threshold(3)
    .open_duration(core::time::Duration::from_secs(1))
    .build()
{
    Ok(config) => config,
    Err(_) => panic!("invalid breaker configuration"),
};

#[cfg(feature = "breaker")]
static BREAKER: seawall_embassy::CircuitBreaker = seawall_embassy::CircuitBreaker::new(&CONFIG);

#[cfg(feature = "core-breaker")]
static BREAKER: seawall_embassy::core::CircuitBreaker =
    seawall_embassy::core::CircuitBreaker::new(&CONFIG);

#[cfg(not(any(feature = "breaker", feature = "core-breaker")))]
async fn call() -> Result<u32, ()> {
    read_device().await.map_err(|_| ())
}

#[cfg(feature = "breaker")]
async fn call() -> Result<u32, ()> {
    BREAKER.call(read_device).await.map_err(|_| ())
}

#[cfg(feature = "core-breaker")]
async fn call() -> Result<u32, ()> {
    use seawall_embassy::EmbassyClock;
    let permit = BREAKER.try_acquire(&EmbassyClock).map_err(|_| ())?;
    let result = read_device().await;
    match result {
        Ok(_) => permit.success(&EmbassyClock),
        Err(_) => permit.failure(&EmbassyClock),
    };
    result.map_err(|_| ())
}

#[embassy_executor::task]
async fn probe() {
    loop {
        match call().await {
            Ok(value) => SUCCEEDED.fetch_add(value, Ordering::Relaxed),
            Err(()) => FAILED.fetch_add(1, Ordering::Relaxed),
        };
        Timer::after_millis(10).await;
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    if let Some(peripherals) = cortex_m::Peripherals::take() {
        time_driver::init(peripherals.SYST);
    }
    spawner.spawn(probe().expect("spawned once"));
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    cortex_m::asm::udf()
}
