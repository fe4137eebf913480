"""The circuit breaker's Python face: decorator and context managers.

The breaker itself, its permits and the wrapper of decorated ``def`` functions
are Rust (``seawall._seawall``); this module adds what is most natural in
Python: ``async def`` wrappers and ``with`` / ``async with`` blocks.
"""

from __future__ import annotations

import functools
import inspect
from types import TracebackType
from typing import Any, Awaitable, Callable, Optional, Type, TypeVar

from seawall import _blocks, _seawall

__all__ = ["CircuitBreaker"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


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
        """Acquires a permit for the block (or raises CircuitOpenError)."""
        permit = self.acquire()
        _blocks.push(self, permit)
        return permit

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """Ends the block's permit: a success, a failure if the breaker counts
        the exception, else a release (cancellation, excluded errors)."""
        permit: _seawall.Permit = _blocks.pop(self)
        permit.finish(exc)

    async def __aenter__(self) -> _seawall.Permit:
        """As ``__enter__``, for ``async with``."""
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """As ``__exit__``, for ``async with``."""
        self.__exit__(exc_type, exc, traceback)
