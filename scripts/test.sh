#!/usr/bin/env bash
# Runs every test of seawall: the Rust tests of every crate, the loom models,
# the embedded builds (and firmware under QEMU), and the Python suite against a
# freshly built extension. Installs what it needs (Rust targets, Debian
# packages, a Python virtual environment in .venv).
#
# Usage: ./scripts/test.sh [stage...]   (stages: the files in scripts/ci/, by name
# without number or extension, e.g. `./scripts/test.sh rust python`)
set -euo pipefail
cd "$(dirname "$0")/.."

want=("$@")
selected() {
  [ ${#want[@]} -eq 0 ] && return 0
  for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

start=$(date +%s)
for stage in scripts/ci/[0-9]*.sh; do
  name=$(basename "$stage" .sh); name=${name#*-}
  selected "$name" || continue
  echo "::: stage $name"
  t0=$(date +%s)
  bash "$stage"
  echo "::: stage $name passed in $(( $(date +%s) - t0 )) s"
done
echo "::: all stages passed in $(( $(date +%s) - start )) s"
