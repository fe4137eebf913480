"""Policies stacked as decorators count each other's answers as the Rust
bindings do (the core's composition table), and the sync entry points refuse
work they cannot see through."""

from __future__ import annotations

import asyncio
import pickle
import sys
from typing import Any, Iterator, List

import pytest

from seawall import (
    Bulkhead,
    BulkheadFullError,
    CircuitBreaker,
    CircuitOpenError,
    RateLimitedError,
    RateLimiter,
    Retry,
    TimeoutExceededError,
    timeout,
)
from seawall.testing import ManualClock


def test_a_breaker_above_a_limiter_or_a_bulkhead_ignores_their_refusals() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("db", failure_threshold=3, clock=clock)
    limiter = RateLimiter(1, period=60.0, max_wait=0, clock=clock)

    @breaker
    @limiter
    def limited() -> str:
        return "ok"

    assert limited() == "ok"
    for _ in range(3):
        with pytest.raises(RateLimitedError):
            limited()
    assert breaker.state == "closed"
    assert (breaker.stats.failed, breaker.stats.released) == (0, 3)

    guarded = CircuitBreaker("db", failure_threshold=2, clock=clock)
    bulkhead = Bulkhead(1)

    @guarded
    @bulkhead
    def crowded() -> str:
        return "ok"

    held = bulkhead.try_enter()
    for _ in range(2):
        with pytest.raises(BulkheadFullError):
            crowded()
    assert guarded.state == "closed" and guarded.stats.released == 2
    assert held is not None
    held.release()
    assert crowded() == "ok"


def test_a_timeout_below_a_breaker_is_a_failure() -> None:
    breaker = CircuitBreaker("search", failure_threshold=1)

    @breaker
    @timeout(0.001)
    async def search() -> None:
        await asyncio.Event().wait()

    with pytest.raises(TimeoutExceededError):
        asyncio.run(search())
    assert breaker.state == "open"


def test_a_breaker_forced_open_is_not_retried_and_an_open_one_no_sooner_than_it_says() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("db", failure_threshold=1, timeout=30.0, clock=clock)
    calls: List[int] = []

    @breaker
    def query() -> str:
        calls.append(1)
        raise ConnectionError("down")

    breaker.force_open()
    with pytest.raises(CircuitOpenError) as forced:
        Retry(max_attempts=5, strategy="fixed", delay=1.0, clock=clock).call(query)
    assert forced.value.reason == "forced_open"
    assert calls == [] and clock.now() == 0.0 and breaker.stats.rejected == 1

    breaker.reset()
    waits: List[float] = []
    patient = Retry(max_attempts=3, max_delay=60.0, clock=clock, on_retry=lambda a: waits.append(a.delay))
    with pytest.raises(ConnectionError):
        patient.call(query)
    # The first failure opened the breaker; the retry waited out the open duration.
    assert waits == [1.0, 29.0] and len(calls) == 2


def test_failure_on_counts_other_errors_as_successes_in_every_binding() -> None:
    breaker = CircuitBreaker("cache", failure_threshold=2, failure_on=KeyError)
    for error in (KeyError("a"), ValueError("b"), KeyError("c")):
        with pytest.raises(type(error)):
            breaker.call(_raise, error)
    # The ValueError is a success: it ends the run of failures, as Rust's FailureWhen.
    assert breaker.state == "closed"
    assert (breaker.stats.failed, breaker.stats.successful) == (2, 1)


def _raise(error: BaseException) -> None:
    raise error


async def _answer() -> int:
    return 42


def test_async_work_through_sync_entry_points_is_a_type_error() -> None:
    breaker = CircuitBreaker("db", failure_threshold=1)
    with pytest.raises(TypeError, match="call_async"):
        breaker.call(_answer)
    retry = Retry(max_attempts=3)
    with pytest.raises(TypeError, match="call_async"):
        retry.call(_answer)
    assert breaker.stats.permitted == 1 and breaker.stats.released == 1
    assert retry.stats.total == 0

    # And sync work through the async ones.
    async def main() -> None:
        with pytest.raises(TypeError, match="breaker.call"):
            await breaker.call_async(lambda: 42)
        with pytest.raises(TypeError, match="retry.call"):
            await retry.call_async(lambda: 42)

    asyncio.run(main())
    assert breaker.state == "closed" and breaker.stats.failed == 0


def test_a_generator_is_guarded_until_its_iteration_ends() -> None:
    breaker = CircuitBreaker("stream", failure_threshold=1)
    bulkhead = Bulkhead(1)

    @breaker
    @bulkhead
    def rows(fail: bool) -> Iterator[int]:
        yield 1
        if fail:
            raise ConnectionError("lost")
        yield 2

    assert list(rows(False)) == [1, 2]
    assert breaker.stats.successful == 1 and bulkhead.in_flight == 0
    stream = rows(False)
    assert next(stream) == 1 and bulkhead.in_flight == 1
    stream.close()  # closed early: released, and the place given back
    assert breaker.stats.released == 1 and bulkhead.in_flight == 0
    with pytest.raises(ConnectionError):
        list(rows(True))
    assert breaker.state == "open"

    with pytest.raises(TypeError, match="decorate the generator function"):
        CircuitBreaker("db").call(rows, False)
    with pytest.raises(TypeError, match="generator function"):
        Retry()(rows)


def test_async_generators_are_guarded_too() -> None:
    breaker = CircuitBreaker("feed", failure_threshold=1)

    @breaker
    async def feed() -> Any:
        yield 1
        raise ConnectionError("lost")

    async def main() -> List[int]:
        seen = []
        with pytest.raises(ConnectionError):
            async for item in feed():
                seen.append(item)
        return seen

    assert asyncio.run(main()) == [1]
    assert breaker.state == "open"


def test_keyboard_interrupt_in_callbacks_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*_: Any) -> bool:
        raise KeyboardInterrupt

    listened = CircuitBreaker("db", failure_threshold=1, on_state_change=interrupt)
    with pytest.raises(KeyboardInterrupt):
        listened.call(_raise, ConnectionError())
    assert listened.state == "open"
    exiting = CircuitBreaker("db", on_state_change=lambda *_: _raise(SystemExit(3)))
    with pytest.raises(SystemExit):
        exiting.force_open()
    assert exiting.state == "forced_open"

    judged = CircuitBreaker("db", failure_on=interrupt)
    with pytest.raises(KeyboardInterrupt) as caught:
        judged.call(_raise, ValueError("the call's error"))
    assert isinstance(caught.value.__context__, ValueError)
    assert judged.stats.released == 1
    excluded = CircuitBreaker("db", exclude=interrupt)
    with pytest.raises(KeyboardInterrupt):
        excluded.call(_raise, ValueError())

    clock = ManualClock()
    retry = Retry(max_attempts=3, clock=clock, on_retry=interrupt)
    with pytest.raises(KeyboardInterrupt):
        retry.call(_raise, ConnectionError())
    predicate = Retry(max_attempts=3, clock=clock, retry_on=interrupt)
    with pytest.raises(KeyboardInterrupt):
        predicate.call(_raise, ConnectionError())

    # An Exception from a callback is still reported, not raised.
    reported: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    quiet = CircuitBreaker("db", failure_threshold=1, on_state_change=lambda *_: _raise(ValueError()))
    with pytest.raises(ConnectionError):
        quiet.call(_raise, ConnectionError())
    assert quiet.state == "open"
    assert [type(r.exc_value) for r in reported] == [ValueError]


breaker = CircuitBreaker("pickled")


@breaker
def lookup(key: str, default: int = 7, *, scale: int = 2) -> int:
    return default * scale


@Retry(max_attempts=2)
def fetch(key: str, retries: int = 1, *, timeout: float = 5.0) -> float:
    return retries * timeout


def test_decorated_functions_pickle_by_reference_and_keep_their_defaults() -> None:
    assert pickle.loads(pickle.dumps(lookup)) is lookup
    assert pickle.loads(pickle.dumps(fetch)) is fetch
    assert lookup.__defaults__ == (7,) and lookup.__kwdefaults__ == {"scale": 2}
    assert fetch.__defaults__ == (1,) and fetch.__kwdefaults__ == {"timeout": 5.0}
    assert fetch("k") == 5.0


def test_waiting_forever_neither_overflows_nor_is_refused() -> None:
    with pytest.raises(ValueError, match="seconds"):
        timeout(10**400)

    async def main() -> None:
        bulkhead = Bulkhead(1, max_wait=1e10)
        held = await bulkhead.enter_async()
        waiter = asyncio.ensure_future(bulkhead.enter_async())
        await asyncio.sleep(0)
        assert bulkhead.queued == 1
        held.release()
        permit = await waiter
        assert permit.active and bulkhead.in_flight == 1
        permit.release()

    asyncio.run(main())
