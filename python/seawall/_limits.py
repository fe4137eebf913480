"""The rate limiter's and the bulkhead's Python faces: waiting in asyncio,
decorators and ``with`` / ``async with`` blocks. Their decisions are Rust's."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import time
from types import TracebackType
from typing import Any, Awaitable, Callable, Optional, Protocol, Type, TypeVar

from seawall import _blocks, _seawall

__all__ = ["Bulkhead", "RateLimiter"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


def _decorate(fn: F, enter_sync: Callable[[], Any], enter_async: Callable[[], Awaitable[Any]]) -> F:
    """Wraps ``fn`` so that each call first enters the policy (and leaves a
    permit's place when it ends, if entering gave one)."""
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
        """Decorates ``fn`` (``def`` or ``async def``): each call first takes a cell."""
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                await self.wait()
                return await fn(*args, **kwargs)

            return guarded_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.acquire()
            return fn(*args, **kwargs)

        return guarded  # type: ignore[return-value]

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
        that would take longer than ``max_wait`` seconds (default: the limiter's)."""
        if max_wait is not None and not (float(max_wait) >= 0):
            raise ValueError(f"invalid max_wait: must not be negative, got {max_wait}")
        if self.shadow:
            # Decides and counts; never waits.
            self.acquire(n, max_wait)
            return
        delay = self.check(n)
        if delay == 0.0:
            return
        limit = self.max_wait if max_wait is None else float(max_wait)
        clock = self.clock
        waited = 0.0
        while True:
            if limit is not None and waited + delay > limit:
                raise self._limited(delay)
            waited += delay
            if clock is None:
                await asyncio.sleep(delay)
            else:
                clock.advance(delay)
                await asyncio.sleep(0)
            delay = self.check(n)
            if delay == 0.0:
                return


def _resolve(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)


class Bulkhead(_seawall.Bulkhead):
    __doc__ = _seawall.Bulkhead.__doc__
    __slots__ = ()

    def enter(self) -> _seawall.BulkheadPermit:
        """A place, waiting up to ``max_wait`` seconds for one (the thread blocks);
        raises :class:`BulkheadFullError` if none frees up in time."""
        permit = self.try_enter()
        if permit is not None:
            return permit
        if self.max_wait <= 0:
            raise self._full()
        deadline = time.monotonic() + self.max_wait
        event = threading.Event()
        waker = event.set
        while True:
            self._add_waker(waker)
            permit = self.try_enter()
            if permit is not None:
                self._leave_queue(waker)
                return permit
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not event.wait(remaining):
                self._leave_queue(waker)
                raise self._full()
            event.clear()

    async def enter_async(self) -> _seawall.BulkheadPermit:
        """A place, awaiting up to ``max_wait`` seconds for one; raises
        :class:`BulkheadFullError` if none frees up in time. A cancelled wait
        leaves the queue without taking a place."""
        permit = self.try_enter()
        if permit is not None:
            return permit
        if self.max_wait <= 0:
            raise self._full()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while True:
            future: asyncio.Future[None] = loop.create_future()

            def waker(future: "asyncio.Future[None]" = future) -> None:
                # Places are given back from any thread.
                loop.call_soon_threadsafe(_resolve, future)

            self._add_waker(waker)
            permit = self.try_enter()
            if permit is not None:
                self._leave_queue(waker)
                return permit
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise asyncio.TimeoutError()
                await asyncio.wait_for(future, remaining)
            except asyncio.TimeoutError:
                self._leave_queue(waker)
                raise self._full() from None
            except BaseException:
                self._leave_queue(waker)
                raise

    def _leave_queue(self, waker: Callable[[], None]) -> None:
        # A wake already spent on a caller that no longer waits goes to the next one.
        if not self._remove_waker(waker):
            self._wake_one()

    def __call__(self, fn: F) -> F:
        """Decorates ``fn`` (``def`` or ``async def``): each call holds a place."""
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
