#!/usr/bin/env bash
# Builds the Python package's wheel and source distribution with maturin:
#
#   target/wheels/seawall-<version>-cp311-abi3-<platform>.whl   one wheel for
#       CPython 3.11 and newer (the stable ABI), installable without Rust:
#       pip install target/wheels/seawall-*.whl
#   target/wheels/seawall-<version>.tar.gz   the source distribution (building
#       it needs Rust 1.88 or newer)
#
# Needs Rust and a Python 3.11 or newer (PYTHON, default python3). maturin is
# installed from PyPI into a virtual environment of its own (target/maturin-venv).
# Prints the two paths, one a line: the wheel's, then the sdist's.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
out=target/wheels
venv=target/maturin-venv
[ -x "$venv/bin/maturin" ] || {
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q "maturin>=1.9,<2"
}
mkdir -p "$out"
rm -f "$out"/seawall-*.whl "$out"/seawall-*.tar.gz
"$venv/bin/maturin" build --release --locked --quiet -m python/Cargo.toml --out "$out" >&2
"$venv/bin/maturin" sdist -m python/Cargo.toml --out "$out" >&2
echo "$out"/seawall-*.whl
echo "$out"/seawall-*.tar.gz
