"""Hedging from Python: the first answer wins and the other attempts are
cancelled, failures start the next attempt at once, the budget shared with
retries bounds the hedges, a cancelled call cancels its attempts, and bad
arguments are refused."""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine, List, TypeVar

import pytest

from seawall import CircuitBreaker, Hedge, Retry, RetryBudget
from seawall.testing import ManualClock, VirtualTimeLoop

T = TypeVar("T")


def run(clock: ManualClock, coroutine: Coroutine[Any, Any, T]) -> T:
    loop = VirtualTimeLoop(clock)
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def test_the_first_answer_wins_and_the_others_are_cancelled() -> None:
    clock = ManualClock()
    hedge = Hedge(max_attempts=3, delay=0.010, clock=clock)
    latencies = [0.500, 0.500, 0.005]
    started: List[int] = []
    cancelled: List[int] = []

    @hedge
    async def fetch(key: str) -> str:
        number = len(started) + 1
        started.append(number)
        try:
            await asyncio.sleep(latencies[number - 1])
        except asyncio.CancelledError:
            cancelled.append(number)
            raise
        return f"{key} from {number}"

    assert run(clock, fetch("user:7")) == "user:7 from 3"
    assert clock.now() == pytest.approx(0.025)
    run(clock, asyncio.sleep(0))  # lets the cancelled attempts finish
    assert sorted(cancelled) == [1, 2]
    stats = hedge.stats
    assert (stats.calls, stats.hedges, stats.won, stats.cancelled) == (1, 2, 1, 2)
    assert fetch.__name__ == "fetch"


def test_a_failure_starts_the_next_attempt_at_once() -> None:
    clock = ManualClock()
    hedge = Hedge(max_attempts=2, delay=1.0, retry_on=ConnectionError, clock=clock)
    calls: List[float] = []

    async def flaky() -> str:
        calls.append(clock.now())
        if len(calls) == 1:
            raise ConnectionError("reset")
        return "ok"

    assert run(clock, hedge.call(flaky)) == "ok"
    assert calls == [0.0, 0.0]

    async def broken() -> str:
        raise KeyError("not worth another attempt")

    with pytest.raises(KeyError):
        run(clock, hedge.call(broken))
    assert hedge.stats.calls == 2 and hedge.stats.hedges == 1


def test_the_last_failure_is_raised_once_every_attempt_failed() -> None:
    clock = ManualClock()
    hedge = Hedge(max_attempts=3, delay=0.01, clock=clock)
    seen: List[int] = []

    async def down() -> None:
        seen.append(len(seen) + 1)
        raise ConnectionError(f"attempt {len(seen)}")

    with pytest.raises(ConnectionError, match="attempt 3"):
        run(clock, hedge.call(down))


def test_a_budget_shared_with_retries_bounds_hedges_in_a_brownout() -> None:
    clock = ManualClock()
    budget = RetryBudget(max_tokens=10, token_ratio=0.1)
    hedge = Hedge(delay=0.020, budget=budget, clock=clock)
    retry = Retry(max_attempts=3, budget=budget, clock=clock)
    assert retry.budget is budget and hedge.budget is budget

    async def slow() -> None:
        await asyncio.sleep(0.2)

    async def brownout() -> None:
        for _ in range(200):
            await hedge.call(slow)

    run(clock, brownout())
    stats = hedge.stats
    assert stats.hedges + stats.refused == 200
    assert stats.hedges <= 5 + 200 // 10 + 1, stats
    assert budget.tokens <= 5.1


def test_cancelling_the_call_cancels_every_attempt() -> None:
    clock = ManualClock()
    hedge = Hedge(max_attempts=3, delay=0.01, clock=clock)
    cancelled: List[int] = []

    async def hang() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(1)
            raise

    async def give_up() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(hedge.call(hang), 0.025)
        await asyncio.sleep(0)

    run(clock, give_up())
    assert len(cancelled) == 3
    assert hedge.stats.cancelled == 3


def test_hedged_attempts_pass_a_breaker_each() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("search", failure_threshold=5, clock=clock)
    hedge = Hedge(delay=0.01, clock=clock)
    latencies = iter([1.0, 0.001])

    @hedge
    @breaker
    async def search() -> str:
        await asyncio.sleep(next(latencies))
        return "hit"

    assert run(clock, search()) == "hit"
    stats = breaker.stats
    assert (stats.successful, stats.released) == (1, 1), stats


def test_a_percentile_delay_learns_from_answers() -> None:
    clock = ManualClock()
    hedge = Hedge(percentile=0.5, min_samples=2, max_delay=1.0, clock=clock)
    assert hedge.delay() == 1.0

    async def answer() -> None:
        await asyncio.sleep(0.004)

    for _ in range(2):
        run(clock, hedge.call(answer))
    assert hedge.samples == 2
    assert 0.004 <= hedge.delay() < 0.0045
    hedge.reset()
    assert hedge.samples == 0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        Hedge(max_attempts=1)
    with pytest.raises(ValueError, match="percentile"):
        Hedge(percentile=1.5)
    with pytest.raises(ValueError, match="max_delay"):
        Hedge(min_delay=2.0, max_delay=1.0)
    with pytest.raises(ValueError, match="delay"):
        Hedge(delay=0.1, percentile=0.9)
    with pytest.raises(ValueError, match="delay"):
        Hedge(delay=-1.0)
    with pytest.raises(TypeError, match="budget"):
        Hedge(budget=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quota"):
        from seawall import RetryQuota

        Hedge(budget=RetryBudget(), quota=RetryQuota())
    with pytest.raises(TypeError, match="async def"):

        @Hedge()
        def blocking() -> None: ...
