#!/usr/bin/env bash
# The declared minimum Rust (`rust-version` in the workspace's Cargo.toml) is
# true: the workspace, every target and the adapter's optional features type-
# check with that toolchain (installed here with rustup when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

msrv=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
[ -n "$msrv" ] || { echo "no rust-version in Cargo.toml" >&2; exit 1; }
rustup toolchain list | grep -q "^$msrv-" || rustup toolchain install "$msrv" --profile minimal
echo "checking with Rust $msrv"
# seawall-compare (benches/compare) is bench-only and needs seatbelt, whose
# own minimum is Rust 1.95: left out here.
cargo "+$msrv" check --workspace --exclude seawall-compare --all-targets --locked --target-dir target/msrv
cargo "+$msrv" check -p seawall --all-targets --features redis,prometheus,serde,tracing \
  --locked --target-dir target/msrv
