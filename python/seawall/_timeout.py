"""``timeout`` for ``async def`` functions and ``fallback`` for any function."""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import time
from typing import Any, Callable, Tuple, Type, TypeVar, Union

from seawall import _seawall
from seawall._errors import TimeoutExceededError

__all__ = ["fallback", "timeout"]

F = TypeVar("F", bound=Callable[..., Any])


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"invalid {name}: must be a number of seconds, not {type(value).__name__}")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if math.isnan(seconds) or seconds <= 0 or math.isinf(seconds):
        raise ValueError(f"invalid {name}: must be a finite number of seconds greater than zero, got {value}")
    return seconds


def timeout(limit: Union[float, _seawall.AttemptTimeout]) -> Callable[[F], F]:
    """Limits each call of an ``async def`` function to ``limit`` seconds (or
    to an :class:`AttemptTimeout`'s adaptive limit).

    A call still running then is cancelled and raises
    :class:`TimeoutExceededError` (a ``TimeoutError``): fail fast instead of hanging.
    Given an :class:`AttemptTimeout` instead of a number, each call gets the
    limit it gives at the call's start and teaches it the call's duration (or
    the limit, if the call timed out).

    >>> @timeout(5.0)
    ... async def slow_operation() -> str: ...
    """
    if isinstance(limit, _seawall.AttemptTimeout):
        return _adaptive(limit)
    limit = _seconds(limit, "limit")

    def decorate(fn: F) -> F:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(
                "timeout() works on async def functions: a running def function cannot be "
                "interrupted from the outside"
            )

        @functools.wraps(fn)
        async def limited(*args: Any, **kwargs: Any) -> Any:
            try:
                return await asyncio.wait_for(fn(*args, **kwargs), limit)
            except asyncio.TimeoutError:
                raise TimeoutExceededError(limit) from None

        return limited  # type: ignore[return-value]

    return decorate


def _adaptive(attempt: _seawall.AttemptTimeout) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(
                "timeout() works on async def functions: a running def function cannot be "
                "interrupted from the outside"
            )

        @functools.wraps(fn)
        async def limited(*args: Any, **kwargs: Any) -> Any:
            limit = attempt.timeout()
            start = time.monotonic()
            try:
                result = await asyncio.wait_for(fn(*args, **kwargs), limit)
            except asyncio.TimeoutError:
                attempt.record(limit)
                raise TimeoutExceededError(limit) from None
            attempt.record(time.monotonic() - start)
            return result

        return limited  # type: ignore[return-value]

    return decorate


ExceptionTypes = Union[Type[BaseException], Tuple[Type[BaseException], ...]]


def fallback(handler: Any, *, on: ExceptionTypes = Exception) -> Callable[[F], F]:
    """Returns a fallback instead of raising when the function raises ``on``.

    ``handler`` is a callable taking the exception (its result is returned; for
    ``async def`` functions it may be a coroutine function), or any other value,
    returned as it is. To return a callable itself, wrap it: ``lambda e: value``.

    >>> @fallback([], on=ConnectionError)
    ... def recommendations() -> list: ...
    """
    types = on if isinstance(on, tuple) else (on,)
    if not types or not all(isinstance(t, type) and issubclass(t, BaseException) for t in types):
        raise TypeError("invalid on: must be an exception type or a tuple of exception types")
    call = callable(handler)

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await fn(*args, **kwargs)
                except types as error:
                    if not call:
                        return handler
                    result = handler(error)
                    if inspect.isawaitable(result):
                        result = await result
                    return result

            return guarded_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except types as error:
                return handler(error) if call else handler

        return guarded  # type: ignore[return-value]

    return decorate

