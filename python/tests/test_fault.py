"""Fault injection from Python: off by default, the decorator on def and async
def (keys, replaced outcomes), the with and async with blocks, the same faults
after a reseed, a breaker opened by injected errors, and bad arguments."""

from __future__ import annotations

import asyncio
import json
from typing import List, Optional

import pytest

from seawall import CircuitBreaker, CircuitOpenError, FaultInjector, InjectedFaultError
from seawall.testing import ManualClock

LATENCY_AND_ERRORS = [
    {"kind": "latency", "delay_ms": 200, "rate": 1.0},
    {"kind": "error", "rate": 0.3},
]


def test_off_by_default_then_delays_and_errors() -> None:
    clock = ManualClock()
    chaos = FaultInjector("tenant-cache", LATENCY_AND_ERRORS, seed=30, clock=clock)

    @chaos
    def load(tenant: str) -> str:
        return f"row of {tenant}"

    assert not chaos.enabled
    assert load("a") == "row of a"
    assert clock.now() == 0.0
    chaos.enable()
    results: List[str] = []
    for _ in range(6):
        try:
            results.append(load("a"))
        except InjectedFaultError as error:
            assert (error.injector, error.kind) == ("tenant-cache", "error")
            results.append("failed")
    # The same faults as the shared scenario fault_plan_03 (seed 30).
    assert results == ["row of a"] * 3 + ["failed", "row of a", "failed"]
    assert clock.now() == pytest.approx(1.2)
    assert (chaos.counts.errors, chaos.counts.latency, chaos.counts.outcomes) == (2, 6, 0)
    chaos.disable()
    assert load("a") == "row of a"
    assert load.__name__ == "load"


def test_async_def_keys_and_outcomes() -> None:
    clock = ManualClock()
    chaos = FaultInjector(
        "api",
        [{"kind": "outcome", "rate": 1.0, "key": "tenant-7"}, {"kind": "latency", "delay_ms": 5, "rate": 1.0}],
        clock=clock,
    )

    @chaos(key=lambda tenant: tenant, outcome=lambda: 503)
    async def status(tenant: str) -> int:
        return 200

    async def calls() -> List[int]:
        return [await status("tenant-7"), await status("tenant-1")]

    chaos.enable()
    assert asyncio.run(calls()) == [503, 200]
    assert clock.now() == pytest.approx(0.010)
    assert chaos.counts.outcomes == 1

    # Without an outcome, an outcome fault raises.
    @chaos(key="tenant-7")
    def plain() -> int:
        return 200

    with pytest.raises(InjectedFaultError) as raised:
        plain()
    assert raised.value.kind == "outcome"


def test_blocks_fail_or_delay_on_entry() -> None:
    clock = ManualClock()
    chaos = FaultInjector("db", [{"kind": "error", "rate": 1.0, "key": "orders"}, {"kind": "latency", "delay_ms": 100, "rate": 1.0}], clock=clock)
    ran: List[str] = []
    with chaos:
        ran.append("off")
    chaos.enable()
    with pytest.raises(InjectedFaultError):
        with chaos.block("orders"):
            ran.append("never")
    with chaos:
        ran.append("delayed")
    assert ran == ["off", "delayed"]
    assert clock.now() == pytest.approx(0.2)

    async def blocks() -> None:
        async with chaos:
            ran.append("async")
        with pytest.raises(InjectedFaultError):
            async with chaos.block("orders"):
                ran.append("never")

    asyncio.run(blocks())
    assert ran[-1] == "async"
    assert chaos.counts.errors == 2


def test_a_reseed_replays_the_run() -> None:
    chaos = FaultInjector("flaky", [{"kind": "error", "rate": 0.5}], seed=42)
    chaos.enable()

    @chaos
    def call() -> None:
        return None

    def run() -> List[bool]:
        outcome: List[bool] = []
        for _ in range(40):
            try:
                call()
                outcome.append(True)
            except InjectedFaultError:
                outcome.append(False)
        return outcome

    first = run()
    chaos.reseed()
    assert run() == first
    assert False in first and True in first


def test_injected_errors_open_a_breaker() -> None:
    clock = ManualClock()
    chaos = FaultInjector("cache", [{"kind": "error", "rate": 0.3}], seed=7, clock=clock)
    breaker = CircuitBreaker("cache", failure_rate_threshold=0.2, window_size=20, minimum_calls=20, clock=clock)

    @breaker
    @chaos
    def load() -> str:
        return "row"

    chaos.enable()
    rejected = 0
    for _ in range(100):
        try:
            load()
        except CircuitOpenError:
            rejected += 1
        except InjectedFaultError:
            pass
    assert breaker.state == "open"
    assert rejected > 0


def test_the_plan_reads_and_writes_the_file_form() -> None:
    rules = [{"kind": "error", "rate": 0.3, "key": "t", "after_ms": 10, "until_ms": 20, "every_ms": 60}]
    chaos = FaultInjector("x", json.loads(json.dumps(rules)), seed=9)
    assert chaos.rules == rules
    assert chaos.seed == 9
    assert "FaultInjector('x'" in repr(chaos)


@pytest.mark.parametrize(
    "rules,message",
    [
        ([{"kind": "error", "rate": 1.5}], "invalid rate"),
        ([{"kind": "latency", "rate": 1.0}], "delay_ms"),
        ([{"kind": "error", "delay_ms": 5, "rate": 1.0}], "delay_ms"),
        ([{"kind": "panic", "rate": 1.0}], "rules"),
        ([{"kind": "error", "rate": 1.0, "keys": "a"}], "unknown field"),
        ([{"kind": "error", "rate": 1.0, "after_ms": 5, "until_ms": 5}], "until"),
        ([{"kind": "error", "rate": 0.5}] * 65, "at most 64"),
    ],
)
def test_bad_rules_are_value_errors(rules: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultInjector("x", rules)  # type: ignore[arg-type]


def test_bad_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError):
        FaultInjector("x", [object()])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="name"):
        FaultInjector(3, [])  # type: ignore[arg-type]
    chaos = FaultInjector("x", [])
    with pytest.raises(TypeError, match="key"):
        chaos(key=3)(lambda: None)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="outcome"):
        chaos(outcome=3)(lambda: None)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="key"):
        chaos.block(3)  # type: ignore[arg-type]
    key: Optional[str] = None
    with chaos.block(key):
        pass


def test_the_registry_switches_injectors_and_exposes_hedges_and_faults() -> None:
    from seawall import Hedge
    from seawall.registry import Registry

    registry = Registry()
    chaos = FaultInjector("cache", [{"kind": "error", "rate": 1.0}])
    hedge = Hedge(delay=0.01)
    registry.register(chaos)
    registry.register(hedge, name="search")
    with pytest.raises(TypeError, match="no name of its own"):
        registry.register(Hedge())
    assert registry.names("fault_injector") == ["cache"]
    assert registry.hedge("search") is hedge
    switch = registry.fault_injector("cache")
    assert switch is chaos
    text = registry.prometheus_text()
    assert 'seawall_fault_enabled{name="cache"} 0.0' in text
    assert 'seawall_hedge_sent_total{name="search"} 0.0' in text
    switch.enable()

    @chaos
    def load() -> None:
        return None

    with pytest.raises(InjectedFaultError):
        load()
    text = registry.prometheus_text()
    assert 'seawall_fault_enabled{name="cache"} 1.0' in text
    assert 'seawall_fault_injected_total{name="cache",kind="error"} 1.0' in text
