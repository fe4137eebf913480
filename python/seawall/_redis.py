"""Shared state across a fleet, on Redis: the Python faces of the store, the
shared circuit breaker and the shared rate limiter.

Every decision is the Rust core's, the same as a local breaker's, on a state
that Redis stores (a local hot path synced in the background, a fallback
while Redis is unavailable); its calls to Redis run on a tokio runtime owned
by the extension, with the GIL released. This module adds what is most natural in
Python: decorators for ``def`` and ``async def``, ``with`` / ``async with``
blocks, and waiting in ``asyncio`` without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import time
from datetime import timedelta
from types import TracebackType
from typing import (
    Any,
    Awaitable,
    Callable,
    Optional,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from seawall import _blocks, _seawall
from seawall._breaker import CircuitBreaker as _LocalBreaker
from seawall._errors import SeawallError
from seawall._limits import _SpendsCells

__all__ = [
    "RedisStore",
    "RedisUnavailableError",
    "SharedCircuitBreaker",
    "SharedRateLimiter",
    "SharedStateCorruptError",
]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

_Seconds = Union[float, int, timedelta]
_ExceptionSet = Union[
    Type[BaseException],
    Tuple[Type[BaseException], ...],
    "list[Type[BaseException]]",
    Callable[[BaseException], object],
]
_StateListener = Callable[[Any, str, str], object]

# A forked child cannot use its parent's runtime (its threads are not copied):
# the extension starts another and rebuilds its objects there.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_seawall._redis_after_fork)


class RedisUnavailableError(SeawallError, ConnectionError):
    """Redis did not answer an operation that needs it (``sync()``,
    ``shared_state()``, ``force_open()``, ``disable()``, ``reset()``) within
    the store's ``timeout``. Calls through a shared breaker or limiter never
    raise it: they follow the store's ``when_unavailable`` instead."""


class SharedStateCorruptError(SeawallError, ValueError):
    """A shared breaker read its state from Redis and found values out of
    range (not a number, negative, too large, an unknown state): ``sync()`` and
    ``shared_state()`` raise it. The values were read as their defaults and the
    state written back repaired, so the next sync is clean; ``fields`` names
    what was corrupt."""

    def __init__(self, message: str, fields: Tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields: Tuple[str, ...] = tuple(fields)


def _settle(future: "asyncio.Future[Any]", value: Any, error: Optional[BaseException]) -> None:
    """Sets the result of a call that the extension's runtime finished (run
    on the future's loop). A permit that nobody awaits any more is released."""
    if future.done():
        if isinstance(value, _seawall.SharedPermit):
            value.release()
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class SharedCircuitBreaker(_seawall.SharedCircuitBreaker):
    __doc__ = _seawall.SharedCircuitBreaker.__doc__
    __slots__ = ()

    def __call__(self, fn: F) -> F:
        """Decorates ``fn`` (a ``def``, ``async def`` or generator function)
        so that every call goes through the breaker. A generator's call is
        recorded when its iteration ends, as with a local breaker."""
        if inspect.iscoroutinefunction(fn):
            return self._guard_async(fn)  # type: ignore[return-value]
        if inspect.isgeneratorfunction(fn):
            # The local breaker's wrapper: it only needs acquire() and permits.
            return _LocalBreaker._guard_gen(self, fn)  # type: ignore[arg-type, return-value]
        wrapper = self._guard(fn)
        functools.update_wrapper(wrapper, fn)
        return wrapper  # type: ignore[return-value]

    def _guard_async(self, fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        call_async = self.call_async

        @functools.wraps(fn)
        async def guarded(*args: Any, **kwargs: Any) -> R:
            return await call_async(fn, *args, **kwargs)

        return guarded

    async def acquire_async(self) -> _seawall.SharedPermit:
        """As ``acquire()``, without blocking the event loop: a call that must
        ask Redis awaits its answer (within the store's ``timeout``)."""
        permit = self._acquire_async()
        if isinstance(permit, _seawall.SharedPermit):
            return permit
        result: _seawall.SharedPermit = await permit
        return result

    async def call_async(
        self, fn: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any
    ) -> R:
        """Awaits ``fn(*args, **kwargs)`` through the breaker and returns its
        result; never blocks the event loop on Redis."""
        permit = self._acquire_async()
        if not isinstance(permit, _seawall.SharedPermit):
            permit = await permit
        try:
            result = await fn(*args, **kwargs)
        except BaseException as error:
            # Cancellation is not an Exception: the permit is released,
            # freeing a probe slot.
            pending = permit._finish_async(error)
            if pending is not None:
                await pending
            raise
        pending = permit._finish_async(None)
        if pending is not None:
            await pending
        return result

    def __enter__(self) -> _seawall.SharedPermit:
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
        permit: _seawall.SharedPermit = _blocks.pop(self)
        permit.finish(exc)

    async def __aenter__(self) -> _seawall.SharedPermit:
        """As ``__enter__``, for ``async with`` (awaits Redis when it must ask)."""
        permit = await self.acquire_async()
        _blocks.push(self, permit)
        return permit

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        """As ``__exit__``, for ``async with`` (awaits a probe's report)."""
        permit: _seawall.SharedPermit = _blocks.pop(self)
        pending = permit._finish_async(exc)
        if pending is not None:
            await pending


class SharedRateLimiter(_SpendsCells, _seawall.SharedRateLimiter):
    __doc__ = _seawall.SharedRateLimiter.__doc__
    __slots__ = ()

    def acquire(self, n: int = 1, max_wait: Optional[_Seconds] = None) -> None:
        """Takes ``n`` cells, sleeping (``time.sleep``) until the fleet has them;
        raises :class:`RateLimitedError` instead when that would take longer
        than ``max_wait`` seconds (default: the limiter's)."""
        waiting = self._waiting(max_wait)
        while True:
            delay = self.check(n)
            if delay == 0.0:
                return
            time.sleep(waiting.after(delay))

    async def wait(self, n: int = 1, max_wait: Optional[_Seconds] = None) -> None:
        """Takes ``n`` cells, awaiting ``asyncio.sleep`` until the fleet has them
        (the checks do not block the event loop); raises
        :class:`RateLimitedError` when that would take longer than
        ``max_wait`` seconds (default: the limiter's)."""
        waiting = self._waiting(max_wait)
        while True:
            delay = await self.check_async(n)
            if delay == 0.0:
                return
            await asyncio.sleep(waiting.after(delay))

    async def check_async(self, n: int = 1) -> float:
        """As ``check()``, without blocking the event loop on Redis."""
        answer = self._check_async(n)
        if isinstance(answer, float):
            return answer
        delay: float = await answer
        return delay


class RedisStore(_seawall.RedisStore):
    __doc__ = _seawall.RedisStore.__doc__
    __slots__ = ()

    def circuit_breaker(
        self,
        name: str,
        failure_threshold: Optional[int] = None,
        success_threshold: Optional[int] = None,
        timeout: Optional[_Seconds] = None,
        *,
        half_open_max_calls: Optional[int] = None,
        open_duration_multiplier: Optional[float] = None,
        max_open_duration: Optional[_Seconds] = None,
        max_wait_in_half_open: Optional[_Seconds] = None,
        window_size: Optional[int] = None,
        window_duration: Optional[_Seconds] = None,
        window_buckets: Optional[int] = None,
        failure_rate_threshold: Optional[float] = None,
        slow_call_rate_threshold: Optional[float] = None,
        slow_call_duration: Optional[_Seconds] = None,
        minimum_calls: Optional[int] = None,
        failure_on: Optional[_ExceptionSet] = None,
        exclude: Optional[_ExceptionSet] = None,
        on_state_change: Optional[_StateListener] = None,
    ) -> SharedCircuitBreaker:
        """A :class:`SharedCircuitBreaker` named ``name`` on this store (the
        arguments are its own); every process that uses the same prefix and
        name shares its state."""
        return SharedCircuitBreaker(
            self,
            name,
            failure_threshold,
            success_threshold,
            timeout,
            half_open_max_calls=half_open_max_calls,
            open_duration_multiplier=open_duration_multiplier,
            max_open_duration=max_open_duration,
            max_wait_in_half_open=max_wait_in_half_open,
            window_size=window_size,
            window_duration=window_duration,
            window_buckets=window_buckets,
            failure_rate_threshold=failure_rate_threshold,
            slow_call_rate_threshold=slow_call_rate_threshold,
            slow_call_duration=slow_call_duration,
            minimum_calls=minimum_calls,
            failure_on=failure_on,
            exclude=exclude,
            on_state_change=on_state_change,
        )

    def rate_limiter(
        self,
        name: str,
        rate: int,
        period: Optional[_Seconds] = None,
        *,
        burst: Optional[int] = None,
        max_wait: Optional[_Seconds] = None,
    ) -> SharedRateLimiter:
        """A :class:`SharedRateLimiter` named ``name`` on this store (the
        arguments are its own): its quota holds for every process that uses
        the same prefix and name, together."""
        return SharedRateLimiter(self, name, rate, period, burst=burst, max_wait=max_wait)

