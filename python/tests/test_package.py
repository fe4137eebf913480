import subprocess
import sys
from pathlib import Path

import seawall

SOURCE = Path(__file__).resolve().parents[1]  # python/, the package's source


def test_the_extension_is_built_and_importable() -> None:
    assert seawall.__version__ == "0.1.0"


def test_importing_the_source_directory_says_what_is_wrong() -> None:
    # Python run from python/ finds the source directory `seawall/` first.
    # Without the compiled extension beside it (`maturin develop` puts it
    # there), the import must say so, not fail as a circular import.
    built = [p for p in (SOURCE / "seawall").iterdir() if p.name.startswith("_seawall.") and p.suffix in (".so", ".pyd")]
    result = subprocess.run(
        [sys.executable, "-c", "import seawall; print(seawall.__file__)"],
        cwd=SOURCE, capture_output=True, text=True, timeout=60,
    )
    if built:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(SOURCE / "seawall" / "__init__.py")
    else:
        assert result.returncode != 0
        assert "seawall's compiled extension (seawall._seawall) is not in" in result.stderr, result.stderr
        assert "circular import" not in result.stderr
