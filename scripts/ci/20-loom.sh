#!/usr/bin/env bash
# The loom models of the core's atomics, in a target directory of their own
# (--cfg loom changes every crate).
set -euo pipefail
cd "$(dirname "$0")/../.."

RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}" \
  cargo test -p seawall-core --test loom --release --locked --target-dir target/loom
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}" \
  cargo test -p seawall-core --test loom_policies --release --locked --target-dir target/loom
