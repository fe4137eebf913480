"""The circuit breaker's behaviour through every way of calling it."""

from __future__ import annotations

import asyncio
import gc
import inspect
import sys
from typing import Any, List, Tuple

import pytest

import seawall
from seawall import CircuitBreaker, CircuitOpenError, SeawallError
from seawall.testing import ManualClock


class Boom(Exception):
    pass


def tripped(clock: ManualClock, **options: Any) -> CircuitBreaker:
    """A breaker that opens on one failure, already open."""
    options.setdefault("failure_threshold", 1)
    options.setdefault("timeout", 10.0)
    breaker = CircuitBreaker("db", clock=clock, **options)
    breaker.acquire().failure()
    assert breaker.state == "open"
    return breaker


def test_decorated_function_returns_and_raises_unchanged() -> None:
    breaker = CircuitBreaker("db")

    @breaker
    def divide(a: int, b: int = 1) -> float:
        """Divides."""
        return a / b

    assert divide(6, b=3) == 2
    with pytest.raises(ZeroDivisionError):
        divide(1, 0)
    assert divide.__name__ == "divide"
    assert divide.__doc__ == "Divides."
    assert divide.__wrapped__(4, 2) == 2  # type: ignore[attr-defined]
    stats = breaker.stats
    assert (stats.successful, stats.failed, stats.permitted) == (1, 1, 2)


def test_consecutive_failures_open_the_breaker_and_it_fails_fast() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("payments", failure_threshold=3, timeout=30.0, clock=clock)
    calls = []

    @breaker
    def charge() -> None:
        calls.append(1)
        raise Boom()

    for _ in range(3):
        with pytest.raises(Boom):
            charge()
    assert breaker.state == "open"
    clock.advance(12.5)
    with pytest.raises(CircuitOpenError) as caught:
        charge()
    assert len(calls) == 3
    error = caught.value
    assert isinstance(error, SeawallError)
    assert error.name == "payments"
    assert error.retry_after == 17.5
    assert error.reason == "open"
    assert "payments" in str(error) and "17.5" in str(error)


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker("db", failure_threshold=2)
    for _ in range(5):
        breaker.acquire().failure()
        breaker.acquire().success()
    assert breaker.state == "closed"


def test_half_open_probes_close_the_breaker_after_success_threshold() -> None:
    clock = ManualClock()
    breaker = tripped(clock, success_threshold=2)
    clock.advance(10)
    assert breaker.call(lambda: "a") == "a"
    assert breaker.state == "half_open"
    assert breaker.call(lambda: "b") == "b"
    assert breaker.state == "closed"
    assert breaker.stats.state_transitions == 3


def test_a_failed_probe_reopens_with_a_growing_open_duration() -> None:
    clock = ManualClock()
    breaker = tripped(clock, open_duration_multiplier=2.0, max_open_duration=30.0)
    for expected in (20.0, 30.0, 30.0):
        clock.advance(60)
        breaker.acquire().failure()
        with pytest.raises(CircuitOpenError) as caught:
            breaker.call(print)
        assert caught.value.retry_after == expected


def test_async_functions_are_guarded() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("api", failure_threshold=2, clock=clock)

    @breaker
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        if x < 0:
            raise Boom()
        return x * 2

    assert inspect.iscoroutinefunction(fetch)
    assert fetch.__name__ == "fetch"

    async def main() -> None:
        assert await fetch(2) == 4
        for _ in range(2):
            with pytest.raises(Boom):
                await fetch(-1)
        with pytest.raises(CircuitOpenError):
            await fetch(1)

    asyncio.run(main())
    stats = breaker.stats
    assert (stats.successful, stats.failed, stats.rejected) == (1, 2, 1)


def test_call_async() -> None:
    breaker = CircuitBreaker("api")

    async def add(a: int, b: int) -> int:
        return a + b

    assert asyncio.run(breaker.call_async(add, 1, b=2)) == 3
    assert breaker.stats.successful == 1


def test_call_passes_arguments() -> None:
    breaker = CircuitBreaker("db")
    assert breaker.call(lambda *a, **k: (a, k), 1, 2, x=3) == ((1, 2), {"x": 3})
    # `fn_` is positional-only, so a keyword named fn_ reaches the function.
    assert breaker.call(lambda **k: k, fn_=1) == {"fn_": 1}


def test_decorated_methods_bind_self() -> None:
    breaker = CircuitBreaker("db")

    class Client:
        def __init__(self) -> None:
            self.n = 41

        @breaker
        def answer(self, plus: int) -> int:
            return self.n + plus

    assert Client().answer(1) == 42
    assert Client.answer.__name__ == "answer"


def test_with_block_records_its_outcome() -> None:
    breaker = CircuitBreaker("db", failure_threshold=2)
    with breaker:
        pass
    with pytest.raises(Boom):
        with breaker:
            raise Boom()
    with pytest.raises(Boom):
        with breaker as permit:
            assert permit.active
            raise Boom()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        with breaker:
            pytest.fail("the block must not run")
    stats = breaker.stats
    assert (stats.successful, stats.failed, stats.rejected) == (1, 2, 1)


def test_nested_with_blocks_of_two_breakers() -> None:
    outer, inner = CircuitBreaker("outer"), CircuitBreaker("inner")
    with outer:
        with pytest.raises(Boom):
            with inner:
                raise Boom()
    assert (outer.stats.successful, inner.stats.failed) == (1, 1)


def test_async_with_block() -> None:
    breaker = CircuitBreaker("db")

    async def main() -> None:
        async with breaker:
            await asyncio.sleep(0)
        with pytest.raises(Boom):
            async with breaker:
                raise Boom()

    asyncio.run(main())
    assert (breaker.stats.successful, breaker.stats.failed) == (1, 1)


def test_stats_and_rates() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("db", failure_threshold=3, clock=clock)
    assert breaker.stats.success_rate == 0.0
    for outcome in ("s", "s", "s", "f"):
        permit = breaker.acquire()
        permit.success() if outcome == "s" else permit.failure()
    breaker.acquire().release()
    breaker.force_open()
    for _ in range(5):
        with pytest.raises(CircuitOpenError) as caught:
            breaker.acquire()
        assert caught.value.reason == "forced_open"
        assert caught.value.retry_after is None
    stats = breaker.stats
    assert stats.state == "forced_open"
    assert (stats.permitted, stats.successful, stats.failed, stats.released) == (5, 3, 1, 1)
    assert stats.rejected == 5 and stats.total_calls == 10
    assert stats.success_rate == 0.75 and stats.failure_rate == 0.25
    assert stats.rejection_rate == 0.5
    assert stats.state_transitions == 1
    assert stats == breaker.stats
    assert "successful=3" in repr(stats)


def test_manual_control_and_events() -> None:
    events: List[Tuple[Any, str, str]] = []
    breaker = CircuitBreaker("db", failure_threshold=1, on_state_change=lambda *e: events.append(e))
    breaker.force_open()
    breaker.force_open()  # no transition: already forced open
    breaker.disable()
    for _ in range(10):
        breaker.acquire().failure()
    assert breaker.state == "disabled"
    breaker.reset()
    assert breaker.state == "closed"
    assert [(old, new) for _, old, new in events] == [
        ("closed", "forced_open"),
        ("forced_open", "disabled"),
        ("disabled", "closed"),
    ]
    assert all(b is breaker for b, _, _ in events)
    assert breaker.stats.failed == 10


def test_listeners_can_be_added_and_removed_and_their_errors_do_not_break_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unraisable: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    seen: List[str] = []

    def broken(breaker: Any, old: str, new: str) -> None:
        raise RuntimeError("listener bug")

    def record(breaker: Any, old: str, new: str) -> None:
        seen.append(f"{old}->{new}")
        # A listener may call back into the breaker: no lock is held.
        assert breaker.state == new

    breaker = CircuitBreaker("db", failure_threshold=1)
    breaker.add_listener(broken)
    breaker.add_listener(record)
    with pytest.raises(Boom):
        breaker.call(_raise_boom)
    assert seen == ["closed->open"]
    assert len(unraisable) == 1 and isinstance(unraisable[0].exc_value, RuntimeError)
    breaker.remove_listener(broken)
    breaker.reset()
    assert seen == ["closed->open", "open->closed"] and len(unraisable) == 1
    with pytest.raises(ValueError, match="callback"):
        breaker.remove_listener(broken)
    with pytest.raises(TypeError, match="on_state_change"):
        breaker.add_listener(42)  # type: ignore[arg-type]


def _raise_boom() -> None:
    raise Boom()


def test_failure_on_and_exclude_with_types() -> None:
    breaker = CircuitBreaker("db", failure_threshold=1, failure_on=(ConnectionError, TimeoutError), exclude=ConnectionResetError)
    for error in (KeyError("x"), ConnectionResetError()):
        with pytest.raises(type(error)):
            breaker.call(_raiser(error))
    assert breaker.state == "closed"
    # An error failure_on does not name is a success (the dependency answered);
    # an excluded one counts as nothing.
    stats = breaker.stats
    assert (stats.successful, stats.released, stats.failed) == (1, 1, 0)
    with pytest.raises(ConnectionRefusedError):
        breaker.call(_raiser(ConnectionRefusedError()))
    assert breaker.state == "open"


def test_failure_on_and_exclude_with_predicates() -> None:
    breaker = CircuitBreaker(
        "http",
        failure_threshold=1,
        failure_on=lambda e: getattr(e, "status", 0) >= 500,
        exclude=lambda e: getattr(e, "status", 0) == 503,
    )

    class HttpError(Exception):
        def __init__(self, status: int) -> None:
            self.status = status

    for status in (404, 503):
        with pytest.raises(HttpError):
            breaker.call(_raiser(HttpError(status)))
    assert breaker.state == "closed"
    with pytest.raises(HttpError):
        breaker.call(_raiser(HttpError(500)))
    assert breaker.state == "open"


def test_base_exceptions_release_the_permit_instead_of_failing() -> None:
    breaker = CircuitBreaker("db", failure_threshold=1)
    with pytest.raises(KeyboardInterrupt):
        breaker.call(_raiser(KeyboardInterrupt()))
    assert breaker.state == "closed"
    assert breaker.stats.released == 1


def _raiser(error: BaseException) -> Any:
    def raise_it() -> None:
        raise error

    return raise_it


def test_a_predicate_that_raises_counts_as_failure_and_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    unraisable: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    breaker = CircuitBreaker("db", failure_threshold=1, failure_on=lambda e: 1 / 0)
    with pytest.raises(Boom):
        breaker.call(_raise_boom)
    assert breaker.state == "open"
    assert isinstance(unraisable[0].exc_value, ZeroDivisionError)


def test_count_window_trips_on_failure_rate() -> None:
    breaker = CircuitBreaker("db", window_size=10, minimum_calls=10, failure_rate_threshold=0.5)
    for i in range(9):
        permit = breaker.acquire()
        permit.failure() if i % 2 == 0 else permit.success()
    assert breaker.state == "closed"
    totals = breaker.window_totals()
    assert (totals.calls, totals.failed) == (9, 5)
    breaker.acquire().success()
    assert breaker.state == "open"  # 5 of the last 10 failed


def test_time_window_slow_calls_measured_on_the_manual_clock() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        "db",
        window_duration=60.0,
        minimum_calls=2,
        slow_call_duration=1.0,
        slow_call_rate_threshold=1.0,
        clock=clock,
    )

    @breaker
    def slow_query() -> str:
        clock.advance(1.5)
        return "rows"

    assert slow_query() == "rows"
    assert breaker.window_totals().slow == 1
    assert slow_query() == "rows"
    assert breaker.state == "open"
    assert breaker.stats.slow == 2 and breaker.stats.successful == 2
    clock.advance(60)
    assert breaker.window_totals().calls == 0


def test_max_wait_in_half_open_reopens_when_a_probe_hangs() -> None:
    clock = ManualClock()
    breaker = tripped(clock, max_wait_in_half_open=5.0)
    clock.advance(10)
    hung = breaker.acquire()
    assert hung.is_probe
    clock.advance(5)
    with pytest.raises(CircuitOpenError) as caught:
        breaker.acquire()
    assert caught.value.reason == "open"
    assert breaker.state == "open"
    hung.success()  # a stale result changes nothing
    assert breaker.state == "open"


def test_a_permit_ends_once() -> None:
    breaker = CircuitBreaker("db")
    permit = breaker.acquire()
    permit.success()
    permit.failure()
    permit.release()
    assert not permit.active
    stats = breaker.stats
    assert (stats.successful, stats.failed, stats.released) == (1, 0, 0)


def test_a_forgotten_permit_is_released_when_collected() -> None:
    clock = ManualClock()
    breaker = tripped(clock)
    clock.advance(10)
    permit = breaker.acquire()
    assert permit.is_probe
    with pytest.raises(CircuitOpenError) as caught:
        breaker.acquire()
    assert caught.value.reason == "half_open_full"
    del permit
    gc.collect()
    assert breaker.acquire().is_probe
    assert breaker.stats.released >= 1


def test_permit_as_context_manager() -> None:
    breaker = CircuitBreaker("db", failure_threshold=1)
    with breaker.acquire():
        pass
    with pytest.raises(Boom):
        with breaker.acquire():
            raise Boom()
    assert breaker.state == "open"


def test_explicit_latency_marks_slow_calls() -> None:
    breaker = CircuitBreaker("db", slow_call_duration=2.0)
    breaker.acquire().success(latency=2.0)
    breaker.acquire().success(latency=2.001)
    assert breaker.stats.slow == 1


def test_properties_and_repr() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("db", 3, 4, 5.5, half_open_max_calls=2, clock=clock)
    assert (breaker.name, breaker.failure_threshold, breaker.success_threshold) == ("db", 3, 4)
    assert breaker.timeout == 5.5 and breaker.half_open_max_calls == 2
    assert breaker.clock is clock
    assert CircuitBreaker("x").clock is None
    assert repr(breaker) == 'CircuitBreaker("db", state="closed")'
    assert isinstance(breaker, seawall.CircuitBreaker)


def test_manual_clock() -> None:
    clock = ManualClock(5)
    assert clock.now() == 5.0
    clock.advance(0.25)
    assert clock.now() == 5.25
    clock.set(1)
    assert clock.now() == 1.0
    from datetime import timedelta

    clock.advance(timedelta(milliseconds=500))
    assert clock.now() == 1.5
    with pytest.raises(ValueError, match="seconds"):
        clock.advance(-1)
    with pytest.raises(TypeError, match="seconds"):
        clock.advance("1")  # type: ignore[arg-type]
    assert "1.5" in repr(clock)


def test_docstrings_read_well() -> None:
    assert "circuit breaker" in (CircuitBreaker.__doc__ or "")
    assert "failure_threshold" in (CircuitBreaker.__doc__ or "")
    for name in seawall.__all__:
        if name != "__version__":
            assert getattr(seawall, name).__doc__, name
