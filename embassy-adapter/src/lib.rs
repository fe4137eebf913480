//! seawall on embassy (work in progress: the core, re-exported).
#![no_std]

pub use seawall_core as core;
