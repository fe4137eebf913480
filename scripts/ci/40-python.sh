#!/usr/bin/env bash
# The Python package as a user gets it: scripts/build-python.sh builds the
# abi3 wheel and the source distribution once; then, on the oldest and on the
# newest CPython of this machine that the package supports
# (scripts/ci/pythons.py), the wheel goes into a fresh virtual environment
# with no Rust on PATH, and the pytest suite, the type check of the examples
# (mypy --strict) and of the stubs against the installed extension
# (mypy.stubtest) run against it, not against the source tree. Also: both
# licenses are in the wheel and the sdist, and installing the sdist without
# Rust stops with seawall's message instead of downloading a toolchain. The
# Redis tests start their own redis-servers.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh
export PIP_DISABLE_PIP_VERSION_CHECK=1

need_command redis-server redis-server redis

# The extension's Redis support is a cargo feature that workspace builds leave out.
cargo clippy -p seawall-python --features redis --all-targets --locked -- -D warnings

dist=$(./scripts/build-python.sh)
wheel=$(sed -n 1p <<<"$dist")
sdist=$(sed -n 2p <<<"$dist")
python3 scripts/ci/check_python_dist.py "$wheel" "$sdist"

# PATH without the directories that hold cargo or rustc.
no_rust_path=$(tr ':' '\n' <<<"$PATH" | while read -r dir; do
  [ -n "$dir" ] && [ ! -e "$dir/cargo" ] && [ ! -e "$dir/rustc" ] && echo "$dir"
done | paste -sd: -)

found=$(python3 scripts/ci/pythons.py)
mapfile -t pythons <<<"$found"
[ ${#pythons[@]} -ge 2 ] || echo "only one supported CPython on this machine: testing on it alone"
for i in "${!pythons[@]}"; do
  python=${pythons[$i]}
  # The oldest Python's environment stays in .venv, for a developer's use
  # (python/bench/bench.py runs there); the newest one's under target/.
  if [ "$i" -eq 0 ]; then venv=.venv; else venv=target/venv-newest-python; fi
  rm -rf "$venv"
  "$python" -m venv "$venv"
  echo "::: python: $("$venv/bin/python" --version) in $venv"
  (
    export PATH="$no_rust_path"
    ! command -v cargo >/dev/null || { echo "cargo is still on PATH" >&2; exit 1; }
    "$venv/bin/python" -m pip install -q -r python/requirements-test.txt
    "$venv/bin/python" -m pip install -q --no-deps --only-binary :all: "$wheel"
    # From the root, where no `seawall/` directory shadows the installed package.
    "$venv/bin/python" - <<'PY'
import sys, seawall
assert seawall.__file__.startswith(sys.prefix), f"seawall imported from {seawall.__file__}, not the venv"
print(f"seawall {seawall.__version__} from {seawall.__file__}")
PY
    "$venv/bin/python" -m pytest -q python/tests
    "$venv/bin/python" -m mypy --strict python/examples
    "$venv/bin/python" -m mypy.stubtest seawall
  )
done

# The source route without Rust: a clear stop, no toolchain download.
venv=target/venv-sdist-check
rm -rf "$venv"
"${pythons[0]}" -m venv "$venv"
out=$(PATH="$no_rust_path" "$venv/bin/python" -m pip install --no-cache-dir "$sdist" 2>&1) && {
  echo "installing the sdist without Rust succeeded: it should have stopped" >&2
  exit 1
}
grep -q "building this package from source needs Rust" <<<"$out" || {
  echo "installing the sdist without Rust failed without seawall's message:" >&2
  echo "$out" >&2
  exit 1
}
rm -rf "$venv"
echo "the sdist without Rust stops with seawall's message"
