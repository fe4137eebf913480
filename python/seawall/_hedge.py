"""Hedging's Python face: the ``async def`` loop that starts the attempts.

The decisions (when to start the next attempt, which failure starts one at
once, what the budget allows) are the Rust core's (``seawall._seawall.Hedge``);
this module runs the attempts as asyncio tasks, waits for the first answer and
cancels the others.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any, Awaitable, Callable, Dict, TypeVar

from seawall import _seawall

__all__ = ["Hedge"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


class Hedge(_seawall.Hedge):
    __doc__ = _seawall.Hedge.__doc__
    __slots__ = ()

    def __call__(self, fn: F) -> F:
        """Decorates ``fn``, an ``async def`` function, so that its calls are hedged."""
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(
                "Hedge works on async def functions: hedging runs attempts side by side, "
                "which a def function cannot do without threads"
            )

        @functools.wraps(fn)
        async def hedged(*args: Any, **kwargs: Any) -> Any:
            return await self._run(lambda: fn(*args, **kwargs))

        return hedged  # type: ignore[return-value]

    async def call(self, fn: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any) -> R:
        """Awaits ``fn(*args, **kwargs)``, hedged, and returns the first answer."""
        return await self._run(lambda: fn(*args, **kwargs))

    async def _run(self, attempt: Callable[[], Awaitable[R]]) -> R:
        call = self._start()
        running: Dict["asyncio.Future[R]", int] = {asyncio.ensure_future(attempt()): 1}
        ended = False
        try:
            while True:
                timeout = None
                while True:
                    what, value = self._poll(call)
                    if what == "send":
                        running[asyncio.ensure_future(attempt())] = value
                        continue
                    if what == "wait":
                        timeout = value
                    break
                done, _ = await asyncio.wait(running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                # Several attempts may end in one turn of the loop: the first sent first.
                for task in sorted(done, key=running.__getitem__):
                    number = running.pop(task)
                    error = asyncio.CancelledError() if task.cancelled() else task.exception()
                    if error is None:
                        self._succeeded(call, number)
                        ended = True
                        return task.result()
                    what, value = self._failed(call, error)
                    if what == "send":
                        running[asyncio.ensure_future(attempt())] = value
                    elif what == "give_up":
                        ended = True
                        raise error
        finally:
            if not ended:
                # The caller was cancelled (or a BaseException escaped): the
                # attempts in flight are cancelled with the call.
                self._cancelled(call)
            for task in running:
                task.cancel()
