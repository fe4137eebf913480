//! Benchmarks only: `benches/table.rs`, run by `scripts/bench.sh`; results in
//! docs/BENCHMARKS.md.
