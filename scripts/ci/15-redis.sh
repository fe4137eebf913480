#!/usr/bin/env bash
# Shared state on Redis (feature `redis` of the seawall crate): lints with the
# feature, then its tests against real redis-servers that the tests start and
# stop themselves (free 127.0.0.1 ports, no persistence): the breaker's
# scenario files replayed on Redis, outages, corruption, a fleet of processes,
# a three-node cluster. Any redis-server (and redis-cli) on PATH, else
# Debian's, installed here. The rust stage builds and tests the workspace
# without the feature.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh

need_command redis-server redis-server redis
need_command redis-cli redis-tools redis

# With the registry's features too: shared breakers and limiters in the
# health report, the metrics and `tracing` (tests/redis_registry.rs,
# tests/observability_tracing.rs).
features=redis,prometheus,serde,tracing
cargo clippy -p seawall --features "$features" --all-targets --locked -- -D warnings
cargo test -p seawall --features "$features" --locked
