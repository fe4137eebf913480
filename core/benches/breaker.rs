//! Benchmarks of the circuit breaker (filled in below).
fn main() {}
