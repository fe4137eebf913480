"""Bad arguments raise ValueError or TypeError naming the argument; nothing ever
reaches the core unvalidated, so no Rust panic can surface as PanicException."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, Dict, Type

import pytest

from seawall import CircuitBreaker
from seawall.testing import ManualClock

BAD: list = [
    ({"failure_threshold": 0}, ValueError, "failure_threshold"),
    ({"failure_threshold": -1}, ValueError, "failure_threshold"),
    ({"failure_threshold": 2**27}, ValueError, "failure_threshold"),
    ({"failure_threshold": 2**80}, ValueError, "failure_threshold"),
    ({"failure_threshold": 1.5}, TypeError, "failure_threshold"),
    ({"failure_threshold": "5"}, TypeError, "failure_threshold"),
    ({"failure_threshold": True}, TypeError, "failure_threshold"),
    ({"success_threshold": 0}, ValueError, "success_threshold"),
    ({"success_threshold": 1024}, ValueError, "success_threshold"),
    ({"timeout": -1.0}, ValueError, "timeout"),
    ({"timeout": 0}, ValueError, "timeout"),
    ({"timeout": math.nan}, ValueError, "timeout"),
    ({"timeout": math.inf}, ValueError, "timeout"),
    ({"timeout": "60"}, TypeError, "timeout"),
    ({"timeout": timedelta(seconds=-1)}, ValueError, "timeout"),
    ({"half_open_max_calls": 0}, ValueError, "half_open_max_calls"),
    ({"open_duration_multiplier": 0.5}, ValueError, "open_duration_multiplier"),
    ({"open_duration_multiplier": math.nan}, ValueError, "open_duration_multiplier"),
    ({"open_duration_multiplier": "2"}, TypeError, "open_duration_multiplier"),
    ({"max_open_duration": 1.0}, ValueError, "max_open_duration"),
    ({"max_wait_in_half_open": 0}, ValueError, "max_wait_in_half_open"),
    ({"failure_rate_threshold": 0.0}, ValueError, "failure_rate_threshold"),
    ({"failure_rate_threshold": 1.5}, ValueError, "failure_rate_threshold"),
    ({"failure_rate_threshold": math.nan}, ValueError, "failure_rate_threshold"),
    ({"slow_call_rate_threshold": -0.1}, ValueError, "slow_call_rate_threshold"),
    ({"slow_call_duration": 0.0}, ValueError, "slow_call_duration"),
    ({"minimum_calls": 0}, ValueError, "minimum_calls"),
    ({"window_size": 0}, ValueError, "window_size"),
    ({"window_size": 10**7}, ValueError, "window_size"),
    ({"window_size": 10, "window_duration": 10.0}, ValueError, "window_size"),
    ({"window_buckets": 10}, ValueError, "window_buckets"),
    ({"window_duration": 0.0}, ValueError, "window_duration"),
    ({"window_duration": 0.001, "window_buckets": 10}, ValueError, "window_duration"),
    ({"window_duration": 10.0, "window_buckets": 0}, ValueError, "window_buckets"),
    ({"failure_on": 42}, TypeError, "failure_on"),
    ({"failure_on": (ValueError, int)}, TypeError, "failure_on"),
    ({"failure_on": str}, TypeError, "failure_on"),
    ({"exclude": "ValueError"}, TypeError, "exclude"),
    ({"on_state_change": 1}, TypeError, "on_state_change"),
    ({"clock": object()}, TypeError, "clock"),
]


@pytest.mark.parametrize("options,error,argument", BAD, ids=[repr(b[0]) for b in BAD])
def test_bad_breaker_arguments(options: Dict[str, Any], error: Type[Exception], argument: str) -> None:
    with pytest.raises(error, match=argument) as caught:
        CircuitBreaker("db", **options)
    assert type(caught.value) is error


def test_bad_name() -> None:
    for bad in (42, None, b"db"):
        with pytest.raises(TypeError, match="name"):
            CircuitBreaker(bad)  # type: ignore[arg-type]


def test_good_arguments_in_every_accepted_form() -> None:
    breaker = CircuitBreaker(
        "db",
        failure_threshold=2**27 - 1,
        success_threshold=1023,
        timeout=timedelta(minutes=1),
        half_open_max_calls=1023,
        open_duration_multiplier=2,
        max_open_duration=600,
        max_wait_in_half_open=0.5,
        window_duration=10,
        window_buckets=10,
        failure_rate_threshold=1,
        slow_call_rate_threshold=0.25,
        slow_call_duration=timedelta(milliseconds=1),
        minimum_calls=1,
        failure_on=[OSError, TimeoutError],
        exclude=lambda e: False,
        clock=None,
    )
    assert breaker.timeout == 60.0


ODD_VALUES: list = [
    -(2**100), -1, 0, 1, 2**31, 2**64, -0.0, 1e-12, 1e300, -1e300, math.nan, math.inf,
    -math.inf, True, None, "1", b"1", [], (), {}, object(), ManualClock(),
]
OPTIONS = [
    "failure_threshold", "success_threshold", "timeout", "half_open_max_calls",
    "open_duration_multiplier", "max_open_duration", "max_wait_in_half_open", "window_size",
    "window_duration", "failure_rate_threshold", "slow_call_rate_threshold",
    "slow_call_duration", "minimum_calls", "failure_on", "exclude", "on_state_change", "clock",
]


@pytest.mark.parametrize("option", OPTIONS)
def test_no_value_of_any_option_panics(option: str) -> None:
    for value in ODD_VALUES:
        try:
            breaker = CircuitBreaker("db", **{option: value})
        except (ValueError, TypeError) as error:
            assert option in str(error), (option, value, error)
            continue
        # Accepted: the breaker works.
        breaker.call(lambda: None)
        breaker.acquire().failure(latency=1e300)


def test_permit_latency_is_validated() -> None:
    permit = CircuitBreaker("db").acquire()
    with pytest.raises(ValueError, match="latency"):
        permit.success(latency=-1)
    with pytest.raises(TypeError, match="latency"):
        permit.failure(latency="slow")  # type: ignore[arg-type]
    assert permit.active
    permit.success(latency=math.ldexp(1, 70))  # huge latencies saturate
    assert not permit.active


def test_manual_clock_arguments() -> None:
    with pytest.raises(ValueError, match="start"):
        ManualClock(-1)
    with pytest.raises(ValueError, match="seconds"):
        ManualClock().set(math.nan)
    clock = ManualClock()
    clock.set(1e300)  # saturates at the end of the clock's range
    clock.advance(1e300)
    assert clock.now() == 2**64 / 1e9


def _accepts_or_names(build: Any, option: str, value: Any) -> Any:
    try:
        return build(value)
    except (ValueError, TypeError) as error:
        assert option in str(error), (option, value, error)
        return None


RETRY_OPTIONS = [
    "max_attempts", "strategy", "initial_delay", "max_delay", "multiplier", "increment",
    "jitter", "seed", "deadline", "budget", "retry_on", "on_retry", "clock",
]


@pytest.mark.parametrize("option", RETRY_OPTIONS)
def test_no_value_of_any_retry_option_panics(option: str) -> None:
    from seawall import Retry

    def flaky_once() -> Any:
        calls: list = []

        def flaky() -> None:
            calls.append(1)
            if len(calls) < 2:
                raise ConnectionError()

        return flaky

    for value in ODD_VALUES + ["fixed", "linear", "full"]:
        extra: Dict[str, Any] = {"strategy": "linear"} if option == "increment" else {}
        if option != "clock":
            extra["clock"] = ManualClock()  # waits advance it: no real sleeps
        policy = _accepts_or_names(lambda v: Retry(**{option: v}, **extra), option, value)
        if policy is None:
            continue
        policy.delays(3)
        if policy.clock is None:
            continue
        try:
            policy.call(flaky_once())
        except ConnectionError:
            pass  # a policy that gives up at once (max_attempts=1, retry_on=...)


@pytest.mark.parametrize("option", ["rate", "period", "burst", "max_wait", "name", "clock"])
def test_no_value_of_any_rate_limiter_option_panics(option: str) -> None:
    from seawall import RateLimiter

    for value in ODD_VALUES:
        kwargs: Dict[str, Any] = {"rate": 5}
        kwargs[option] = value
        limiter = _accepts_or_names(lambda v: RateLimiter(**kwargs), option, value)
        if limiter is not None:
            limiter.try_acquire()
            limiter.check()


@pytest.mark.parametrize("option", ["max_concurrent", "max_wait", "name"])
def test_no_value_of_any_bulkhead_option_panics(option: str) -> None:
    from seawall import Bulkhead

    for value in ODD_VALUES:
        kwargs: Dict[str, Any] = {"max_concurrent": 2}
        kwargs[option] = value
        bulkhead = _accepts_or_names(lambda v: Bulkhead(**kwargs), option, value)
        if bulkhead is not None:
            permit = bulkhead.try_enter()
            assert permit is not None
            permit.release()


def test_no_value_of_the_budget_or_clock_panics() -> None:
    from seawall import RetryBudget

    for value in ODD_VALUES:
        _accepts_or_names(lambda v: RetryBudget(max_tokens=v), "max_tokens", value)
        _accepts_or_names(lambda v: RetryBudget(token_ratio=v), "token_ratio", value)
        _accepts_or_names(lambda v: ManualClock(v), "start", value)
        _accepts_or_names(lambda v: ManualClock().advance(v), "seconds", value)
