#![doc = include_str!("../CIRCUIT_BREAKER_GUIDE.md")]
// The guide is docs/CIRCUIT_BREAKER_GUIDE.md, linked into the crate's directory
// so that the published package carries it: docs.rs renders it here, and its
// Rust blocks run as doctests.
