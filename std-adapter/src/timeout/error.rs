//! The error of a call that ran out of time: the core's
//! [`call::Elapsed`](seawall_core::call::Elapsed), shared by every adapter.

pub use seawall_core::call::Elapsed;
