"""The documents' Python examples run, and every public name has a docstring.

Every ```python block of README.md, docs/CIRCUIT_BREAKER_GUIDE.md, docs/ADAPTIVE.md,
docs/MONITORING.md, docs/SIMULATOR.md and python/README.md is executed on its own, in a fresh
namespace: the examples are programs a reader can copy. They use
``seawall.testing.ManualClock`` instead of sleeping, so they finish at once.
What a block prints is shown in the ```text block right after it (only blank
lines between), and must be exactly that; a block that prints without one fails.
(docs/SHARED_STATE.md's blocks need a Redis server: ``test_redis.py`` runs
them. The Rust blocks are doctests of the ``seawall`` crate;
``tests/tests/docs.rs`` checks the other blocks.)
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import re
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator, List, Optional, Tuple

import pytest

import seawall
import seawall.registry
import seawall.testing

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [
    "README.md",
    "docs/CIRCUIT_BREAKER_GUIDE.md",
    "docs/ADAPTIVE.md",
    "docs/MONITORING.md",
    "docs/SIMULATOR.md",
    "python/README.md",
]
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<tag>[^\n`]*)$")


def fenced_blocks(document: str) -> List[Tuple[int, int, str, str]]:
    """(first line, line after the closing fence, tag, body) of every fenced
    block of ``document``, lines counted from 1."""
    lines = (ROOT / document).read_text(encoding="utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, tag, indent = match["fence"], match["tag"].strip(), match["indent"]
        start = i + 1
        i = start
        while i < len(lines) and lines[i].strip() != fence:
            i += 1
        body = [line[len(indent):] if line.startswith(indent) else line for line in lines[start:i]]
        i += 1
        blocks.append((start, i + 1, tag, "\n".join(body) + "\n"))
    return blocks


def python_blocks(documents: List[str]) -> Iterator[Tuple[str, int, str, Optional[str]]]:
    """(document, first line, code, what it prints or None) of every ```python
    block of ``documents``: what it prints is the ```text block right after it."""
    for document in documents:
        lines = (ROOT / document).read_text(encoding="utf-8").splitlines()
        blocks = fenced_blocks(document)
        for k, (start, after, tag, body) in enumerate(blocks):
            if tag != "python":
                continue
            output = None
            if k + 1 < len(blocks):
                next_start, _, next_tag, next_body = blocks[k + 1]
                between = lines[after - 1 : next_start - 1]
                if next_tag == "text" and all(not line.strip() for line in between):
                    output = next_body
            yield document, start, body, output


BLOCKS = list(python_blocks(DOCUMENTS))


def test_the_documents_have_python_examples() -> None:
    documents = {document for document, _, _, _ in BLOCKS}
    assert documents == set(DOCUMENTS), documents


@pytest.mark.parametrize(
    "document, line, code, output", BLOCKS, ids=[f"{document}:{line}" for document, line, _, _ in BLOCKS]
)
def test_python_block_runs(
    document: str, line: int, code: str, output: Optional[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The examples use a ManualClock rather than sleeping: the sleeps they
    # complete are recorded (one that a timeout cancels is not), and must add
    # up to nothing.
    slept: List[float] = []
    real_sleep = time.sleep
    real_async_sleep = asyncio.sleep

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        real_sleep(seconds)

    async def async_sleep(seconds: float, *args: Any, **kwargs: Any) -> Any:
        result = await real_async_sleep(seconds, *args, **kwargs)
        slept.append(seconds)
        return result

    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(asyncio, "sleep", async_sleep)
    run_and_compare(document, line, code, output)
    assert sum(slept) == 0, f"{document}:{line} sleeps {sum(slept)} s instead of using a ManualClock"


def run_and_compare(document: str, line: int, code: str, output: Optional[str]) -> None:
    """Runs a block, and checks that it prints what the document shows."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        run_block(document, line, code)
    if output is None:
        assert not printed.getvalue(), (
            f"{document}:{line} prints, but no ```text block after it shows what:\n{printed.getvalue()}"
        )
    else:
        assert printed.getvalue() == output, f"{document}:{line} prints something else than the document shows"


def run_block(document: str, line: int, code: str) -> None:
    """Runs a block as a program of its own, in a fresh namespace."""
    namespace = {"__name__": "__main__"}
    exec(compile(code, f"{document}:{line}", "exec"), namespace)


def public_names() -> Iterator[Tuple[str, object]]:
    """Every name a user of the package is meant to reach: the modules'
    ``__all__``, and the public methods and properties of their classes."""
    modules: List[ModuleType] = [seawall, seawall.registry, seawall.testing]
    for module in modules:
        yield module.__name__, module
        for name in module.__all__:
            if name == "__version__":
                continue
            obj = getattr(module, name)
            qualified = f"{module.__name__}.{name}"
            yield qualified, obj
            if not inspect.isclass(obj):
                continue
            for attr in dir(obj):
                if attr.startswith("_") and attr not in ("__call__", "__enter__", "__exit__", "__aenter__", "__aexit__"):
                    continue
                owner = next((c for c in obj.__mro__ if attr in c.__dict__), None)
                # Inherited from Python itself (Exception.args, object.__init__).
                if owner is None or owner.__module__ == "builtins":
                    continue
                yield f"{qualified}.{attr}", owner.__dict__[attr]


def test_every_public_name_has_a_docstring() -> None:
    missing = [name for name, obj in public_names() if not (inspect.getdoc(obj) or "").strip()]
    assert not missing, f"public names without a docstring: {missing}"


def test_help_reads_well() -> None:
    text = pydoc_text(seawall.CircuitBreaker)
    for words in ["fails fast", "failure_threshold", "success_threshold", "timeout", "default 5"]:
        assert words in text, words


def pydoc_text(obj: object) -> str:
    import pydoc

    return pydoc.render_doc(obj, renderer=pydoc.plaintext)
