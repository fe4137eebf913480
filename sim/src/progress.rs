//! How far a run has gone, for a progress bar: the virtual time each
//! configuration has reached, summed.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// A shared counter of the virtual time simulated so far, over every configuration.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
}

impl Progress {
    /// Nothing done yet.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn counter(&self) -> &AtomicU64 {
        &self.done
    }

    /// Virtual nanoseconds simulated so far, summed over the configurations.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Draws a bar of `done / total` on standard error (one line, redrawn).
    pub fn draw(&self, total: u64, label: &str) {
        let share = if total == 0 {
            1.0
        } else {
            (self.done() as f64 / total as f64).min(1.0)
        };
        let filled = (share * 40.0) as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{label} [{}{}] {:3.0} %",
            "#".repeat(filled),
            " ".repeat(40 - filled),
            share * 100.0
        );
        let _ = err.flush();
    }
}
