//! Shared state on Redis (issue 9): work in progress.
fn main() {}
