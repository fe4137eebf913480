"""timeout() for async def, fallback() for any function."""

from __future__ import annotations

import asyncio
import math
from typing import Any, List

import pytest

from seawall import SeawallError, TimeoutExceededError, fallback, timeout


def test_a_call_that_finishes_in_time_returns() -> None:
    @timeout(30.0)
    async def quick(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    assert asyncio.run(quick(1)) == 2
    assert quick.__name__ == "quick"


def test_a_call_that_hangs_fails_fast_and_is_cancelled() -> None:
    cancelled: List[bool] = []

    @timeout(0.001)
    async def hang() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with pytest.raises(TimeoutExceededError) as caught:
        asyncio.run(hang())
    error = caught.value
    assert isinstance(error, TimeoutError) and isinstance(error, SeawallError)
    assert error.limit == 0.001 and "0.001" in str(error)
    assert cancelled == [True]


def test_timeout_rejects_def_functions_and_bad_limits() -> None:
    with pytest.raises(TypeError, match="async def"):
        timeout(1.0)(lambda: None)
    for bad in (0, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match="seconds"):
            timeout(bad)
    with pytest.raises(TypeError, match="seconds"):
        timeout("5")  # type: ignore[arg-type]


def test_fallback_value_and_handler() -> None:
    @fallback([], on=ConnectionError)
    def recommendations() -> List[str]:
        raise ConnectionError()

    @fallback(lambda error: f"cached ({type(error).__name__})")
    def profile() -> str:
        raise TimeoutError()

    @fallback("never", on=KeyError)
    def other() -> str:
        raise ValueError("not handled")

    assert recommendations() == []
    assert profile() == "cached (TimeoutError)"
    with pytest.raises(ValueError):
        other()


def test_fallback_on_async_functions() -> None:
    async def from_cache(error: BaseException) -> str:
        return "cached"

    @fallback(from_cache)
    async def fetch() -> str:
        raise ConnectionError()

    @fallback(0)
    async def count() -> int:
        raise ConnectionError()

    @fallback(0)
    async def fine() -> int:
        return 5

    assert asyncio.run(fetch()) == "cached"
    assert asyncio.run(count()) == 0
    assert asyncio.run(fine()) == 5


def test_fallback_does_not_swallow_cancellation_by_default() -> None:
    @fallback("x")
    async def cancelled() -> str:
        raise asyncio.CancelledError()

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled())


def test_bad_fallback_arguments() -> None:
    bad: Any
    for bad in (int, "ValueError", (), (ValueError, 3)):
        with pytest.raises(TypeError, match="on"):
            fallback(None, on=bad)
