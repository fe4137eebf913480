"""Named policies: list and control them by name, report their health, and
expose them to Prometheus.

The same registry, health report and metric names as the Rust crate
``seawall`` (``seawall::Registry``)::

    from seawall import CircuitBreaker, Retry
    from seawall.registry import Registry

    registry = Registry()
    database = CircuitBreaker("database", failure_threshold=5)
    registry.register(database, critical=True)
    registry.register(Retry(max_attempts=3), name="api")

    registry.health()            # a dict, ready for json.dumps
    registry.prometheus_text()   # the Prometheus text exposition format
    registry.collector()         # a prometheus_client collector (if installed)

Registering a breaker adds a state-change listener (to note when each state
began and to count transitions); everything else is read from the policies'
own counters when a report or a scrape asks. ``prometheus_client`` is imported
only by :meth:`Registry.collector`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Literal, Optional, Tuple, Union

from seawall._adaptive import AdaptiveLimiter
from seawall._breaker import CircuitBreaker
from seawall._fault import FaultInjector
from seawall._hedge import Hedge
from seawall._limits import Bulkhead, RateLimiter
from seawall._redis import SharedCircuitBreaker, SharedRateLimiter
from seawall._retry import Retry
from seawall._seawall import _health_status

__all__ = [
    "KINDS",
    "MetricFamily",
    "Registry",
    "REGISTRY",
]

if TYPE_CHECKING:
    from seawall._seawall import _StateName

    _Kind = Literal[
        "circuit_breaker", "retry", "bulkhead", "rate_limiter", "adaptive_limiter", "hedge", "fault_injector"
    ]
    _Breaker = Union[CircuitBreaker, SharedCircuitBreaker]
    _Limiter = Union[RateLimiter, SharedRateLimiter]
    _Policy = Union[_Breaker, Retry, Bulkhead, _Limiter, AdaptiveLimiter, Hedge, FaultInjector]

KINDS: Tuple[_Kind, ...] = (
    "circuit_breaker",
    "retry",
    "bulkhead",
    "rate_limiter",
    "adaptive_limiter",
    "hedge",
    "fault_injector",
)
"""The kinds of policy, as :meth:`Registry.names` takes them."""

_STATES = ("closed", "open", "half_open", "forced_open", "disabled")
# Exposed even before they happen, so that an increase over them starts at zero.
_USUAL_TRANSITIONS = (
    ("closed", "open"),
    ("open", "half_open"),
    ("half_open", "closed"),
    ("half_open", "open"),
)


def _kind(policy: object) -> _Kind:
    if isinstance(policy, (CircuitBreaker, SharedCircuitBreaker)):
        return "circuit_breaker"
    if isinstance(policy, Retry):
        return "retry"
    if isinstance(policy, Bulkhead):
        return "bulkhead"
    if isinstance(policy, (RateLimiter, SharedRateLimiter)):
        return "rate_limiter"
    if isinstance(policy, AdaptiveLimiter):
        return "adaptive_limiter"
    if isinstance(policy, Hedge):
        return "hedge"
    if isinstance(policy, FaultInjector):
        return "fault_injector"
    raise TypeError(
        "policy must be a seawall CircuitBreaker, Retry, Bulkhead, RateLimiter, "
        f"AdaptiveLimiter, Hedge or FaultInjector (or a shared breaker or limiter), not {type(policy).__name__}"
    )


def _rfc3339(seconds: float) -> str:
    """``seconds`` since the epoch in RFC 3339, UTC, with milliseconds."""
    whole = int(seconds // 1)
    millis = min(int((seconds - whole) * 1000), 999)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


@dataclass
class MetricFamily:
    """One metric family: what both :meth:`Registry.prometheus_text` and
    :meth:`Registry.collector` expose."""

    name: str
    """The family's name; counters end in ``_total``."""
    type: Literal["counter", "gauge"]
    help: str
    label_names: Tuple[str, ...]
    samples: List[Tuple[Tuple[str, ...], float]] = field(default_factory=list)
    """``(label values, value)`` pairs."""


class _Track:
    """What the registry notes about one breaker: when its state began, and
    its transitions by (from, to). Fed by the breaker's state-change listener
    (a shared breaker's runs on a background thread)."""

    def __init__(self, breaker: _Breaker, critical: bool) -> None:
        self.breaker = breaker
        self.critical = critical
        self.lock = threading.Lock()
        self.since = self.now()
        self.transitions: Dict[Tuple[str, str], int] = {}

    @property
    def shared(self) -> bool:
        return isinstance(self.breaker, SharedCircuitBreaker)

    def now(self) -> float:
        clock = getattr(self.breaker, "clock", None)
        return clock.now() if clock is not None else time.monotonic()

    def __call__(self, breaker: object, old: str, new: str) -> None:
        now = self.now()
        with self.lock:
            self.since = now
            self.transitions[(old, new)] = self.transitions.get((old, new), 0) + 1


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class Registry:
    """Named policies: circuit breakers, retry policies, bulkheads, rate
    limiters, adaptive limiters, hedges and fault injectors. Names are unique
    within a kind.

    Thread-safe. A registered policy is kept alive by the registry until
    :meth:`unregister`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._breakers: Dict[str, _Track] = {}
        self._retries: Dict[str, Retry] = {}
        self._bulkheads: Dict[str, Bulkhead] = {}
        self._rate_limiters: Dict[str, _Limiter] = {}
        self._adaptive_limiters: Dict[str, AdaptiveLimiter] = {}
        self._hedges: Dict[str, Hedge] = {}
        self._fault_injectors: Dict[str, FaultInjector] = {}

    def _table(self, kind: str) -> Dict[str, Any]:
        tables: Dict[str, Dict[str, Any]] = {
            "circuit_breaker": self._breakers,
            "retry": self._retries,
            "bulkhead": self._bulkheads,
            "rate_limiter": self._rate_limiters,
            "adaptive_limiter": self._adaptive_limiters,
            "hedge": self._hedges,
            "fault_injector": self._fault_injectors,
        }
        try:
            return tables[kind]
        except KeyError:
            raise ValueError(f"invalid kind: must be one of {', '.join(KINDS)}, not {kind!r}") from None

    def register(self, policy: _Policy, *, name: Optional[str] = None, critical: bool = False) -> None:
        """Registers ``policy`` under ``name`` (default: its own ``name``; a
        :class:`~seawall.Retry` and a :class:`~seawall.Hedge` have none and
        need one).

        ``critical`` (breakers only): while the breaker is open, :meth:`health`
        says ``"unhealthy"``. Raises ``ValueError`` if the name is taken by a
        policy of the same kind.
        """
        kind = _kind(policy)
        if name is None:
            if isinstance(policy, (Retry, Hedge)):
                kind_name = type(policy).__name__
                raise TypeError(f"a {kind_name} has no name of its own: register(policy, name=...)")
            name = policy.name
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str, not {name!r}")
        if critical and kind != "circuit_breaker":
            raise ValueError("invalid critical: only a circuit breaker can be critical")
        with self._lock:
            table = self._table(kind)
            if name in table:
                raise ValueError(f"a {kind} named {name!r} is already registered")
            if isinstance(policy, (CircuitBreaker, SharedCircuitBreaker)):
                track = _Track(policy, critical)
                policy.add_listener(track)
                table[name] = track
            else:
                table[name] = policy

    def unregister(self, kind: _Kind, name: str) -> bool:
        """Forgets the policy of ``kind`` named ``name``; False if there was none."""
        with self._lock:
            entry = self._table(kind).pop(name, None)
        if isinstance(entry, _Track):
            entry.breaker.remove_listener(entry)
        return entry is not None

    def names(self, kind: _Kind) -> List[str]:
        """The names registered for ``kind``, sorted."""
        with self._lock:
            return sorted(self._table(kind))

    def breaker(self, name: str) -> Optional[_Breaker]:
        """The breaker registered as ``name``, or None."""
        with self._lock:
            track = self._breakers.get(name)
        return track.breaker if track is not None else None

    def retry(self, name: str) -> Optional[Retry]:
        """The retry policy registered as ``name``, or None."""
        with self._lock:
            return self._retries.get(name)

    def bulkhead(self, name: str) -> Optional[Bulkhead]:
        """The bulkhead registered as ``name``, or None."""
        with self._lock:
            return self._bulkheads.get(name)

    def rate_limiter(self, name: str) -> Optional[_Limiter]:
        """The rate limiter registered as ``name``, or None."""
        with self._lock:
            return self._rate_limiters.get(name)

    def adaptive_limiter(self, name: str) -> Optional[AdaptiveLimiter]:
        """The adaptive limiter registered as ``name``, or None."""
        with self._lock:
            return self._adaptive_limiters.get(name)

    def hedge(self, name: str) -> Optional[Hedge]:
        """The hedge registered as ``name``, or None."""
        with self._lock:
            return self._hedges.get(name)

    def fault_injector(self, name: str) -> Optional[FaultInjector]:
        """The fault injector registered as ``name``, or None: switch it on
        and off at run time with its ``enable()`` and ``disable()``."""
        with self._lock:
            return self._fault_injectors.get(name)

    def _get_breaker(self, name: str) -> _Breaker:
        breaker = self.breaker(name)
        if breaker is None:
            raise KeyError(f"no circuit_breaker named {name!r} is registered")
        return breaker

    def force_open(self, name: str) -> None:
        """Opens the breaker ``name`` until reset (``KeyError`` if unknown); a
        shared breaker's for the whole fleet (``RedisUnavailableError`` when
        Redis does not answer)."""
        self._get_breaker(name).force_open()

    def disable(self, name: str) -> None:
        """Lets every call through the breaker ``name`` (``KeyError`` if unknown)."""
        self._get_breaker(name).disable()

    def reset(self, name: str) -> None:
        """Closes the breaker ``name`` (``KeyError`` if unknown)."""
        self._get_breaker(name).reset()

    def _tracks(self) -> List[Tuple[str, _Track]]:
        with self._lock:
            return sorted(self._breakers.items())

    @staticmethod
    def _rates(breaker: _Breaker) -> Tuple[float, float]:
        """The failure and slow-call rates the breaker decides on: over its
        window if it has one, else over every call."""
        if breaker.has_window:
            totals = breaker.window_totals()
            return totals.failure_rate, totals.slow_call_rate
        stats = breaker.stats
        return stats.failure_rate, stats.slow_call_rate

    def health(self) -> Dict[str, Any]:
        """The health of every registered breaker, as a dict (JSON-ready)::

            {"status": "healthy" | "degraded" | "unhealthy",
             "breakers": [{"name", "state", "critical", "shared", "failure_rate",
                           "slow_call_rate", "since", "in_state_seconds",
                           "calls": {"successful", "failed", "released", "rejected"}}]}

        Unhealthy when a critical breaker is open; degraded when some breaker
        is not closed, or a shared breaker cannot reach Redis (its line then
        says ``"fallback": True``); healthy otherwise. A breaker in shadow mode
        (its line says ``"shadow": True``) rejects nothing and never changes
        the status. The rule is the Rust core's, as for the Rust crate's
        report. ``since`` is when the breaker entered
        its state (or was registered, if it has not changed since), RFC 3339
        UTC; ``in_state_seconds`` is measured on the breaker's clock.
        """
        wall = time.time()
        lines: List[Dict[str, Any]] = []
        conditions: List[Tuple[_StateName, bool, bool, bool]] = []
        for name, track in self._tracks():
            breaker = track.breaker
            stats = breaker.stats
            with track.lock:
                in_state = max(track.now() - track.since, 0.0)
            failure_rate, slow_call_rate = self._rates(breaker)
            fallback = track.shared and bool(getattr(breaker, "is_fallback"))
            shadow = bool(getattr(breaker, "shadow", False))
            conditions.append((stats.state, track.critical, fallback, shadow))
            line: Dict[str, Any] = {
                "name": name,
                "state": stats.state,
                "critical": track.critical,
                "shared": track.shared,
                "failure_rate": failure_rate,
                "slow_call_rate": slow_call_rate,
                "since": _rfc3339(wall - in_state),
                "in_state_seconds": in_state,
                "calls": {
                    "successful": stats.successful,
                    "failed": stats.failed,
                    "released": stats.released,
                    "rejected": stats.rejected,
                },
            }
            if fallback:
                line["fallback"] = True
            if shadow:
                line["shadow"] = True
            lines.append(line)
        report: Dict[str, Any] = {"status": _health_status(conditions), "breakers": lines}
        with self._lock:
            limiters = sorted(self._adaptive_limiters.items())
        if limiters:
            # Where each limit stands; it does not change the status.
            report["limiters"] = [
                {
                    "name": name,
                    "algorithm": limiter.algorithm,
                    "limit": limiter.limit,
                    "in_flight": limiter.in_flight,
                    "baseline_seconds": limiter.baseline,
                    "calls": {
                        "successful": counts["succeeded"],
                        "failed": counts["overloaded"],
                        "released": counts["released"],
                        "rejected": counts["rejected"],
                    },
                }
                for name, limiter in limiters
                for counts in (limiter.counts,)
            ]
        return report

    def metric_families(self) -> List[MetricFamily]:
        """Every metric of the registered policies, read now. Families with
        no sample are left out."""
        families = list(self._breaker_families()) + list(self._other_families())
        return [family for family in families if family.samples]

    def _breaker_families(self) -> Iterator[MetricFamily]:
        tracks = self._tracks()
        # With a shared breaker registered, every breaker's series say whether
        # it is shared; without one, the label is left out.
        any_shared = any(track.shared for _, track in tracks)
        sh: Tuple[str, ...] = ("shared",) if any_shared else ()
        state = MetricFamily(
            "seawall_circuitbreaker_state",
            "gauge",
            "The state of the circuit breaker: 1 for the current state, 0 for the others.",
            ("name", *sh, "state"),
        )
        calls = MetricFamily(
            "seawall_circuitbreaker_calls_total",
            "counter",
            "Calls through the circuit breaker, by outcome (released: ended without an "
            "outcome, as ignored errors and cancelled calls).",
            ("name", *sh, "kind"),
        )
        slow = MetricFamily(
            "seawall_circuitbreaker_slow_calls_total",
            "counter",
            "Calls slower than the circuit breaker's slow_call_duration.",
            ("name", *sh),
        )
        failure_rate = MetricFamily(
            "seawall_circuitbreaker_failure_rate",
            "gauge",
            "The failure rate (0 to 1) over the sliding window, or over every call "
            "without a window.",
            ("name", *sh),
        )
        slow_rate = MetricFamily(
            "seawall_circuitbreaker_slow_call_rate",
            "gauge",
            "The slow-call rate (0 to 1) over the sliding window, or over every call "
            "without a window.",
            ("name", *sh),
        )
        shadow = MetricFamily(
            "seawall_circuitbreaker_shadow_rejections_total",
            "counter",
            "Calls a circuit breaker in shadow mode would have rejected, and let through.",
            ("name",),
        )
        transitions = MetricFamily(
            "seawall_circuitbreaker_transitions_total",
            "counter",
            "State transitions of the circuit breaker.",
            ("name", *sh, "from", "to"),
        )
        fallback = MetricFamily(
            "seawall_shared_fallback",
            "gauge",
            "1 while a policy shared through Redis cannot reach it and decides locally.",
            ("kind", "name"),
        )
        corrupt = MetricFamily(
            "seawall_shared_corrupt_reads_total",
            "counter",
            "Corrupt states a shared circuit breaker read from Redis (and repaired).",
            ("name",),
        )
        for name, track in tracks:
            breaker = track.breaker
            stats = breaker.stats
            who: Tuple[str, ...] = (name, "true" if track.shared else "false")[: 1 + len(sh)]
            for s in _STATES:
                state.samples.append(((*who, s), 1.0 if stats.state == s else 0.0))
            # A shadow breaker rejects nothing: what it would have rejected
            # has its own family.
            in_shadow = getattr(breaker, "shadow", False)
            for kind, value in (
                ("successful", stats.successful),
                ("failed", stats.failed),
                ("released", stats.released),
                ("rejected", 0 if in_shadow else stats.rejected),
            ):
                calls.samples.append(((*who, kind), float(value)))
            if in_shadow:
                shadow.samples.append(((name,), float(stats.rejected)))
            slow.samples.append((who, float(stats.slow)))
            failure, slow_call = self._rates(breaker)
            failure_rate.samples.append((who, failure))
            slow_rate.samples.append((who, slow_call))
            with track.lock:
                seen = dict(track.transitions)
            for old in _STATES:
                for new in _STATES:
                    count = seen.get((old, new), 0)
                    if count or (old, new) in _USUAL_TRANSITIONS:
                        transitions.samples.append(((*who, old, new), float(count)))
            if isinstance(breaker, SharedCircuitBreaker):
                fallback.samples.append((("circuit_breaker", name), float(breaker.is_fallback)))
                corrupt.samples.append(((name,), float(breaker.corrupt_reads)))
        with self._lock:
            limiters = sorted(self._rate_limiters.items())
        for name, limiter in limiters:
            if isinstance(limiter, SharedRateLimiter):
                fallback.samples.append((("rate_limiter", name), float(limiter.is_fallback)))
        yield from (
            state, calls, shadow, slow, failure_rate, slow_rate, transitions, fallback, corrupt
        )

    def _other_families(self) -> Iterable[MetricFamily]:
        with self._lock:
            retries = sorted(self._retries.items())
            bulkheads = sorted(self._bulkheads.items())
            limiters = sorted(self._rate_limiters.items())
            adaptive = sorted(self._adaptive_limiters.items())
        retry_calls = MetricFamily(
            "seawall_retry_calls_total",
            "counter",
            "Calls made under the retry policy, by outcome.",
            ("name", "kind"),
        )
        for name, retry in retries:
            stats = retry.stats
            for kind in (
                "successful_without_retry",
                "successful_with_retry",
                "failed_with_retry",
                "failed_without_retry",
            ):
                retry_calls.samples.append(((name, kind), float(getattr(stats, kind))))
        available = MetricFamily(
            "seawall_bulkhead_available_permits",
            "gauge",
            "Places free in the bulkhead now.",
            ("name",),
        )
        maximum = MetricFamily(
            "seawall_bulkhead_max_allowed_concurrent_calls",
            "gauge",
            "The most calls the bulkhead lets run at once.",
            ("name",),
        )
        for name, bulkhead in bulkheads:
            available.samples.append(((name,), float(bulkhead.available)))
            maximum.samples.append(((name,), float(bulkhead.max_concurrent)))
        cells = MetricFamily(
            "seawall_ratelimiter_available_permits",
            "gauge",
            "Calls the rate limiter would admit now without waiting.",
            ("name",),
        )
        refusals = MetricFamily(
            "seawall_ratelimiter_shadow_refusals_total",
            "counter",
            "Calls a rate limiter in shadow mode would have refused, and let through.",
            ("name",),
        )
        requests = MetricFamily(
            "seawall_ratelimiter_calls_total",
            "counter",
            "Requests of this process to a shared rate limiter, by outcome.",
            ("name", "kind", "shared"),
        )
        for name, limiter in limiters:
            if isinstance(limiter, SharedRateLimiter):
                admitted, refused = limiter.counts
                requests.samples.append(((name, "admitted", "true"), float(admitted)))
                requests.samples.append(((name, "refused", "true"), float(refused)))
                continue
            cells.samples.append(((name,), float(limiter.available)))
            if getattr(limiter, "shadow", False):
                refusals.samples.append(((name,), float(limiter.shadow_refusals)))
        return (
            retry_calls,
            available,
            maximum,
            cells,
            refusals,
            requests,
            *self._adaptive_families(retries, adaptive),
            *self._chaos_families(),
        )

    def _chaos_families(self) -> Tuple[MetricFamily, ...]:
        """Hedges and fault injectors: the names of the Rust crate's metrics."""
        with self._lock:
            hedges = sorted(self._hedges.items())
            injectors = sorted(self._fault_injectors.items())
        counters = [
            ("calls", "Calls made through the hedge."),
            ("sent", "Hedges sent: attempts beyond each call's first."),
            ("won", "Calls answered by a hedge rather than by their first attempt."),
            ("refused", "Hedges due that the retry budget or quota refused."),
            ("cancelled", "Attempts cancelled in flight: another answered first, or the call ended."),
        ]
        families = [
            MetricFamily(f"seawall_hedge_{key}_total", "counter", help, ("name",)) for key, help in counters
        ]
        for name, hedge in hedges:
            stats = hedge.stats
            values = (stats.calls, stats.hedges, stats.won, stats.refused, stats.cancelled)
            for family, value in zip(families, values):
                family.samples.append(((name,), float(value)))
        enabled = MetricFamily(
            "seawall_fault_enabled", "gauge", "1 while the fault injector's plan is on, 0 while it is off.", ("name",)
        )
        injected = MetricFamily(
            "seawall_fault_injected_total",
            "counter",
            "Faults injected, by kind (error: calls failed; latency: calls delayed; outcome: calls replaced).",
            ("name", "kind"),
        )
        for name, injector in injectors:
            enabled.samples.append(((name,), 1.0 if injector.enabled else 0.0))
            counts = injector.counts
            for kind, value in (("error", counts.errors), ("latency", counts.latency), ("outcome", counts.outcomes)):
                injected.samples.append(((name, kind), float(value)))
        return (*families, enabled, injected)

    @staticmethod
    def _adaptive_families(
        retries: List[Tuple[str, Retry]], limiters: List[Tuple[str, AdaptiveLimiter]]
    ) -> Tuple[MetricFamily, ...]:
        limit = MetricFamily(
            "seawall_adaptivelimiter_limit", "gauge", "The adaptive limiter's current limit on calls in flight.", ("name",)
        )
        in_flight = MetricFamily(
            "seawall_adaptivelimiter_in_flight_calls", "gauge", "Calls in flight under the adaptive limiter now.", ("name",)
        )
        calls = MetricFamily(
            "seawall_adaptivelimiter_calls_total",
            "counter",
            "Calls through the adaptive limiter, by outcome (overloaded: a sign of overload; "
            "released: ended without an outcome; rejected: refused at the limit).",
            ("name", "kind"),
        )
        for name, limiter in limiters:
            limit.samples.append(((name,), float(limiter.limit)))
            in_flight.samples.append(((name,), float(limiter.in_flight)))
            counts = limiter.counts
            for kind, key in (
                ("successful", "succeeded"),
                ("overloaded", "overloaded"),
                ("released", "released"),
                ("rejected", "rejected"),
            ):
                calls.samples.append(((name, kind), float(counts[key])))
        quota = MetricFamily("seawall_retry_quota_available", "gauge", "The retry quota's capacity left now.", ("name",))
        throttled = MetricFamily(
            "seawall_retry_throttled_responses_total",
            "counter",
            "Throttling errors the retry policy's adaptive rate has seen.",
            ("name",),
        )
        send_rate = MetricFamily(
            "seawall_retry_send_rate",
            "gauge",
            "The attempts per second the adaptive rate paces to (0 until the first throttling error: unpaced).",
            ("name",),
        )
        for name, retry in retries:
            if retry.quota is not None:
                quota.samples.append(((name,), float(retry.quota.available)))
            rate = retry.adaptive_rate
            if rate is not None:
                throttled.samples.append(((name,), float(rate.throttled)))
                send_rate.samples.append(((name,), rate.fill_rate if rate.enabled else 0.0))
        return (limit, in_flight, calls, quota, throttled, send_rate)

    def prometheus_text(self) -> str:
        """Every metric in the Prometheus text exposition format (version
        0.0.4, ``Content-Type: text/plain; version=0.0.4``), without needing
        ``prometheus_client``."""
        out: List[str] = []
        for family in self.metric_families():
            out.append(f"# HELP {family.name} {family.help}")
            out.append(f"# TYPE {family.name} {family.type}")
            for values, value in family.samples:
                labels = ",".join(
                    f'{key}="{_escape(v)}"' for key, v in zip(family.label_names, values)
                )
                out.append(f"{family.name}{{{labels}}} {_number(value)}")
        return "\n".join(out) + "\n" if out else ""

    def collector(self) -> Any:
        """A ``prometheus_client`` collector of every metric, read at each
        scrape: ``prometheus_client.REGISTRY.register(registry.collector())``.

        Raises ``ImportError`` when ``prometheus_client`` is not installed
        (it is not a dependency of seawall; :meth:`prometheus_text` needs
        nothing).
        """
        try:
            import prometheus_client.core  # noqa: F401
        except ImportError as error:
            raise ImportError(
                "Registry.collector() needs prometheus_client (pip install prometheus-client); "
                "Registry.prometheus_text() works without it"
            ) from error
        return _Collector(self)


class _Collector:
    """A ``prometheus_client`` collector that reads a registry at each scrape."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        for family in self.registry.metric_families():
            metric: Any
            if family.type == "counter":
                metric = CounterMetricFamily(
                    family.name[: -len("_total")], family.help, labels=family.label_names
                )
            else:
                metric = GaugeMetricFamily(family.name, family.help, labels=family.label_names)
            for values, value in family.samples:
                metric.add_metric(list(values), value)
            yield metric

    def describe(self) -> List[Any]:
        # Nothing fixed to describe: the families depend on what is registered.
        return []


REGISTRY = Registry()
"""A process-wide registry, for applications that need only one."""
