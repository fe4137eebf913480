"""The ``with policy:`` blocks open in the current context.

``with breaker:`` and ``with bulkhead:`` hand a permit to their ``__exit__``
through a context variable, so one policy object serves many threads and
asyncio tasks at once (each has its own context) and blocks can nest. The
variable holds the innermost block as an immutable node ``(owner, permit,
next)``: entering pushes one node, the usual exit pops it. The breaker's
``with`` runs the same push and pop in Rust (``python/src/blocks.rs``).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Optional, Tuple

# (owner, permit, the node below or None)
_open: ContextVar[Optional[Tuple[object, Any, Any]]] = ContextVar("seawall_open_blocks", default=None)


def push(owner: object, permit: Any) -> None:
    """Records the permit of a block of ``owner`` that has just been entered."""
    _open.set((owner, permit, _open.get()))


def pop(owner: object) -> Any:
    """The permit of the innermost open block of ``owner``, forgotten."""
    top = _open.get()
    if top is not None and top[0] is owner:
        _open.set(top[2])
        return top[1]
    # An exit out of order (blocks entered and exited by hand): rebuild the
    # nodes above the one that leaves.
    above = []
    node = top
    while node is not None and node[0] is not owner:
        above.append(node)
        node = node[2]
    if node is None:
        raise RuntimeError(f"{type(owner).__name__}.__exit__ without a matching __enter__")
    rest = node[2]
    for owner_above, permit_above, _ in reversed(above):
        rest = (owner_above, permit_above, rest)
    _open.set(rest)
    return node[1]
