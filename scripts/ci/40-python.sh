#!/usr/bin/env bash
# The Python package: built from source into a fresh virtual environment the
# way a user installs it (pip install ./python), then its pytest suite, the
# type check of the examples (mypy --strict) and of the stubs against the
# built extension (mypy.stubtest). The Redis tests start their own
# redis-servers: Debian's redis-server is installed when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/ci/lib.sh

apt_install redis-server
command -v redis-server >/dev/null

# The extension's Redis support is a cargo feature that workspace builds leave out.
cargo clippy -p seawall-python --features redis --all-targets --locked -- -D warnings

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r python/requirements-test.txt
.venv/bin/python -m pip install -q --force-reinstall --no-deps ./python
.venv/bin/python -m pytest -q python/tests
# Against the installed package (run from the root, where no `seawall/` shadows it).
.venv/bin/python -m mypy --strict python/examples
.venv/bin/python -m mypy.stubtest seawall
