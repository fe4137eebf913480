"""The build backend of the seawall package: maturin's, except that it never
downloads a Rust toolchain on its own.

When cargo is not on PATH, maturin's backend silently downloads a Rust
toolchain (about 1 GB) into a cache and builds with it. Here a build without
cargo stops at once and says what to do: install the prebuilt wheel, or
install Rust. ``SEAWALL_DOWNLOAD_RUST=1`` lets maturin download the toolchain.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any, List, Mapping, Optional

import maturin
from maturin import *  # noqa: F401,F403  (every hook maturin defines)

MESSAGE = """
seawall: building this package from source needs Rust 1.88 or newer, and
`cargo` is not on PATH. Either:

  - install the prebuilt wheel instead: in a clone of seawall, on a machine
    with Rust, `./scripts/build-python.sh` builds target/wheels/seawall-*.whl,
    which `pip install` takes anywhere (Linux x86-64, CPython 3.11 or newer);
  - or install Rust (rustup), then run pip again;
  - or let maturin download a Rust toolchain (about 1 GB) for this build:
    SEAWALL_DOWNLOAD_RUST=1 pip install ...
"""


def _check_rust() -> None:
    if shutil.which("cargo") is not None:
        return
    if os.environ.get("SEAWALL_DOWNLOAD_RUST") == "1":
        print("seawall: cargo not found; maturin downloads a Rust toolchain (SEAWALL_DOWNLOAD_RUST=1)")
        return
    # Also keeps maturin's own download off if a hook below runs anyway.
    os.environ["MATURIN_NO_INSTALL_RUST"] = "1"
    sys.stderr.write(MESSAGE)
    sys.stderr.flush()
    sys.exit(1)


def get_requires_for_build_wheel(config_settings: Optional[Mapping[str, Any]] = None) -> List[str]:
    _check_rust()
    return list(maturin.get_requires_for_build_wheel(config_settings))


def get_requires_for_build_editable(config_settings: Optional[Mapping[str, Any]] = None) -> List[str]:
    _check_rust()
    return list(maturin.get_requires_for_build_editable(config_settings))


def get_requires_for_build_sdist(config_settings: Optional[Mapping[str, Any]] = None) -> List[str]:
    _check_rust()
    return list(maturin.get_requires_for_build_sdist(config_settings))
