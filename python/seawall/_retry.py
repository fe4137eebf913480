"""Retry's Python face: the decorator, the ``async def`` loop and the history.

The policy, its decisions and the ``def`` wrapper are Rust (``seawall._seawall``);
this module adds the ``async def`` loop (sleeping with ``asyncio.sleep``) and the
history records attached to the error a policy gives up on.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional, Tuple, TypeVar, overload

from seawall import _seawall

__all__ = ["Attempt", "Retry", "RetryHistory", "retry", "retry_history"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


@dataclass(frozen=True)
class Attempt:
    """One failed attempt of a retried call."""

    number: int
    """1 for the first call."""
    error: BaseException
    """What the attempt raised."""
    delay: Optional[float]
    """Seconds waited before the next attempt; None for the last one."""


@dataclass(frozen=True)
class RetryHistory:
    """Every failed attempt of a call a :class:`Retry` gave up on, and why."""

    attempts: Tuple[Attempt, ...]
    """The failed attempts, in order; the last one raised the error."""
    give_up: str
    """``"attempts_exhausted"``, ``"deadline_reached"``, ``"budget_empty"`` or
    ``"not_retryable"``."""


def retry_history(error: BaseException) -> Optional[RetryHistory]:
    """The history a :class:`Retry` attached to ``error`` when it gave up, if any."""
    history = getattr(error, "retry_history", None)
    return history if isinstance(history, RetryHistory) else None


class Retry(_seawall.Retry):
    __doc__ = _seawall.Retry.__doc__
    __slots__ = ()

    def __call__(self, fn: F) -> F:
        """Decorates ``fn`` (a ``def`` or an ``async def`` function) so that its
        calls are retried by this policy. A generator function is refused
        (``TypeError``): its errors come while it is iterated, which a retry
        cannot repeat; retry the code that iterates it."""
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError(
                f"{fn!r} is a generator function: a retry cannot repeat an iteration; "
                "decorate the function that iterates it"
            )
        if inspect.iscoroutinefunction(fn):
            return self._wrap_async(fn)  # type: ignore[return-value]
        wrapper = self._wrap(fn)
        functools.update_wrapper(wrapper, fn)
        return wrapper  # type: ignore[return-value]

    def _wrap_async(self, fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        start = self._start
        clock = self.clock
        # Without a deadline nothing needs the start time: the per-call state is
        # made only when an attempt fails, so a first-try success allocates nothing.
        eager = self.deadline is not None
        succeeded = self._succeeded
        pace = self._pace if self.adaptive_rate is not None else None

        @functools.wraps(fn)
        async def retrying(*args: Any, **kwargs: Any) -> R:
            call = start() if eager else None
            while True:
                if pace is not None:
                    # The adaptive rate's turn: wait until it lets the attempt go.
                    wait = pace()
                    while wait is not None:
                        if clock is None:
                            await asyncio.sleep(wait)
                        else:
                            clock.advance(wait)
                            await asyncio.sleep(0)
                        wait = pace()
                awaitable = fn(*args, **kwargs)
                if not inspect.isawaitable(awaitable):
                    raise TypeError(
                        f"{fn!r} returned {type(awaitable).__name__}, not an awaitable: "
                        "call a def function with retry.call(fn, ...)"
                    )
                try:
                    result = await awaitable
                except Exception as error:
                    if call is None:
                        call = start()
                    delay = call.failed(error)
                    if delay is None:
                        raise
                    if clock is None:
                        await asyncio.sleep(delay)
                    else:
                        clock.advance(delay)
                        await asyncio.sleep(0)
                else:
                    # Counts the call (and pays the budget or quota back).
                    if call is None:
                        succeeded()
                    else:
                        call.succeeded()
                    return result

        return retrying

    async def call_async(self, fn: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any) -> R:
        """Awaits ``fn(*args, **kwargs)``, retrying it by this policy, and returns its result."""
        return await self._wrap_async(fn)(*args, **kwargs)


@overload
def retry(fn: F, /) -> F: ...


@overload
def retry(
    fn: None = None,
    /,
    *,
    max_attempts: Optional[int] = None,
    strategy: Optional[str] = None,
    delay: Optional[float] = None,
    initial_delay: Optional[float] = None,
    base_delay: Optional[float] = None,
    max_delay: Optional[float] = None,
    multiplier: Optional[float] = None,
    increment: Optional[float] = None,
    jitter: Optional[str] = None,
    seed: Optional[int] = None,
    deadline: Optional[float] = None,
    budget: Optional[_seawall.RetryBudget] = None,
    retry_on: Any = None,
    on_retry: Optional[Callable[[Attempt], object]] = None,
    clock: Optional[_seawall.ManualClock] = None,
    quota: Optional[_seawall.RetryQuota] = None,
    throttle_on: Any = None,
    adaptive_rate: Optional[_seawall.AdaptiveRate] = None,
) -> Retry: ...


def retry(fn: Any = None, /, **options: Any) -> Any:
    """A :class:`Retry` policy for use as a decorator: ``@retry(max_attempts=5)``,
    or bare ``@retry`` for the defaults (3 attempts, exponential backoff from 1 s).

    The keyword arguments are :class:`Retry`'s.
    """
    if fn is not None:
        if options:
            raise TypeError("retry() takes either a function or keyword arguments, not both")
        return Retry()(fn)
    return Retry(**options)
