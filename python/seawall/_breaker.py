"""The circuit breaker's Python face: decorator and context managers.

The breaker itself, its permits and the wrapper of decorated ``def`` functions
are Rust (``seawall._seawall``); this module adds what is most natural in
Python: ``async def`` wrappers and ``with`` / ``async with`` blocks.
"""

from __future__ import annotations

import functools
import inspect
from types import TracebackType
from typing import Any, AsyncGenerator, Awaitable, Callable, Generator, Optional, Type, TypeVar

from seawall import _seawall

__all__ = ["CircuitBreaker"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


# ``with breaker:`` is Rust's (``__enter__`` and ``__exit__`` push and pop the
# block's permit without a Python frame); ``async with`` calls the same two.
_enter = _seawall.CircuitBreaker.__enter__
_exit = _seawall.CircuitBreaker.__exit__


class CircuitBreaker(_seawall.CircuitBreaker):
    __doc__ = _seawall.CircuitBreaker.__doc__
    __slots__ = ()

    def __call__(self, fn: F) -> F:
        """Decorates ``fn`` (a ``def``, ``async def`` or generator function) so
        that every call goes through the breaker. A generator's call is
        recorded when its iteration ends: a success when it is exhausted, a
        failure (as ``failure_on`` says) when it raises, and nothing when it is
        closed early."""
        if inspect.iscoroutinefunction(fn):
            return self._guard_async(fn)  # type: ignore[return-value]
        if inspect.isasyncgenfunction(fn):
            return self._guard_async_gen(fn)  # type: ignore[return-value]
        if inspect.isgeneratorfunction(fn):
            return self._guard_gen(fn)  # type: ignore[return-value]
        wrapper = self._guard(fn)
        functools.update_wrapper(wrapper, fn)
        return wrapper  # type: ignore[return-value]

    def _guard_gen(self, fn: Callable[..., Generator[Any, Any, R]]) -> Callable[..., Generator[Any, Any, R]]:
        acquire = self.acquire

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Generator[Any, Any, R]:
            permit = acquire()
            try:
                result = yield from fn(*args, **kwargs)
            except BaseException as error:
                # GeneratorExit (closed early) is not an Exception: released.
                permit.finish(error)
                raise
            permit.success()
            return result

        return guarded

    def _guard_async_gen(self, fn: Callable[..., AsyncGenerator[Any, Any]]) -> Callable[..., AsyncGenerator[Any, Any]]:
        acquire = self.acquire

        @functools.wraps(fn)
        async def guarded(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            permit = acquire()
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            except BaseException as error:
                permit.finish(error)
                raise
            permit.success()

        return guarded

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
            awaitable = fn(*args, **kwargs)
            if not inspect.isawaitable(awaitable):
                permit.release()
                raise TypeError(
                    f"{fn!r} returned {type(awaitable).__name__}, not an awaitable: "
                    "call a def function with breaker.call(fn, ...)"
                )
            result = await awaitable
        except BaseException as error:
            permit.finish(error)
            raise
        permit.success()
        return result

    async def __aenter__(self) -> _seawall.Permit:
        """As ``__enter__``, for ``async with``."""
        return _enter(self)

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """As ``__exit__``, for ``async with``."""
        _exit(self, exc_type, exc, traceback)
