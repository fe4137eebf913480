#!/usr/bin/env bash
# The crates are ready to publish: `cargo package` builds each publishable
# crate from its .crate file alone (path dependencies on each other resolved
# from the packages just made), and scripts/ci/check_packages.py checks the
# manifests' metadata, that every other workspace member has `publish = false`,
# and that every .crate carries both licenses and its README.
set -euo pipefail
cd "$(dirname "$0")/../.."

crates=(seawall-core seawall seawall-embassy)
# In a checkout with uncommitted changes (a developer's), package them too.
dirty=()
[ -z "$(git status --porcelain 2>/dev/null)" ] || dirty=(--allow-dirty)
args=()
for crate in "${crates[@]}"; do args+=(-p "$crate"); done
cargo package "${args[@]}" --locked "${dirty[@]}" 2>&1 | grep -v "^warning: ignoring \(test\|benchmark\)"
python3 scripts/ci/check_packages.py "${crates[@]}"
