"""Checks what `cargo package` made (run by scripts/ci/60-package.sh).

Usage: python3 scripts/ci/check_packages.py CRATE...   (the publishable crates)

- Each publishable crate's manifest has the metadata crates.io and docs.rs
  show: description, license, readme, documentation, categories, keywords,
  rust-version, and docs.rs settings with every feature.
- Every other member of the workspace has `publish = false`.
- Each crate's .crate file holds LICENSE-MIT, LICENSE-APACHE and its README,
  with the same text as the licenses at the root.
"""

import json
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ["description", "license", "readme", "documentation", "categories", "keywords", "rust_version"]


def main(publishable: list[str]) -> int:
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
    )
    target = Path(metadata["target_directory"]) / "package"
    problems = []
    names = {package["name"] for package in metadata["packages"]}
    for name in publishable:
        if name not in names:
            problems.append(f"{name}: not a member of the workspace")
    for package in metadata["packages"]:
        name = package["name"]
        if name not in publishable:
            if package["publish"] != []:
                problems.append(f"{name}: not published, so its manifest needs `publish = false`")
            continue
        for field in REQUIRED:
            if not package.get(field):
                problems.append(f"{name}: the manifest has no {field.replace('_', '-')}")
        docs_rs = (package.get("metadata") or {}).get("docs", {}).get("rs", {})
        if docs_rs.get("all-features") is not True:
            problems.append(f"{name}: [package.metadata.docs.rs] lacks all-features = true")
        crate = target / f"{name}-{package['version']}.crate"
        if not crate.exists():
            problems.append(f"{name}: no {crate.name}: did `cargo package` run?")
            continue
        with tarfile.open(crate) as archive:
            prefix = f"{name}-{package['version']}/"
            for file in ["LICENSE-MIT", "LICENSE-APACHE", package["readme"]]:
                try:
                    member = archive.extractfile(prefix + file)
                except KeyError:
                    member = None
                if member is None:
                    problems.append(f"{name}: {crate.name} lacks {file}")
                elif file.startswith("LICENSE") and member.read() != (ROOT / file).read_bytes():
                    problems.append(f"{name}: {crate.name}'s {file} differs from the root's")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"packages checked: {', '.join(publishable)} (metadata, licenses, README);"
              f" publish = false: {', '.join(sorted(names - set(publishable)))}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
