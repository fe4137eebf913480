"""seawall: resilience for Python over a deterministic Rust core."""

from seawall._seawall import __version__

__all__ = ["__version__"]
