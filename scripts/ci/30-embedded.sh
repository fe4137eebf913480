#!/usr/bin/env bash
# The core is no_std and allocation-free: build it for Cortex-M4F and for
# Cortex-M0 (no atomic CAS: portable-atomic's critical-section fallback).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh

rust_targets thumbv7em-none-eabihf thumbv6m-none-eabi
cargo build -p seawall-core --locked --release --target thumbv7em-none-eabihf
cargo build -p seawall-core --locked --release --target thumbv6m-none-eabi --features critical-section
