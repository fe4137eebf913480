"""The ``with policy:`` blocks open in the current context.

``with breaker:`` and ``with bulkhead:`` hand a permit to their ``__exit__``
through a context variable, so one policy object serves many threads and
asyncio tasks at once (each has its own context) and blocks can nest.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Tuple

_open: ContextVar[Tuple[Tuple[object, Any], ...]] = ContextVar("seawall_open_blocks", default=())


def push(owner: object, permit: Any) -> None:
    """Records the permit of a block of ``owner`` that has just been entered."""
    _open.set(_open.get() + ((owner, permit),))


def pop(owner: object) -> Any:
    """The permit of the innermost open block of ``owner``, forgotten."""
    blocks = _open.get()
    for index in range(len(blocks) - 1, -1, -1):
        if blocks[index][0] is owner:
            _open.set(blocks[:index] + blocks[index + 1 :])
            return blocks[index][1]
    raise RuntimeError(f"{type(owner).__name__}.__exit__ without a matching __enter__")
