"""Checks the Python package's wheel and sdist (run by scripts/ci/40-python.sh).

Usage: python3 scripts/ci/check_python_dist.py WHEEL SDIST

Both carry LICENSE-MIT and LICENSE-APACHE with the root's text; the wheel is
abi3 for CPython 3.11 and newer, holds the typed package (stubs, py.typed)
and declares the license; the sdist holds the build backend it names.
"""

import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LICENSES = {name: (ROOT / name).read_bytes() for name in ["LICENSE-MIT", "LICENSE-APACHE"]}


def main(wheel: str, sdist: str) -> int:
    problems = []
    if "-cp311-abi3-" not in Path(wheel).name:
        problems.append(f"{wheel}: not an abi3 wheel for CPython 3.11+")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for name, text in LICENSES.items():
            found = [n for n in names if n.endswith(f".dist-info/licenses/{name}")]
            if not found or archive.read(found[0]) != text:
                problems.append(f"{wheel}: no {name} with the root's text")
        for part in ["seawall/py.typed", "seawall/_seawall.pyi", "seawall/__init__.py"]:
            if part not in names:
                problems.append(f"{wheel}: lacks {part}")
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        for line in ["License-Expression: MIT OR Apache-2.0", "Requires-Python: >=3.11"]:
            if line not in metadata.splitlines():
                problems.append(f"{wheel}: METADATA lacks '{line}'")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        top = names[0].split("/")[0]
        for name, text in LICENSES.items():
            member = archive.extractfile(f"{top}/{name}") if f"{top}/{name}" in names else None
            if member is None or member.read() != text:
                problems.append(f"{sdist}: no {name} with the root's text")
        if f"{top}/build_backend/seawall_build.py" not in names:
            problems.append(f"{sdist}: lacks build_backend/seawall_build.py, its build backend")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"checked {Path(wheel).name} and {Path(sdist).name}: licenses, metadata, typed package")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
