"""The registry, the health report and the Prometheus metrics, with the names
of the Rust crate."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from typing import Any, Dict, List, Tuple

import pytest

from seawall import Bulkhead, CircuitBreaker, RateLimiter, Retry, RetryStats
from seawall.registry import Registry
from seawall.testing import ManualClock


class Boom(Exception):
    pass


def fail() -> None:
    raise Boom()


def ok() -> None:
    return None


def breaker(name: str, clock: ManualClock, **options: Any) -> CircuitBreaker:
    options.setdefault("failure_threshold", 1)
    options.setdefault("success_threshold", 1)
    options.setdefault("timeout", 10.0)
    return CircuitBreaker(name, clock=clock, **options)


def trip(cb: CircuitBreaker) -> None:
    cb.acquire().failure()


# -- registry ----------------------------------------------------------------


def test_names_are_sorted_and_unique_per_kind() -> None:
    clock = ManualClock()
    registry = Registry()
    registry.register(breaker("search", clock))
    registry.register(breaker("database", clock))
    with pytest.raises(ValueError, match="a circuit_breaker named 'search' is already registered"):
        registry.register(breaker("search", clock))
    # Another kind may use the same name; a Retry has no name of its own.
    registry.register(Bulkhead(2, name="search"))
    registry.register(RateLimiter(5, name="search"))
    with pytest.raises(TypeError, match="name="):
        registry.register(Retry())
    registry.register(Retry(), name="search")

    assert registry.names("circuit_breaker") == ["database", "search"]
    for kind in ("retry", "bulkhead", "rate_limiter"):
        assert registry.names(kind) == ["search"]  # type: ignore[arg-type]
    assert registry.unregister("bulkhead", "search")
    assert not registry.unregister("bulkhead", "search")
    assert registry.bulkhead("search") is None
    with pytest.raises(ValueError, match="invalid kind"):
        registry.names("breaker")  # type: ignore[arg-type]


def test_only_policies_register_and_only_breakers_are_critical() -> None:
    registry = Registry()
    with pytest.raises(TypeError, match="not object"):
        registry.register(object(), name="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only a circuit breaker can be critical"):
        registry.register(Bulkhead(1, name="pool"), critical=True)
    with pytest.raises(TypeError, match="non-empty str"):
        registry.register(Retry(), name="")


def test_breakers_are_controlled_by_name() -> None:
    clock = ManualClock()
    registry = Registry()
    database = breaker("database", clock)
    registry.register(database)
    assert registry.breaker("database") is database
    registry.force_open("database")
    assert database.state == "forced_open"
    registry.disable("database")
    assert database.state == "disabled"
    registry.reset("database")
    assert database.state == "closed"
    with pytest.raises(KeyError, match="nope"):
        registry.force_open("nope")


def test_unregistering_a_breaker_removes_the_registry_listener() -> None:
    clock = ManualClock()
    registry = Registry()
    database = breaker("database", clock)
    registry.register(database)
    assert registry.unregister("circuit_breaker", "database")
    # The listener is gone: registering it again adds one listener, not two.
    registry.register(database)
    trip(database)
    text = registry.prometheus_text()
    assert 'seawall_circuitbreaker_transitions_total{name="database",from="closed",to="open"} 1.0' in text


# -- health ------------------------------------------------------------------


def test_health_is_healthy_when_every_breaker_is_closed() -> None:
    clock = ManualClock()
    registry = Registry()
    registry.register(breaker("a", clock), critical=True)
    registry.register(breaker("b", clock))
    assert registry.health()["status"] == "healthy"
    assert Registry().health() == {"status": "healthy", "breakers": []}


@pytest.mark.parametrize(
    "critical,state",
    [
        (False, "open"),
        (False, "forced_open"),
        (True, "forced_open"),
        (False, "disabled"),
        (True, "disabled"),
        (False, "half_open"),
        (True, "half_open"),
    ],
)
def test_health_is_degraded_by_a_breaker_that_is_not_closed(critical: bool, state: str) -> None:
    clock = ManualClock()
    registry = Registry()
    cb = breaker("x", clock)
    registry.register(cb, critical=critical)
    registry.register(breaker("closed", clock), critical=True)
    if state == "open":
        trip(cb)
    elif state == "forced_open":
        cb.force_open()
    elif state == "disabled":
        cb.disable()
    else:
        trip(cb)
        clock.advance(10.0)
        probe = cb.acquire()
        assert cb.state == "half_open"
    assert cb.state == state
    assert registry.health()["status"] == "degraded"


def test_health_is_unhealthy_when_a_critical_breaker_is_open() -> None:
    clock = ManualClock()
    registry = Registry()
    database = breaker("database", clock)
    search = breaker("search", clock)
    registry.register(database, critical=True)
    registry.register(search)
    search.force_open()
    trip(database)
    assert registry.health()["status"] == "unhealthy"
    database.reset()
    assert registry.health()["status"] == "degraded"
    search.reset()
    assert registry.health()["status"] == "healthy"


def test_the_report_is_a_json_ready_dict_of_the_documented_shape() -> None:
    clock = ManualClock()
    registry = Registry()
    database = breaker("database", clock, failure_threshold=2)
    registry.register(database, critical=True)
    database.call(ok)
    clock.advance(1.5)
    for _ in range(2):
        with pytest.raises(Boom):
            database.call(fail)
    with pytest.raises(Exception, match="is open"):
        database.call(ok)
    clock.advance(2.5)

    report = registry.health()
    assert json.loads(json.dumps(report)) == report
    line = report["breakers"][0]
    since = line.pop("since")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", since), since
    assert report == {
        "status": "unhealthy",
        "breakers": [
            {
                "name": "database",
                "state": "open",
                "critical": True,
                "shared": False,
                "failure_rate": pytest.approx(2 / 3),
                "slow_call_rate": 0.0,
                "in_state_seconds": pytest.approx(2.5),
                "calls": {"successful": 1, "failed": 2, "released": 0, "rejected": 1},
            }
        ],
    }


def test_windowed_breakers_report_their_window_rates() -> None:
    clock = ManualClock()
    registry = Registry()
    search = CircuitBreaker(
        "search", window_size=4, failure_rate_threshold=1.0, minimum_calls=100, clock=clock
    )
    assert search.has_window and not CircuitBreaker("plain").has_window
    registry.register(search)
    for outcome in (fail, fail, ok, fail, ok, ok):
        try:
            search.call(outcome)
        except Boom:
            pass
    (line,) = registry.health()["breakers"]
    assert line["failure_rate"] == 0.25  # the last four calls, not all six
    assert line["calls"]["failed"] == 3


# -- metrics -----------------------------------------------------------------


def scripted() -> Tuple[Registry, List[Any]]:
    """A registry with a policy of each kind after a scripted sequence of calls."""
    clock = ManualClock()
    registry = Registry()
    db = breaker("db", clock, failure_threshold=2)
    registry.register(db, critical=True)
    db.call(ok)
    db.acquire().release()  # let through, ended without an outcome: released
    for _ in range(2):
        with pytest.raises(Boom):
            db.call(fail)
    for _ in range(2):
        with pytest.raises(Exception, match="is open"):
            db.call(ok)
    clock.advance(10.0)
    db.call(ok)
    assert db.state == "closed"

    api = Retry(strategy="fixed", delay=0.01, clock=clock)
    registry.register(api, name="api")
    api.call(ok)
    attempts: List[int] = []

    def flaky() -> None:
        attempts.append(1)
        if len(attempts) < 2:
            raise Boom()

    api.call(flaky)
    with pytest.raises(Boom):
        api.call(fail)
    not_retried = Retry(retry_on=ValueError, clock=clock)
    registry.register(not_retried, name="strict")
    with pytest.raises(Boom):
        not_retried.call(fail)

    pool = Bulkhead(3, name="pool")
    registry.register(pool)
    held = pool.try_enter()
    limiter = RateLimiter(10, burst=5, name="api", clock=clock)
    registry.register(limiter)
    assert limiter.try_acquire() and limiter.try_acquire()
    return registry, [held]


def test_the_text_exposition_after_a_scripted_sequence() -> None:
    registry, _keep = scripted()
    text = registry.prometheus_text()
    lines = text.splitlines()
    for expected in [
        "# TYPE seawall_circuitbreaker_state gauge",
        'seawall_circuitbreaker_state{name="db",state="closed"} 1.0',
        'seawall_circuitbreaker_state{name="db",state="open"} 0.0',
        'seawall_circuitbreaker_state{name="db",state="disabled"} 0.0',
        "# TYPE seawall_circuitbreaker_calls_total counter",
        'seawall_circuitbreaker_calls_total{name="db",kind="successful"} 2.0',
        'seawall_circuitbreaker_calls_total{name="db",kind="failed"} 2.0',
        'seawall_circuitbreaker_calls_total{name="db",kind="released"} 1.0',
        'seawall_circuitbreaker_calls_total{name="db",kind="rejected"} 2.0',
        'seawall_circuitbreaker_slow_calls_total{name="db"} 0.0',
        'seawall_circuitbreaker_failure_rate{name="db"} 0.5',
        'seawall_circuitbreaker_slow_call_rate{name="db"} 0.0',
        'seawall_circuitbreaker_transitions_total{name="db",from="closed",to="open"} 1.0',
        'seawall_circuitbreaker_transitions_total{name="db",from="open",to="half_open"} 1.0',
        'seawall_circuitbreaker_transitions_total{name="db",from="half_open",to="closed"} 1.0',
        'seawall_circuitbreaker_transitions_total{name="db",from="half_open",to="open"} 0.0',
        'seawall_retry_calls_total{name="api",kind="successful_without_retry"} 1.0',
        'seawall_retry_calls_total{name="api",kind="successful_with_retry"} 1.0',
        'seawall_retry_calls_total{name="api",kind="failed_with_retry"} 1.0',
        'seawall_retry_calls_total{name="api",kind="failed_without_retry"} 0.0',
        'seawall_retry_calls_total{name="strict",kind="failed_without_retry"} 1.0',
        'seawall_bulkhead_available_permits{name="pool"} 2.0',
        'seawall_bulkhead_max_allowed_concurrent_calls{name="pool"} 3.0',
        'seawall_ratelimiter_available_permits{name="api"} 3.0',
    ]:
        assert expected in lines, f"missing {expected!r} in\n{text}"
    # Transitions that never happened and are not of the automatic cycle are left out.
    assert 'to="forced_open"' not in text
    assert text.endswith("\n")


def test_nothing_registered_is_no_text() -> None:
    assert Registry().prometheus_text() == ""


def test_label_values_are_escaped() -> None:
    registry = Registry()
    registry.register(CircuitBreaker('a "quoted"\\name\n'))
    assert 'name="a \\"quoted\\"\\\\name\\n"' in registry.prometheus_text()


prometheus_client = pytest.importorskip("prometheus_client")


def parsed(text: str) -> Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]:
    """Every sample of ``text``, read by prometheus_client's own parser."""
    from prometheus_client.parser import text_string_to_metric_families

    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_the_text_is_valid_for_prometheus_clients_parser() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    registry, _keep = scripted()
    families = {f.name: f for f in text_string_to_metric_families(registry.prometheus_text())}
    assert families["seawall_circuitbreaker_calls"].type == "counter"
    assert families["seawall_circuitbreaker_state"].type == "gauge"
    assert families["seawall_retry_calls"].type == "counter"
    samples = parsed(registry.prometheus_text())
    key = ("seawall_circuitbreaker_calls_total", (("kind", "rejected"), ("name", "db")))
    assert samples[key] == 2.0


def test_the_collector_exposes_the_same_samples_through_prometheus_client() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    registry, _keep = scripted()
    prometheus = CollectorRegistry()
    prometheus.register(registry.collector())
    exposed = generate_latest(prometheus).decode()
    assert parsed(exposed) == parsed(registry.prometheus_text())
    assert "# TYPE seawall_circuitbreaker_transitions_total counter" in exposed
    # Read at each scrape: a change shows at the next one.
    registry.force_open("db")
    again = parsed(generate_latest(prometheus).decode())
    assert again[("seawall_circuitbreaker_state", (("name", "db"), ("state", "forced_open")))] == 1.0


def test_without_prometheus_client_the_text_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    registry, _keep = scripted()
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.setitem(sys.modules, "prometheus_client.core", None)
    with pytest.raises(ImportError, match="prometheus_text"):
        registry.collector()
    assert "seawall_circuitbreaker_state" in registry.prometheus_text()


def test_importing_the_registry_does_not_import_prometheus_client() -> None:
    code = "import sys, seawall.registry; print('prometheus_client' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the counters the metrics read ---------------------------------------------


def test_retry_stats_count_sync_calls_by_outcome() -> None:
    clock = ManualClock()
    retry = Retry(max_attempts=2, strategy="fixed", delay=1.0, clock=clock)
    assert isinstance(retry.stats, RetryStats) and retry.stats.total == 0
    retry.call(ok)
    tries: List[int] = []

    def second_time() -> None:
        tries.append(1)
        if len(tries) == 1:
            raise Boom()

    retry.call(second_time)
    with pytest.raises(Boom):
        retry.call(fail)
    stats = retry.stats
    assert (
        stats.successful_without_retry,
        stats.successful_with_retry,
        stats.failed_with_retry,
        stats.failed_without_retry,
        stats.total,
    ) == (1, 1, 1, 0, 3)


@pytest.mark.parametrize("deadline", [None, 60.0])
def test_retry_stats_count_async_calls_by_outcome(deadline: Any) -> None:
    clock = ManualClock()
    retry = Retry(
        max_attempts=2,
        strategy="fixed",
        delay=1.0,
        deadline=deadline,
        retry_on=Boom,
        clock=clock,
    )
    tries: List[int] = []

    async def first_time() -> int:
        return 1

    async def second_time() -> int:
        tries.append(1)
        if len(tries) == 1:
            raise Boom()
        return 2

    async def never() -> int:
        raise Boom()

    async def main() -> None:
        assert await retry.call_async(first_time) == 1
        assert await retry.call_async(second_time) == 2
        with pytest.raises(Boom):
            await retry.call_async(never)

        @retry
        async def not_worth_retrying() -> None:
            raise ValueError()

        with pytest.raises(ValueError):
            await not_worth_retrying()

    asyncio.run(main())
    stats = retry.stats
    assert (
        stats.successful_without_retry,
        stats.successful_with_retry,
        stats.failed_with_retry,
        stats.failed_without_retry,
    ) == (1, 1, 1, 1)


def test_rate_limiter_available_counts_the_cells_left() -> None:
    clock = ManualClock()
    limiter = RateLimiter(10, burst=3, clock=clock)
    assert limiter.available == 3
    limiter.try_acquire()
    assert limiter.available == 2
    clock.advance(0.1)
    assert limiter.available == 3
