"""Retry: decisions from the core, sleeping on a ManualClock, history, budget."""

from __future__ import annotations

import asyncio
import math
import sys
from typing import Any, List

import pytest

import seawall
from seawall import Attempt, CircuitBreaker, CircuitOpenError, Retry, RetryBudget, retry, retry_history
from seawall.testing import ManualClock

MASK = (1 << 64) - 1


def splitmix64(seed: int):  # type: ignore[no-untyped-def]
    """The core's generator, written again from its documentation."""
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def between(x: int, low: int, high: int) -> int:
    return low + ((x * (high - low + 1)) >> 64)


class Flaky:
    """Fails `failures` times, then returns "ok"."""

    def __init__(self, failures: int, error: type = ConnectionError) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(self.calls)
        return "ok"


def test_splitmix64_reference_outputs() -> None:
    assert next(splitmix64(1234567)) == 6457827717110365317


def test_a_seed_gives_the_core_s_delays() -> None:
    for jitter, low in (("full", lambda d: 0), ("equal", lambda d: d // 2)):
        policy = Retry(initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=jitter, seed=42)
        words = splitmix64(42)
        expected = [between(next(words), low(d), d) for d in (10**9, 2 * 10**9, 4 * 10**9, 5 * 10**9, 5 * 10**9)]
        assert [round(d * 1e9) for d in policy.delays(5)] == expected
    assert Retry(initial_delay=1, max_delay=5, seed=1).delays(6) == [1, 2, 4, 5, 5, 5]
    assert Retry(strategy="linear", initial_delay=1, increment=0.5, max_delay=2).delays(4) == [1, 1.5, 2, 2]
    assert Retry(strategy="fixed", delay=0.25).delays(3) == [0.25] * 3


def test_the_same_seed_gives_the_same_sleeps() -> None:
    def sleeps(seed: int) -> List[float]:
        clock = ManualClock()
        attempts: List[Attempt] = []
        policy = Retry(max_attempts=5, jitter="full", seed=seed, clock=clock, on_retry=attempts.append)
        with pytest.raises(ConnectionError):
            policy.call(Flaky(10))
        return [a.delay for a in attempts if a.delay is not None]

    assert sleeps(7) == sleeps(7) == Retry(jitter="full", seed=7).delays(4)
    assert sleeps(7) != sleeps(8)


def test_a_first_try_success_does_not_wait() -> None:
    clock = ManualClock()
    policy = Retry(clock=clock)
    flaky = Flaky(0)
    assert policy.call(flaky) == "ok"
    assert flaky.calls == 1 and clock.now() == 0


def test_retries_sleep_on_the_clock_and_succeed() -> None:
    clock = ManualClock()
    flaky = Flaky(2)

    @retry(max_attempts=3, initial_delay=1.0, multiplier=3.0, clock=clock)
    def fetch(x: int) -> str:
        return flaky(x)

    assert fetch(1) == "ok"
    assert flaky.calls == 3
    assert clock.now() == 4.0  # 1 s, then 3 s
    assert fetch.__name__ == "fetch"
    assert fetch.__wrapped__ is not None  # type: ignore[attr-defined]


def test_the_original_error_is_reraised_with_its_history() -> None:
    clock = ManualClock()
    flaky = Flaky(10)
    with pytest.raises(ConnectionError) as caught:
        Retry(max_attempts=3, clock=clock).call(flaky)
    error = caught.value
    assert type(error) is ConnectionError and error.args == (3,)
    history = retry_history(error)
    assert history is not None
    assert history.give_up == "attempts_exhausted"
    assert [(a.number, a.error.args, a.delay) for a in history.attempts] == [
        (1, (1,), 1.0),
        (2, (2,), 2.0),
        (3, (3,), None),
    ]
    assert history.attempts[-1].error is error
    if sys.version_info >= (3, 11):
        assert "gave up after 3 attempt(s)" in error.__notes__[0]


def test_errors_not_worth_retrying_raise_at_once_untouched() -> None:
    policy = Retry(retry_on=(ConnectionError,), clock=ManualClock())
    flaky = Flaky(10, error=KeyError)
    with pytest.raises(KeyError) as caught:
        policy.call(flaky)
    assert flaky.calls == 1
    assert retry_history(caught.value) is None

    predicate = Retry(retry_on=lambda e: "again" in str(e), clock=ManualClock())
    calls: List[int] = []

    def fn() -> None:
        calls.append(1)
        raise ValueError("again" if len(calls) < 2 else "stop")

    with pytest.raises(ValueError, match="stop") as caught2:
        predicate.call(fn)
    assert len(calls) == 2
    history = retry_history(caught2.value)
    assert history is not None and history.give_up == "not_retryable"


def test_base_exceptions_are_never_retried() -> None:
    calls: List[int] = []

    def interrupted() -> None:
        calls.append(1)
        raise KeyboardInterrupt()

    with pytest.raises(KeyboardInterrupt):
        Retry(retry_on=BaseException, clock=ManualClock()).call(interrupted)
    assert calls == [1]


def test_deadline_gives_up_before_a_retry_that_would_end_after_it() -> None:
    clock = ManualClock()
    with pytest.raises(ConnectionError) as caught:
        Retry(max_attempts=10, initial_delay=1.0, multiplier=2.0, deadline=5.0, clock=clock).call(Flaky(10))
    history = retry_history(caught.value)
    assert history is not None and history.give_up == "deadline_reached"
    assert clock.now() == 3.0  # waited 1 + 2; the next wait of 4 would pass 5 s
    assert len(history.attempts) == 3


def test_retry_after_hints_are_honoured_up_to_max_delay() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("db", failure_threshold=1, timeout=4.0, clock=clock)
    breaker.acquire().failure()
    calls: List[int] = []

    @retry(max_attempts=2, initial_delay=0.5, max_delay=10.0, clock=clock)
    @breaker
    def query() -> str:
        calls.append(1)
        return "rows"

    assert query() == "rows"  # rejected, waited the breaker's 4 s, then a probe
    assert clock.now() == 4.0 and calls == [1]

    capped = ManualClock()

    class Busy(Exception):
        retry_after = 100.0

    with pytest.raises(Busy):
        Retry(max_attempts=2, initial_delay=0.5, max_delay=3.0, clock=capped).call(_raise(Busy()))
    assert capped.now() == 3.0


def _raise(error: BaseException) -> Any:
    def fn() -> None:
        raise error

    return fn


def test_retry_budget_stops_retries_during_an_outage() -> None:
    budget = RetryBudget(max_tokens=4, token_ratio=0.5)
    policy = Retry(max_attempts=10, budget=budget, clock=ManualClock())
    flaky = Flaky(100)
    with pytest.raises(ConnectionError) as caught:
        policy.call(flaky)
    # 4 tokens: retries while more than 2 remain (3 left after one failure).
    history = retry_history(caught.value)
    assert history is not None and history.give_up == "budget_empty"
    assert flaky.calls == 2
    assert budget.tokens == 2.0 and not budget.allows_retry
    for _ in range(2):
        assert policy.call(Flaky(0)) == "ok"
    assert budget.tokens == 3.0 and budget.allows_retry
    budget.reset()
    assert budget.tokens == 4.0
    assert "max_tokens=4" in repr(budget)


def test_async_retries_sleep_on_the_manual_clock() -> None:
    clock = ManualClock()
    flaky = Flaky(2)

    @retry(max_attempts=3, initial_delay=0.5, clock=clock)
    async def fetch() -> str:
        await asyncio.sleep(0)
        return flaky()

    assert asyncio.run(fetch()) == "ok"
    assert clock.now() == 1.5

    async def failing() -> None:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError) as caught:
        asyncio.run(Retry(max_attempts=2, clock=clock).call_async(failing))
    history = retry_history(caught.value)
    assert history is not None and len(history.attempts) == 2


def test_async_retry_sleeps_with_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: List[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    flaky = Flaky(2)

    async def fetch() -> str:
        return flaky()

    assert asyncio.run(Retry(initial_delay=0.25).call_async(fetch)) == "ok"
    assert slept == [0.25, 0.5]


def test_sync_retry_sleeps_with_time_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    slept: List[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    assert Retry(initial_delay=0.125).call(Flaky(2)) == "ok"
    assert slept == [0.125, 0.25]


def test_a_cancelled_async_retry_stops() -> None:
    calls: List[int] = []

    async def main() -> None:
        async def failing() -> None:
            calls.append(1)
            raise ConnectionError()

        task = asyncio.ensure_future(Retry(max_attempts=5, initial_delay=3600).call_async(failing))
        while not calls:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert calls == [1]


def test_bare_decorator_and_methods() -> None:
    @retry
    def plain() -> int:
        return 1

    class Client:
        @retry(clock=ManualClock())
        def get(self, x: int) -> int:
            return x

    assert plain() == 1
    assert Client().get(5) == 5
    with pytest.raises(TypeError):
        retry(plain, max_attempts=2)  # type: ignore[call-overload]


def test_properties() -> None:
    policy = Retry(max_attempts=4, strategy="decorrelated_jitter", max_delay=8, seed=3, deadline=60)
    assert (policy.max_attempts, policy.strategy, policy.jitter, policy.seed) == (4, "decorrelated_jitter", "none", 3)
    assert (policy.max_delay, policy.deadline, policy.budget, policy.clock) == (8.0, 60.0, None, None)
    assert "seed=3" in repr(policy)
    assert isinstance(Retry().seed, int)
    decorrelated = policy.delays(20)
    assert all(1.0 <= d <= 8.0 for d in decorrelated)


BAD: list = [
    ({"max_attempts": 0}, ValueError, "max_attempts"),
    ({"max_attempts": -1}, ValueError, "max_attempts"),
    ({"max_attempts": "3"}, TypeError, "max_attempts"),
    ({"strategy": "exponentail"}, ValueError, "strategy"),
    ({"strategy": 1}, TypeError, "strategy"),
    ({"initial_delay": -1}, ValueError, "initial_delay"),
    ({"initial_delay": 0}, ValueError, "initial_delay"),
    ({"initial_delay": math.nan}, ValueError, "initial_delay"),
    ({"max_delay": 0.5}, ValueError, "max_delay"),
    ({"multiplier": 0.5}, ValueError, "multiplier"),
    ({"multiplier": math.inf}, ValueError, "multiplier"),
    ({"strategy": "fixed", "max_delay": 3}, ValueError, "max_delay"),
    ({"strategy": "fixed", "multiplier": 3}, ValueError, "multiplier"),
    ({"increment": 1}, ValueError, "increment"),
    ({"strategy": "decorrelated_jitter", "initial_delay": 0}, ValueError, "initial_delay"),
    ({"jitter": "half"}, ValueError, "jitter"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 2**64}, ValueError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"deadline": 0}, ValueError, "deadline"),
    ({"budget": 10}, TypeError, "budget"),
    ({"retry_on": "ValueError"}, TypeError, "retry_on"),
    ({"on_retry": 3}, TypeError, "on_retry"),
    ({"clock": 3}, TypeError, "clock"),
]


@pytest.mark.parametrize("options,error,argument", BAD, ids=[repr(b[0]) for b in BAD])
def test_bad_retry_arguments(options: Any, error: type, argument: str) -> None:
    with pytest.raises(error, match=argument) as caught:
        Retry(**options)
    assert type(caught.value) is error


def test_bad_budget_arguments() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        RetryBudget(max_tokens=0)
    with pytest.raises(ValueError, match="token_ratio"):
        RetryBudget(token_ratio=0)
    with pytest.raises(ValueError, match="token_ratio"):
        RetryBudget(token_ratio=math.nan)
    with pytest.raises(ValueError, match="count"):
        Retry().delays(-1)


def test_exported_names() -> None:
    assert seawall.retry_history(ValueError()) is None


def test_async_retry_with_a_deadline_and_a_budget() -> None:
    clock = ManualClock()
    budget = RetryBudget(max_tokens=10, token_ratio=0.5)
    policy = Retry(max_attempts=10, initial_delay=1.0, deadline=5.0, budget=budget, clock=clock)

    async def failing() -> None:
        clock.advance(0.5)  # each attempt takes half a second
        raise ConnectionError()

    async def fine() -> str:
        return "ok"

    with pytest.raises(ConnectionError) as caught:
        asyncio.run(policy.call_async(failing))
    history = retry_history(caught.value)
    assert history is not None and history.give_up == "deadline_reached"
    # 0.5 + 1 + 0.5 + 2 + 0.5 = 4.5 s; the next wait of 4 s would end past 5 s.
    assert clock.now() == 4.5 and len(history.attempts) == 3
    assert budget.tokens == 7.0
    assert asyncio.run(policy.call_async(fine)) == "ok"
    assert budget.tokens == 7.5
