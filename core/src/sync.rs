//! The atomics every shared type is built on.
//!
//! `portable-atomic` gives the same types on x86-64, on Cortex-M4 and on Cortex-M0
//! (through its critical-section fallback). Under `--cfg loom` they are loom's, so
//! the model checker sees every access.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
pub(crate) use portable_atomic::{
    AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
