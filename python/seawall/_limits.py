"""The rate limiter's and the bulkhead's Python faces: waiting in asyncio,
decorators and ``with`` / ``async with`` blocks. Their decisions are Rust's."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from types import TracebackType
from typing import Any, Awaitable, Callable, Optional, Protocol, Type, TypeVar

from seawall import _blocks, _seawall

__all__ = ["Bulkhead", "RateLimiter"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


def _decorate(fn: F, enter_sync: Callable[[], Any], enter_async: Callable[[], Awaitable[Any]]) -> F:
    """Wraps ``fn`` so that each call first enters the policy and holds the
    permit that entering gave (if any) until the call ends: for a generator
    function, until its iteration ends."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            permit = await enter_async()
            try:
                return await fn(*args, **kwargs)
            finally:
                if permit is not None:
                    permit.release()

        return guarded_async  # type: ignore[return-value]

    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def guarded_async_gen(*args: Any, **kwargs: Any) -> Any:
            permit = await enter_async()
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            finally:
                if permit is not None:
                    permit.release()

        return guarded_async_gen  # type: ignore[return-value]

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def guarded_gen(*args: Any, **kwargs: Any) -> Any:
            permit = enter_sync()
            try:
                return (yield from fn(*args, **kwargs))
            finally:
                if permit is not None:
                    permit.release()

        return guarded_gen  # type: ignore[return-value]

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        permit = enter_sync()
        try:
            return fn(*args, **kwargs)
        finally:
            if permit is not None:
                permit.release()

    return guarded  # type: ignore[return-value]


class _Cells(Protocol):
    """What :class:`_SpendsCells` needs of its limiter."""

    def acquire(self) -> None: ...

    def wait(self) -> Awaitable[None]: ...


L = TypeVar("L", bound=_Cells)


class _SpendsCells:
    """The decorator and the ``with`` / ``async with`` blocks of a rate limiter
    (local or shared), in terms of its ``acquire()`` and ``await wait()``: a
    call or a block first takes one cell, and gives nothing back."""

    __slots__ = ()

    def __call__(self: _Cells, fn: F) -> F:
        """Decorates ``fn`` (``def``, ``async def`` or a generator function):
        each call first takes a cell."""

        async def take_async() -> None:
            await self.wait()

        def take() -> None:
            self.acquire()

        return _decorate(fn, take, take_async)

    def __enter__(self: L) -> L:
        """Takes a cell, waiting as ``acquire()`` does."""
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """Nothing to give back: a cell is spent."""
        return None

    async def __aenter__(self: L) -> L:
        """Takes a cell, waiting as ``wait()`` does."""
        await self.wait()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """Nothing to give back: a cell is spent."""
        return None


class RateLimiter(_SpendsCells, _seawall.RateLimiter):
    __doc__ = _seawall.RateLimiter.__doc__
    __slots__ = ()

    async def wait(self, n: int = 1, max_wait: Optional[float] = None) -> None:
        """Takes ``n`` cells, awaiting ``asyncio.sleep`` (or advancing a manual
        clock) until they are available; raises :class:`RateLimitedError` when
        they would come later than ``max_wait`` seconds (default: the
        limiter's) after the start of the wait."""
        if self.shadow:
            # Decides and counts; never waits.
            self.acquire(n, max_wait)
            return
        waiting = self._waiting(n, max_wait)
        clock = self.clock
        while True:
            delay = waiting.next()
            if delay is None:
                return
            if clock is None:
                await asyncio.sleep(delay)
            else:
                clock.advance(delay)
                await asyncio.sleep(0)


class Bulkhead(_seawall.Bulkhead):
    __doc__ = _seawall.Bulkhead.__doc__
    __slots__ = ()

    def enter(self) -> _seawall.BulkheadPermit:
        """A place, waiting up to ``max_wait`` seconds for one (the thread
        blocks, first come, first served); raises :class:`BulkheadFullError`
        if none frees up in time."""
        permit = self.try_enter()
        if permit is not None:
            return permit
        event = threading.Event()
        queued = self._queue(event.set)
        try:
            while True:
                permit = queued.permit()
                if permit is not None:
                    return permit
                at_most = queued.next()
                if at_most is None:
                    raise self._full()
                event.wait(at_most)
                event.clear()
        finally:
            queued.leave()

    async def enter_async(self) -> _seawall.BulkheadPermit:
        """A place, awaiting up to ``max_wait`` seconds for one (first come,
        first served); raises :class:`BulkheadFullError` if none frees up in
        time. A cancelled wait leaves the queue without taking a place."""
        permit = self.try_enter()
        if permit is not None:
            return permit
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        # Places are given back from any thread.
        queued = self._queue(lambda: loop.call_soon_threadsafe(event.set))
        try:
            while True:
                permit = queued.permit()
                if permit is not None:
                    return permit
                at_most = queued.next()
                if at_most is None:
                    raise self._full()
                try:
                    await asyncio.wait_for(event.wait(), at_most)
                except asyncio.TimeoutError:
                    pass
                event.clear()
        finally:
            queued.leave()

    def __call__(self, fn: F) -> F:
        """Decorates ``fn`` (``def``, ``async def`` or a generator function):
        each call holds a place until it ends."""
        return _decorate(fn, self.enter, self.enter_async)

    def __enter__(self) -> _seawall.BulkheadPermit:
        """Takes a place for the block, waiting as ``enter()`` does."""
        permit = self.enter()
        _blocks.push(self, permit)
        return permit

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """Gives the block's place back."""
        permit: _seawall.BulkheadPermit = _blocks.pop(self)
        permit.release()

    async def __aenter__(self) -> _seawall.BulkheadPermit:
        """Takes a place for the block, waiting as ``enter_async()`` does."""
        permit = await self.enter_async()
        _blocks.push(self, permit)
        return permit

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """Gives the block's place back."""
        self.__exit__(exc_type, exc, traceback)
