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
# The API docs as docs.rs builds them (Cargo.toml's [package.metadata.docs.rs]):
# every feature, each gated item marked with the feature it needs. The badges
# are rustdoc's doc_cfg, a nightly feature that docs.rs's nightly has;
# RUSTC_BOOTSTRAP lets this stable toolchain build the same pages.
RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs -D warnings" \
  cargo doc --no-deps -p seawall-core -p seawall -p seawall-embassy --all-features --locked
