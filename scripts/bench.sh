#!/usr/bin/env bash
# Reruns the comparison tables of docs/BENCHMARKS.md on this machine and
# prints them in the document's format: seawall against every peer, measured in
# the same run, in the profile users get (cargo's release profile: no LTO, 16
# codegen units) and again with LTO (one codegen unit), then the Python
# package against its PyPI peers.
#
# Usage: ./scripts/bench.sh [rounds]     (default 15; more rounds, steadier minima)
#        SKIP_PYTHON=1 ./scripts/bench.sh  (the Rust tables only)
#
# Needs Rust 1.95 or newer (seatbelt, one of the peers). The Python part builds
# the wheel (scripts/build-python.sh) and installs it with the peers
# (python/bench/requirements.txt) into target/bench-venv. Benchmarks on a
# machine that is doing something else are noisy: each table is the fastest
# of the interleaved rounds, and the ratios come from the same rounds.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-15}

echo "## Machine"
echo
echo '```text'
lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|Hypervisor|L1d|L2|L3)' || true
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rustc --version
echo '```'
echo

table() {
  local title=$1; shift
  echo "## $title"
  echo
  "$@" cargo bench -q -p seawall-compare --bench table -- "$rounds" 2>/dev/null
  echo
}

table "Default release profile (what users build)" env
table "With LTO (lto = \"fat\", one codegen unit)" env \
  CARGO_PROFILE_BENCH_LTO=fat CARGO_PROFILE_BENCH_CODEGEN_UNITS=1 CARGO_TARGET_DIR=target/lto

if [ -z "${SKIP_PYTHON:-}" ]; then
  venv=target/bench-venv
  wheel=$(./scripts/build-python.sh | sed -n 1p)
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r python/bench/requirements.txt
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall "$wheel"
  echo "## Python"
  echo
  "$venv/bin/python" python/bench/bench.py --rounds "$rounds" --markdown
fi
