"""The circuit breaker's Python face: decorator and context managers.

The breaker itself, its permits and the wrapper of decorated ``def`` functions
are Rust (``seawall._seawall``); this module adds what is most natural in
Python: ``async def`` wrappers and ``with`` / ``async with`` blocks.
"""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Awaitable, Callable, Optional, Tuple, Type, TypeVar

from seawall import _seawall

__all__ = ["CircuitBreaker"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

# The permits of the `with breaker:` blocks open in this context (thread or
# asyncio task), innermost last; `__exit__` ends the innermost one of its breaker.
_open_blocks: ContextVar[Tuple[Tuple["CircuitBreaker", _seawall.Permit], ...]] = ContextVar(
    "seawall_open_blocks", default=()
)


class CircuitBreaker(_seawall.CircuitBreaker):
    __doc__ = _seawall.CircuitBreaker.__doc__
    __slots__ = ()

    def __call__(self, fn: F) -> F:
        """Decorates ``fn`` (a ``def`` or an ``async def`` function) so that
        every call goes through the breaker."""
        if inspect.iscoroutinefunction(fn):
            return self._guard_async(fn)  # type: ignore[return-value]
        wrapper = self._guard(fn)
        functools.update_wrapper(wrapper, fn)
        return wrapper  # type: ignore[return-value]

    def _guard_async(self, fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        acquire = self.acquire

        @functools.wraps(fn)
        async def guarded(*args: Any, **kwargs: Any) -> R:
            permit = acquire()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as error:
                # Cancellation (CancelledError, GeneratorExit) is not an Exception:
                # the permit is released, freeing a half-open probe slot.
                permit.finish(error)
                raise
            permit.success()
            return result

        return guarded

    async def call_async(
        self, fn: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any
    ) -> R:
        """Awaits ``fn(*args, **kwargs)`` through the breaker and returns its result."""
        permit = self.acquire()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as error:
            permit.finish(error)
            raise
        permit.success()
        return result

    def __enter__(self) -> _seawall.Permit:
        permit = self.acquire()
        _open_blocks.set(_open_blocks.get() + ((self, permit),))
        return permit

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        blocks = _open_blocks.get()
        for index in range(len(blocks) - 1, -1, -1):
            if blocks[index][0] is self:
                permit = blocks[index][1]
                _open_blocks.set(blocks[:index] + blocks[index + 1 :])
                permit.finish(exc)
                return
        raise RuntimeError("CircuitBreaker.__exit__ without a matching __enter__")

    async def __aenter__(self) -> _seawall.Permit:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.__exit__(exc_type, exc, traceback)
