//! Benchmarks of the tokio adapter (to be written).

fn main() {}
