//! Benchmarks only: see `benches/` and docs/BENCHMARKS.md
//! (`cargo bench -p seawall-benches --bench breaker`, `--bench policies`).
