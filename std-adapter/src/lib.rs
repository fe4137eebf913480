//! seawall for tokio services (work in progress: the core's breaker, re-exported).

pub use seawall_core as core;
