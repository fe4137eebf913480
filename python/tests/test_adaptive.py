"""The adaptive policies from Python: the adaptive limiter (decorator, with,
async with, permits, cancellation, bad arguments), the retry quota, the adaptive
rate and the attempt timeout, and their registry lines and metrics."""

from __future__ import annotations

import asyncio
from typing import List

import pytest

from seawall import (
    AdaptiveLimiter,
    AdaptiveRate,
    AttemptTimeout,
    BulkheadFullError,
    Retry,
    RetryBudget,
    RetryQuota,
    TimeoutExceededError,
    retry_history,
    timeout,
)
from seawall.registry import Registry
from seawall.testing import ManualClock


def aimd(initial: int, clock: ManualClock) -> AdaptiveLimiter:
    return AdaptiveLimiter("aimd", initial_limit=initial, min_samples=1, clock=clock)


# --- adaptive limiter ------------------------------------------------------------


def test_the_decorator_learns_from_each_call() -> None:
    clock = ManualClock()
    limiter = aimd(2, clock)

    @limiter
    def work(fail: bool) -> str:
        clock.advance(0.01)
        if fail:
            raise ConnectionError("refused")
        return "done"

    assert work(False) == "done"
    with pytest.raises(ConnectionError):
        work(True)
    assert limiter.counts == {"succeeded": 1, "overloaded": 1, "released": 0, "rejected": 0}
    assert limiter.in_flight == 0
    assert work.__name__ == "work"


def test_with_blocks_and_permits() -> None:
    clock = ManualClock()
    limiter = aimd(1, clock)
    with limiter as permit:
        assert permit.active
        with pytest.raises(BulkheadFullError) as refused:
            with limiter:
                pass
        assert refused.value.max_concurrent == 1
        assert limiter.try_acquire() is None
    assert not permit.active
    permit = limiter.acquire()
    permit.overload()
    permit.success()  # once only
    assert limiter.counts["overloaded"] == 1
    assert limiter.counts["rejected"] == 2
    with pytest.raises(KeyError):
        with limiter:
            raise KeyError("bad request")
    assert limiter.counts["overloaded"] == 2


def test_overload_on_picks_the_overload_errors() -> None:
    clock = ManualClock()
    limiter = AdaptiveLimiter("aimd", overload_on=TimeoutError, clock=clock)
    with pytest.raises(KeyError):
        with limiter:
            raise KeyError("not found")
    with pytest.raises(TimeoutError):
        with limiter:
            raise TimeoutError()
    assert limiter.counts == {"succeeded": 0, "overloaded": 1, "released": 1, "rejected": 0}


def test_async_calls_and_cancellation() -> None:
    clock = ManualClock()
    limiter = aimd(1, clock)

    @limiter
    async def fetch() -> int:
        return 7

    async def main() -> None:
        assert await fetch() == 7
        async with limiter:
            with pytest.raises(BulkheadFullError):
                await fetch()
        started = asyncio.Event()

        async def hang() -> None:
            started.set()
            await asyncio.sleep(3600)

        task = asyncio.ensure_future(limiter.call_async(hang))
        await started.wait()
        assert limiter.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert limiter.in_flight == 0

    asyncio.run(main())
    assert limiter.counts == {"succeeded": 2, "overloaded": 0, "released": 1, "rejected": 1}


def test_gradient_probes_its_baseline_first() -> None:
    clock = ManualClock()
    limiter = AdaptiveLimiter(probe_limit=1, probe_samples=3, clock=clock)
    assert limiter.algorithm == "gradient" and limiter.probing and limiter.baseline is None
    for latency in (0.010, 0.020, 0.030):
        with limiter:
            assert limiter.try_acquire() is None, "one call at a time while probing"
            clock.advance(latency)
    assert not limiter.probing
    assert limiter.baseline == pytest.approx(0.020)
    assert limiter.limit == 20
    limiter.reset()
    assert limiter.probing
    assert "gradient" in repr(limiter)


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        ({"algorithm": "bbr"}, ValueError, "invalid algorithm"),
        ({"algorithm": 3}, TypeError, "invalid algorithm"),
        ({"initial_limit": 0}, ValueError, "invalid initial_limit"),
        ({"max_limit": 5}, ValueError, "invalid initial_limit"),
        ({"window": -1}, ValueError, "invalid window"),
        ({"algorithm": "aimd", "backoff_ratio": 1.5}, ValueError, "invalid backoff_ratio"),
        ({"algorithm": "aimd", "tolerance": 2.0}, TypeError, "not an option of the \"aimd\""),
        ({"algorithm": "vegas", "beta": 2}, ValueError, "invalid beta"),
        ({"algorithm": "gradient", "tolerance": 0.5}, ValueError, "invalid tolerance"),
        ({"colour": "red"}, TypeError, "unexpected keyword argument colour"),
        ({"overload_on": 3}, TypeError, "invalid overload_on"),
        ({"clock": 3}, TypeError, "invalid clock"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        AdaptiveLimiter(**kwargs)


# --- retry quota, adaptive rate, attempt timeout -----------------------------------


class Throttled(Exception):
    pass


def test_the_quota_stops_retries_in_an_outage() -> None:
    clock = ManualClock()
    quota = RetryQuota(50)
    policy = Retry(max_attempts=3, strategy="fixed", delay=0.01, quota=quota, clock=clock)
    attempts: List[int] = []

    @policy
    def down() -> None:
        attempts.append(1)
        raise ConnectionError("down")

    reasons = []
    for _ in range(4):
        with pytest.raises(ConnectionError) as failed:
            down()
        history = retry_history(failed.value)
        reasons.append(history.give_up if history else "not_retried")
    # 50 pays for three transient retries (14 each), then none.
    assert len(attempts) == 4 + 3
    assert reasons == ["attempts_exhausted", "budget_empty", "budget_empty", "budget_empty"]
    assert quota.available == 8
    policy.call(lambda: None)
    assert quota.available == 9
    assert policy.quota is quota and quota.capacity == 50
    quota.reset()
    assert quota.available == 50


def test_throttling_and_timeouts_cost_their_own() -> None:
    clock = ManualClock()
    quota = RetryQuota(100)
    policy = Retry(max_attempts=2, strategy="fixed", delay=0.01, quota=quota,
                   throttle_on=Throttled, clock=clock)
    for error, cost in ((Throttled(), 5), (TimeoutError(), 14), (ValueError(), 14)):
        quota.reset()

        def fail(error: Exception = error) -> None:
            raise error

        with pytest.raises(type(error)):
            policy.call(fail)
        assert quota.available == 100 - cost, error


def test_quota_and_budget_do_not_mix() -> None:
    with pytest.raises(ValueError, match="invalid quota"):
        Retry(budget=RetryBudget(), quota=RetryQuota())
    with pytest.raises(TypeError, match="invalid quota"):
        Retry(quota=RetryBudget())
    with pytest.raises(ValueError, match="invalid transient_cost"):
        RetryQuota(10)
    with pytest.raises(ValueError, match="invalid capacity"):
        RetryQuota(0)


def test_throttling_turns_the_adaptive_rate_on() -> None:
    clock = ManualClock()
    rate = AdaptiveRate(clock=clock)
    policy = Retry(max_attempts=2, strategy="fixed", delay=0.001, adaptive_rate=rate,
                   throttle_on=Throttled, clock=clock)
    for _ in range(20):
        policy.call(lambda: None)
        clock.advance(0.05)
    assert not rate.enabled
    start = clock.now()
    policy.call(lambda: None)
    assert clock.now() == start, "no pacing before a throttle"

    def throttled() -> None:
        raise Throttled()

    with pytest.raises(Throttled):
        policy.call(throttled)
    assert rate.enabled and rate.throttled == 2
    before = clock.now()
    for _ in range(5):
        policy.call(lambda: None)
    assert clock.now() > before, "attempts waited for their turn"
    assert "AdaptiveRate(enabled=True" in repr(rate)

    async def main() -> None:
        @policy
        async def fetch() -> int:
            return 1

        before = clock.now()
        for _ in range(3):
            assert await fetch() == 1
        assert clock.now() > before

    asyncio.run(main())
    rate.reset()
    assert not rate.enabled
    with pytest.raises(ValueError, match="invalid beta"):
        AdaptiveRate(beta=1.5)
    with pytest.raises(TypeError, match="invalid adaptive_rate"):
        Retry(adaptive_rate=3)


def test_the_attempt_timeout_follows_the_latency() -> None:
    clock = ManualClock()
    timeout = AttemptTimeout(percentile=0.5, multiplier=2.0, min=0.001, max=5.0, min_samples=4, clock=clock)
    assert timeout.timeout() == 5.0
    for _ in range(4):
        timeout.record(0.002)
    assert timeout.samples == 4
    # 2 ms is in the bucket 1.920 to 2.047 ms; times 2.
    assert timeout.timeout() == pytest.approx(0.004094)
    clock.advance(120)
    assert timeout.samples == 0 and timeout.timeout() == 5.0
    with pytest.raises(ValueError, match="invalid percentile"):
        AttemptTimeout(percentile=0)


def test_timeout_takes_an_attempt_timeout() -> None:
    attempt = AttemptTimeout(min_samples=1, min=0.001, max=0.05)

    @timeout(attempt)
    async def quick() -> int:
        return 1

    @timeout(attempt)
    async def stuck() -> None:
        await asyncio.Event().wait()

    async def main() -> None:
        assert await quick() == 1
        assert attempt.samples == 1
        # One instant call known: the limit is its minimum, 1 ms.
        assert attempt.timeout() == 0.001
        with pytest.raises(TimeoutExceededError):
            await stuck()
        assert attempt.samples == 2

    asyncio.run(main())
    with pytest.raises(TypeError, match="async def"):
        timeout(attempt)(lambda: None)
    with pytest.raises(ValueError, match="invalid max"):
        AttemptTimeout(min=2, max=1)


# --- registry ----------------------------------------------------------------------


def test_the_registry_reports_limiters_quotas_and_rates() -> None:
    clock = ManualClock()
    registry = Registry()
    limiter = AdaptiveLimiter("aimd", initial_limit=2, name="search", clock=clock)
    registry.register(limiter)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(limiter)
    assert registry.names("adaptive_limiter") == ["search"]
    assert registry.adaptive_limiter("search") is limiter
    held = limiter.acquire()
    quota = RetryQuota(100)
    rate = AdaptiveRate(clock=clock)
    registry.register(Retry(quota=quota, adaptive_rate=rate, clock=clock), name="api")
    health = registry.health()
    assert health["status"] == "healthy"
    assert health["limiters"] == [
        {
            "name": "search",
            "algorithm": "aimd",
            "limit": 2,
            "in_flight": 1,
            "baseline_seconds": None,
            "calls": {"successful": 0, "failed": 0, "released": 0, "rejected": 0},
        }
    ]
    text = registry.prometheus_text()
    for line in (
        'seawall_adaptivelimiter_limit{name="search"} 2.0',
        'seawall_adaptivelimiter_in_flight_calls{name="search"} 1.0',
        'seawall_adaptivelimiter_calls_total{name="search",kind="rejected"} 0.0',
        'seawall_retry_quota_available{name="api"} 100.0',
        'seawall_retry_throttled_responses_total{name="api"} 0.0',
        'seawall_retry_send_rate{name="api"} 0.0',
    ):
        assert line in text.splitlines(), line
    held.release()
    assert registry.unregister("adaptive_limiter", "search")
    assert "limiters" not in registry.health()
