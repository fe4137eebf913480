#!/usr/bin/env bash
# The crates are ready to publish: `cargo package` builds each publishable
# crate from its .crate file alone (path dependencies on each other resolved
# from the packages just made), and scripts/ci/check_packages.py checks the
# manifests' metadata, that every other workspace member has `publish = false`,
# and that every .crate carries both licenses and its README.
set -euo pipefail
cd "$(dirname "$0")/../.."

crates=(seawall-core seawall seawall-embassy)
# cargo verifies each package against the others through a local registry,
# and takes a registry crate of a given version as never changing: it reuses
# an earlier run's extraction of its sources (in cargo's cache) and its build
# (in the target folder), which would hide today's changes. So: our crates'
# extractions are removed (only those of local registries, whose cache folders
# start with "-"; crates.io's are left alone), and the packages are built in
# a target folder of their own, emptied first (about 10 s to rebuild).
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
for crate in "${crates[@]}"; do
  rm -rf "$cargo_home"/registry/src/-*/"$crate"-[0-9]*
done
export CARGO_TARGET_DIR="$PWD/target/package-check"
rm -rf "$CARGO_TARGET_DIR"
# In a checkout with uncommitted changes (a developer's), package them too.
dirty=()
[ -z "$(git status --porcelain 2>/dev/null)" ] || dirty=(--allow-dirty)
args=()
for crate in "${crates[@]}"; do args+=(-p "$crate"); done
cargo package "${args[@]}" --locked "${dirty[@]}" 2>&1 | grep -v "^warning: ignoring \(test\|benchmark\)"
python3 scripts/ci/check_packages.py "${crates[@]}"
