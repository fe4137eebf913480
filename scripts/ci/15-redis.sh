#!/usr/bin/env bash
# Shared state on Redis (feature `redis` of the seawall crate): lints with the
# feature, then its tests against real redis-servers that the tests start and
# stop themselves (free 127.0.0.1 ports, no persistence): any redis-server on
# PATH, else Debian's, installed here. The rust stage builds and tests the
# workspace without the feature.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh

need_command redis-server redis-server redis

cargo clippy -p seawall --features redis --all-targets --locked -- -D warnings
cargo test -p seawall --features redis --locked
