#!/usr/bin/env bash
# Runs every test of seawall: the Rust tests of every crate, the loom models,
# the embedded builds (and firmware under QEMU), the Python suite against the
# built wheel, the minimum Rust version and the crates' packages. Installs
# what it needs and lacks (Rust targets and toolchains with rustup, Debian
# packages with apt-get, Python packages into virtual environments).
#
# Usage: ./scripts/test.sh [stage...]   (stages: the files in scripts/ci/, by name
# without number or extension, e.g. `./scripts/test.sh rust python`)
set -euo pipefail
cd "$(dirname "$0")/.."

stages=()
for file in scripts/ci/[0-9]*.sh; do
  name=$(basename "$file" .sh)
  stages+=("${name#*-}")
done

usage() {
  echo "usage: ./scripts/test.sh [stage...]"
  echo "stages, in the order they run (none named: all): ${stages[*]}"
}

for w in "$@"; do
  case "$w" in
    -h | --help) usage; exit 0 ;;
  esac
  known=0
  for s in "${stages[@]}"; do [ "$s" = "$w" ] && known=1; done
  if [ "$known" -eq 0 ]; then
    echo "no stage named '$w'" >&2
    usage >&2
    exit 2
  fi
done

selected() {
  [ $# -eq 1 ] && return 0
  local name=$1; shift
  for w in "$@"; do [ "$w" = "$name" ] && return 0; done
  return 1
}

start=$(date +%s)
ran=()
for file in scripts/ci/[0-9]*.sh; do
  name=$(basename "$file" .sh); name=${name#*-}
  selected "$name" "$@" || continue
  echo "::: stage $name"
  t0=$(date +%s)
  bash "$file"
  ran+=("$name $(( $(date +%s) - t0 )) s")
  echo "::: stage $name passed in $(( $(date +%s) - t0 )) s"
done
echo "::: stages passed: $(IFS=,; echo "${ran[*]}" | sed 's/,/, /g')"
echo "::: ${#ran[@]} of ${#stages[@]} stages passed in $(( $(date +%s) - start )) s"
