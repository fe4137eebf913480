"""The adaptive limiter's Python face: decorator and ``with`` / ``async with``
blocks. The limit, its algorithm and its permits are Rust's."""

from __future__ import annotations

import functools
import inspect
from types import TracebackType
from typing import Any, Awaitable, Callable, Optional, Type, TypeVar

from seawall import _blocks, _seawall

__all__ = ["AdaptiveLimiter"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


class AdaptiveLimiter(_seawall.AdaptiveLimiter):
    __doc__ = _seawall.AdaptiveLimiter.__doc__
    __slots__ = ()

    def __call__(self, fn: F) -> F:
        """Decorates ``fn`` (``def`` or ``async def``): each call holds a place
        under the limit and teaches it how the call went."""
        acquire = self.acquire
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def limited_async(*args: Any, **kwargs: Any) -> Any:
                permit = acquire()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as error:
                    # Cancellation is not an Exception: the place is released.
                    permit.finish(error)
                    raise
                permit.success()
                return result

            return limited_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def limited(*args: Any, **kwargs: Any) -> Any:
            permit = acquire()
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:
                permit.finish(error)
                raise
            permit.success()
            return result

        return limited  # type: ignore[return-value]

    def call(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """Calls ``fn(*args, **kwargs)`` under the limit and returns its result."""
        return self(fn)(*args, **kwargs)  # type: ignore[no-any-return]

    async def call_async(self, fn: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any) -> R:
        """Awaits ``fn(*args, **kwargs)`` under the limit and returns its result."""
        return await self(fn)(*args, **kwargs)  # type: ignore[no-any-return]

    def __enter__(self) -> _seawall.LimiterPermit:
        """Takes a place for the block (or raises BulkheadFullError)."""
        permit = self.acquire()
        _blocks.push(self, permit)
        return permit

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """Ends the block's permit: a success, an overload if ``overload_on``
        matches the exception, else a release (cancellation)."""
        permit: _seawall.LimiterPermit = _blocks.pop(self)
        permit.finish(exc)

    async def __aenter__(self) -> _seawall.LimiterPermit:
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
