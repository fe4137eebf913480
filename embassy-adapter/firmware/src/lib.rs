//! What the firmware binaries share: embassy-time's driver over SysTick.
#![no_std]

pub mod time_driver;
