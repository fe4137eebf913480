"""Prints the oldest and the newest CPython on this machine that the package
supports (requires-python in python/pyproject.toml), one path a line (one line
if only one minor version is found). Used by scripts/ci/40-python.sh.

Looks at python3 and python3.N on PATH and at pyenv's versions; an interpreter
counts only if it runs and can create a virtual environment (Debian's python3
needs its python3-venv package for that). What it found goes to stderr.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import sys, ensurepip, venv; print(sys.implementation.name, *sys.version_info[:3])"


def minimum() -> tuple:
    text = (ROOT / "python/pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'requires-python\s*=\s*">=\s*(\d+)\.(\d+)"', text)
    if not match:
        sys.exit("python/pyproject.toml: no requires-python = \">=X.Y\"")
    return int(match[1]), int(match[2])


def candidates() -> list:
    found = [shutil.which("python3")]
    found += [shutil.which(f"python3.{minor}") for minor in range(8, 30)]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found += sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.*", "bin", "python3")))
    return [path for path in dict.fromkeys(found) if path]


def main() -> None:
    least = minimum()
    by_minor = {}
    for path in candidates():
        try:
            out = subprocess.run([path, "-c", PROBE], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        words = out.stdout.split()
        if out.returncode != 0 or len(words) != 4 or words[0] != "cpython":
            continue
        version = tuple(int(w) for w in words[1:])
        if version[:2] >= least:
            # pyenv's shims on PATH resolve to the same interpreters: keep the newest patch.
            if version[:2] not in by_minor or version > by_minor[version[:2]][0]:
                by_minor[version[:2]] = (version, os.path.realpath(path) if "shims" not in path else path)
    if not by_minor:
        sys.exit(f"no CPython {least[0]}.{least[1]} or newer with venv on this machine")
    found = ", ".join(".".join(map(str, v)) for v, _ in sorted(by_minor.values()))
    print(f"CPython {least[0]}.{least[1]}+ found: {found}", file=sys.stderr)
    chosen = sorted(by_minor)
    for minor in dict.fromkeys([chosen[0], chosen[-1]]):
        print(by_minor[minor][1])


if __name__ == "__main__":
    main()
