"""Shadow mode: a breaker that decides but does not enforce. What it would
reject runs anyway, unrecorded, and counts in ``stats.rejected`` and its own
metric; its state follows an enforcing breaker's on the same calls."""

from __future__ import annotations

import asyncio
from typing import List

import pytest

import seawall
import seawall.registry
from seawall.testing import ManualClock


def pair(clock: ManualClock) -> "tuple[seawall.CircuitBreaker, seawall.CircuitBreaker]":
    enforcing = seawall.CircuitBreaker("enforcing", failure_threshold=3, success_threshold=1, timeout=10, clock=clock)
    shadow = seawall.CircuitBreaker(
        "shadow", failure_threshold=3, success_threshold=1, timeout=10, clock=clock, shadow=True
    )
    return enforcing, shadow


def test_a_shadow_breaker_lets_calls_through_and_counts_what_it_would_reject() -> None:
    clock = ManualClock()
    enforcing, shadow = pair(clock)
    assert shadow.shadow and not enforcing.shadow
    ran: List[str] = []

    def down(who: str) -> None:
        ran.append(who)
        raise ConnectionError("down")

    for _ in range(10):
        with pytest.raises((ConnectionError, seawall.CircuitOpenError)):
            enforcing.call(down, "enforcing")
        with pytest.raises(ConnectionError):
            shadow.call(down, "shadow")
    assert ran.count("enforcing") == 3
    assert ran.count("shadow") == 10
    assert shadow.state == enforcing.state == "open"
    assert shadow.stats.rejected == enforcing.stats.rejected == 7
    assert shadow.stats.failed == 3

    clock.advance(10)
    assert shadow.call(lambda: 42) == 42
    enforcing.call(lambda: 42)
    assert shadow.state == enforcing.state == "closed"


def test_decorators_blocks_and_permits_in_shadow_mode() -> None:
    clock = ManualClock()
    _, shadow = pair(clock)
    shadow.force_open()

    @shadow
    def answer() -> int:
        return 42

    @shadow
    async def answer_async() -> int:
        return 43

    assert answer() == 42
    assert asyncio.run(answer_async()) == 43
    with shadow as permit:
        assert not permit.active, "a would-be rejection holds no permit"
    assert shadow.acquire().active is False
    assert shadow.stats.rejected == 4
    assert shadow.stats.successful == 0


def test_shadow_rejections_have_their_own_metric() -> None:
    clock = ManualClock()
    enforcing, shadow = pair(clock)
    registry = seawall.registry.Registry()
    registry.register(shadow, name="payments")
    registry.register(enforcing, name="search")
    shadow.force_open()
    enforcing.force_open()
    shadow.call(lambda: None)
    with pytest.raises(seawall.CircuitOpenError):
        enforcing.call(lambda: None)
    text = registry.prometheus_text()
    assert 'seawall_circuitbreaker_shadow_rejections_total{name="payments"} 1.0' in text
    assert 'seawall_circuitbreaker_calls_total{name="payments",kind="rejected"} 0.0' in text
    assert 'seawall_circuitbreaker_calls_total{name="search",kind="rejected"} 1.0' in text
    assert 'shadow_rejections_total{name="search"}' not in text


def test_an_open_shadow_breaker_leaves_the_health_status_alone() -> None:
    """It rejects nothing, so even registered as critical it must not take the
    service out of rotation; its line says it is shadow."""
    clock = ManualClock()
    enforcing, shadow = pair(clock)
    registry = seawall.registry.Registry()
    registry.register(shadow, name="payments", critical=True)
    for _ in range(3):
        with pytest.raises(ConnectionError):
            shadow.call(_fail)
    report = registry.health()
    assert report["breakers"][0]["state"] == "open"
    assert report["breakers"][0]["shadow"] is True
    assert report["status"] == "healthy"

    registry.register(enforcing, name="search", critical=True)
    for _ in range(3):
        with pytest.raises(ConnectionError):
            enforcing.call(_fail)
    report = registry.health()
    assert "shadow" not in report["breakers"][1]
    assert report["status"] == "unhealthy"


def _fail() -> None:
    raise ConnectionError("down")


def test_shadow_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="invalid shadow"):
        seawall.CircuitBreaker("x", shadow=1)  # type: ignore[arg-type]


def test_a_shadow_rate_limiter_never_waits_nor_raises_and_counts() -> None:
    clock = ManualClock()
    enforcing = seawall.RateLimiter(10, burst=2, max_wait=0.05, clock=clock)
    shadow = seawall.RateLimiter(10, burst=2, max_wait=0.05, clock=clock, shadow=True)
    assert shadow.shadow and not enforcing.shadow
    refused = 0
    for _ in range(6):
        try:
            enforcing.acquire()
        except seawall.RateLimitedError:
            refused += 1
        with shadow:
            pass
    assert refused == 4
    assert shadow.shadow_refusals == 4
    assert clock.now() == 0.0, "nothing waited"

    @shadow
    async def call() -> int:
        return 1

    assert asyncio.run(call()) == 1
    assert shadow.shadow_refusals == 5

    registry = seawall.registry.Registry()
    registry.register(shadow, name="api")
    assert 'seawall_ratelimiter_shadow_refusals_total{name="api"} 5.0' in registry.prometheus_text()
