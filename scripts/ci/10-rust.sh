#!/usr/bin/env bash
# Formatting, lints and the tests of every crate on the host.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# clippy --all-targets has type-checked the benchmarks; they are run by hand
# (see docs/BENCHMARKS.md), never as tests.
cargo test --workspace --locked
# The API docs build without a warning (broken links, bad markup); the doc
# examples and the documents' Rust blocks run as doctests in `cargo test`.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked
# The adapter's optional observability (registry metrics, JSON health, tracing
# events): its tests and examples need the features.
cargo clippy -p seawall --all-targets --features prometheus,serde,tracing --locked -- -D warnings
cargo test -p seawall --features prometheus,serde,tracing --locked
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p seawall --features prometheus,serde,tracing --locked
