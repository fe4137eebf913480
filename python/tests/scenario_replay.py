"""Replays the shared scenario files (tests/scenarios/) through the Python API.

Strict like the Rust replayer: an unknown key, op, policy, state or reason is
an error, so a typo can never turn an expectation into a step that checks nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import asyncio
import selectors

from seawall import (
    AdaptiveLimiter,
    AdaptiveRate,
    AttemptTimeout,
    Bulkhead,
    BulkheadFullError,
    BulkheadPermit,
    CircuitBreaker,
    CircuitOpenError,
    LimiterPermit,
    Permit,
    RateLimitedError,
    RateLimiter,
    Retry,
    RetryBudget,
    RetryQuota,
    TimeoutExceededError,
    timeout,
)
from seawall.testing import ManualClock

DIRECTORY = Path(__file__).resolve().parents[2] / "tests" / "scenarios"

STATES = {"closed", "open", "half_open", "forced_open", "disabled"}
REASONS = {"open", "half_open_full", "forced_open"}
MISSING = object()


class ScenarioError(AssertionError):
    """A step whose result differs from the expectation, or a malformed file."""


def files() -> List[Path]:
    """Every scenario file, sorted by name."""
    return sorted(DIRECTORY.glob("*.json"))


def keys(where: str, value: Dict[str, Any], required: set, optional: set) -> None:
    unknown = set(value) - required - optional
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {sorted(unknown)}")
    missing = required - set(value)
    if missing:
        raise ScenarioError(f"{where}: missing field(s) {sorted(missing)}")


def check(what: str, expected: Any, actual: Any) -> None:
    if expected != actual:
        raise ScenarioError(f"{what}: expected {expected!r}, got {actual!r}")


def ms_to_seconds(ms: Any, where: str) -> float:
    if not isinstance(ms, int) or isinstance(ms, bool) or ms < 0:
        raise ScenarioError(f"{where}: not a whole number of milliseconds: {ms!r}")
    return ms / 1000


def replay(scenario: Dict[str, Any]) -> None:
    """Replays one parsed scenario; raises ScenarioError at the first difference."""
    keys("scenario", scenario, {"description", "policy", "steps"}, {"start_ms", "config"})
    replayers: Dict[str, Callable[[Dict[str, Any]], None]] = {
        "circuit_breaker": replay_breaker,
        "retry": replay_retry,
        "rate_limiter": replay_rate_limiter,
        "bulkhead": replay_bulkhead,
        "composition": replay_composition,
        "adaptive_limiter": replay_adaptive_limiter,
        "adaptive_rate": replay_adaptive_rate,
        "attempt_timeout": replay_attempt_timeout,
    }
    policy = scenario["policy"]
    if policy not in replayers:
        raise ScenarioError(f"unknown policy {policy!r}")
    replayers[policy](scenario)


def replay_file(path: Path) -> None:
    replay(json.loads(path.read_text()))


# --- circuit_breaker -------------------------------------------------------

BREAKER_CONFIG = {
    "failure_threshold": "failure_threshold",
    "success_threshold": "success_threshold",
    "half_open_max_calls": "half_open_max_calls",
    "open_duration_ms": "timeout",
    "open_duration_multiplier": "open_duration_multiplier",
    "max_open_duration_ms": "max_open_duration",
    "max_wait_in_half_open_ms": "max_wait_in_half_open",
    "failure_rate_threshold": "failure_rate_threshold",
    "slow_call_rate_threshold": "slow_call_rate_threshold",
    "slow_call_duration_ms": "slow_call_duration",
    "minimum_calls": "minimum_calls",
}

STEP_FIELDS = {
    "advance": ({"ms"}, set()),
    "set_time": ({"ms"}, set()),
    "acquire": (set(), {"permit", "rejected", "retry_after_ms", "transition", "probe"}),
    "call": ({"outcome"}, {"latency_ms", "repeat", "transition"}),
    "record": ({"permit", "outcome"}, {"latency_ms", "transition"}),
    "release": ({"permit"}, set()),
    "force_open": (set(), {"transition"}),
    "disable": (set(), {"transition"}),
    "reset": (set(), {"transition"}),
    "expect_state": ({"state"}, set()),
    "expect_stats": (
        set(),
        {"permitted", "successful", "failed", "slow", "rejected", "released", "state_transitions"},
    ),
    "expect_window": (set(), {"calls", "failed", "slow"}),
}


def breaker_arguments(config: Dict[str, Any]) -> Dict[str, Any]:
    """The CircuitBreaker keyword arguments that a scenario's config describes."""
    arguments: Dict[str, Any] = {}
    for key, value in config.items():
        if key == "window":
            window = dict(value)
            kind = window.pop("kind", None)
            if kind == "count":
                keys("config.window", window, {"size"}, set())
                arguments["window_size"] = window["size"]
            elif kind == "time":
                keys("config.window", window, {"duration_ms", "buckets"}, set())
                arguments["window_duration"] = ms_to_seconds(window["duration_ms"], "window")
                arguments["window_buckets"] = window["buckets"]
            else:
                raise ScenarioError(f"config.window: unknown kind {kind!r}")
        elif key in BREAKER_CONFIG:
            name = BREAKER_CONFIG[key]
            arguments[name] = ms_to_seconds(value, key) if key.endswith("_ms") else value
        else:
            raise ScenarioError(f"config: unknown field {key!r}")
    return arguments


def parse_transition(text: str) -> str:
    parts = text.split("->")
    if len(parts) != 2 or parts[0].strip() not in STATES or parts[1].strip() not in STATES:
        raise ScenarioError(f"transition {text!r} is not \"from->to\" between known states")
    return f"{parts[0].strip()}->{parts[1].strip()}"


def outcome_of(step: Dict[str, Any]) -> str:
    outcome = step["outcome"]
    if outcome not in ("success", "failure"):
        raise ScenarioError(f"unknown outcome {outcome!r}")
    return str(outcome)


class Failure(Exception):
    """The error of a call whose scenario outcome is `failure`."""


def replay_breaker(scenario: Dict[str, Any]) -> None:
    clock = ManualClock(ms_to_seconds(scenario.get("start_ms", 0), "start_ms"))
    events: List[str] = []
    breaker = CircuitBreaker(
        "scenario",
        clock=clock,
        on_state_change=lambda _breaker, old, new: events.append(f"{old}->{new}"),
        **breaker_arguments(scenario.get("config") or {}),
    )
    permits: Dict[str, Permit] = {}

    def check_transition(step: Dict[str, Any], caused: List[str]) -> None:
        expected = step.get("transition", MISSING)
        if expected is MISSING:
            return
        check("transitions", [] if expected is None else [parse_transition(expected)], caused)

    def latency(step: Dict[str, Any]) -> Optional[float]:
        value = step.get("latency_ms")
        return None if value is None else ms_to_seconds(value, "latency_ms")

    # As in the Rust replayer, a `call` step's transition is the one its outcome
    # caused; the transition of its admission (open->half_open) is not part of it.
    def succeed() -> str:
        events.clear()
        return "ok"

    def fail() -> str:
        events.clear()
        raise Failure()

    for index, step in enumerate(scenario["steps"]):
        try:
            if not isinstance(step, dict) or step.get("op") not in STEP_FIELDS:
                raise ScenarioError(f"unknown op {step.get('op') if isinstance(step, dict) else step!r}")
            op = step["op"]
            required, optional = STEP_FIELDS[op]
            keys(op, {k: v for k, v in step.items() if k != "op"}, required, optional)
            events.clear()
            if op == "advance":
                clock.advance(ms_to_seconds(step["ms"], "ms"))
            elif op == "set_time":
                clock.set(ms_to_seconds(step["ms"], "ms"))
            elif op == "acquire":
                replay_acquire(breaker, step, permits, events, check_transition)
            elif op == "call":
                repeat = step.get("repeat", 1)
                outcome = outcome_of(step)
                for i in range(repeat):
                    events.clear()
                    try:
                        if step.get("latency_ms") is None:
                            try:
                                breaker.call(succeed if outcome == "success" else fail)
                            except Failure:
                                pass
                        else:
                            permit = breaker.acquire()
                            events.clear()
                            if outcome == "success":
                                permit.success(latency=latency(step))
                            else:
                                permit.failure(latency=latency(step))
                    except CircuitOpenError as error:
                        raise ScenarioError(f"call {i + 1} of {repeat} rejected: {error}") from error
                    if i + 1 < repeat:
                        check("transitions before the last repetition", [], events)
                    else:
                        check_transition(step, events)
            elif op == "record":
                if step["permit"] not in permits:
                    raise ScenarioError(f"no permit {step['permit']!r}")
                permit = permits.pop(step["permit"])
                if outcome_of(step) == "success":
                    permit.success(latency=latency(step))
                else:
                    permit.failure(latency=latency(step))
                check_transition(step, events)
            elif op == "release":
                if step["permit"] not in permits:
                    raise ScenarioError(f"no permit {step['permit']!r}")
                permits.pop(step["permit"]).release()
            elif op in ("force_open", "disable", "reset"):
                getattr(breaker, op)()
                check_transition(step, events)
            elif op == "expect_state":
                if step["state"] not in STATES:
                    raise ScenarioError(f"unknown state {step['state']!r}")
                check("state", step["state"], breaker.state)
            elif op == "expect_stats":
                stats = breaker.stats
                for key, expected in step.items():
                    if key != "op":
                        check(key, expected, getattr(stats, key))
            elif op == "expect_window":
                totals = breaker.window_totals()
                for key, expected in step.items():
                    if key != "op":
                        check(f"window {key}", expected, getattr(totals, key))
        except ScenarioError as error:
            raise ScenarioError(f"step {index} ({json.dumps(step)}): {error}") from None


def replay_acquire(
    breaker: CircuitBreaker,
    step: Dict[str, Any],
    permits: Dict[str, Permit],
    events: List[str],
    check_transition: Callable[[Dict[str, Any], List[str]], None],
) -> None:
    name, rejected = step.get("permit"), step.get("rejected")
    if (name is None) == (rejected is None):
        raise ScenarioError("acquire takes exactly one of permit and rejected")
    if name is not None:
        if "retry_after_ms" in step:
            raise ScenarioError("retry_after_ms only goes with rejected")
        try:
            permit = breaker.acquire()
        except CircuitOpenError as error:
            raise ScenarioError(f"rejected: {error}") from error
        check_transition(step, events)
        if "probe" in step:
            check("probe", step["probe"], permit.is_probe)
        if name in permits:
            raise ScenarioError(f"permit {name!r} is already held")
        permits[name] = permit
        return
    if "probe" in step:
        raise ScenarioError("probe only goes with permit")
    if rejected not in REASONS:
        raise ScenarioError(f"unknown rejection reason {rejected!r}")
    try:
        breaker.acquire().release()
    except CircuitOpenError as error:
        check("reason", rejected, error.reason)
        if "retry_after_ms" in step:
            expected = step["retry_after_ms"]
            actual = error.retry_after
            check(
                "retry_after (ns)",
                None if expected is None else expected * 1_000_000,
                None if actual is None else round(actual * 1e9),
            )
        check_transition(step, events)
        return
    raise ScenarioError("admitted, expected a rejection")


# --- common --------------------------------------------------------------------


def run_steps(
    scenario: Dict[str, Any],
    fields: Dict[str, Any],
    clock: ManualClock,
    handle: Callable[[str, Dict[str, Any]], None],
) -> None:
    """Checks each step's fields strictly, runs the common ops, hands the others to `handle`."""
    fields = {"advance": ({"ms"}, set()), "set_time": ({"ms"}, set()), **fields}
    for index, step in enumerate(scenario["steps"]):
        try:
            if not isinstance(step, dict) or step.get("op") not in fields:
                raise ScenarioError(f"unknown op {step.get('op') if isinstance(step, dict) else step!r}")
            op = step["op"]
            required, optional = fields[op]
            keys(op, {k: v for k, v in step.items() if k != "op"}, required, optional)
            if op == "advance":
                clock.advance(ms_to_seconds(step["ms"], "ms"))
            elif op == "set_time":
                clock.set(ms_to_seconds(step["ms"], "ms"))
            else:
                handle(op, step)
        except ScenarioError as error:
            raise ScenarioError(f"step {index} ({json.dumps(step)}): {error}") from None


def exactly_one(step: Dict[str, Any], names: List[str]) -> str:
    present = [name for name in names if name in step]
    if len(present) != 1:
        raise ScenarioError(f"{step['op']} takes exactly one of {', '.join(names)}")
    return present[0]


def nanos(seconds: float) -> int:
    return round(seconds * 1e9)


# --- retry -----------------------------------------------------------------------

# Each strategy's keys: the Retry arguments, with `_ms`.
STRATEGIES = {
    "fixed": {"delay_ms"},
    "linear": {"initial_delay_ms", "increment_ms", "max_delay_ms"},
    "exponential": {"initial_delay_ms", "multiplier", "max_delay_ms"},
    "decorrelated_jitter": {"base_delay_ms", "max_delay_ms"},
}
GIVE_UPS = {"attempts_exhausted", "deadline_reached", "budget_empty", "not_retryable"}


KINDS = {"transient", "throttling", "timeout"}


class AttemptFailed(Exception):
    """A failed attempt of a retry scenario, with what the scenario says about it."""

    def __init__(self, retryable: bool, retry_after: Optional[float], kind: str = "transient") -> None:
        super().__init__(retryable, retry_after)
        self.retryable = retryable
        self.kind = kind
        if retry_after is not None:
            self.retry_after = retry_after


class AttemptTimedOut(AttemptFailed, TimeoutError):
    """A failed attempt of kind ``timeout``: a ``TimeoutError``, as a real one would be."""


def retry_arguments(config: Dict[str, Any]) -> Dict[str, Any]:
    keys("config", config, set(), {"max_attempts", "strategy", "jitter", "deadline_ms", "seed", "budget", "quota"})
    arguments: Dict[str, Any] = {"seed": config.get("seed", 0)}
    if "max_attempts" in config:
        arguments["max_attempts"] = config["max_attempts"]
    if "jitter" in config:
        arguments["jitter"] = config["jitter"]
    if "deadline_ms" in config:
        arguments["deadline"] = ms_to_seconds(config["deadline_ms"], "deadline_ms")
    if "strategy" in config:
        strategy = dict(config["strategy"])
        kind = strategy.pop("kind", None)
        if kind not in STRATEGIES:
            raise ScenarioError(f"config.strategy: unknown kind {kind!r}")
        keys("config.strategy", strategy, STRATEGIES[kind], set())
        arguments["strategy"] = kind
        for key, value in strategy.items():
            if key.endswith("_ms"):
                arguments[key[: -len("_ms")]] = ms_to_seconds(value, key)
            else:
                arguments[key] = value
    if "budget" in config:
        keys("config.budget", config["budget"], {"max_tokens", "token_ratio"}, set())
        arguments["budget"] = RetryBudget(**config["budget"])
    if "quota" in config:
        if "budget" in config:
            raise ScenarioError("config: a budget or a quota, not both")
        quota = dict(config["quota"])
        keys("config.quota", quota, {"capacity"}, {"transient_cost", "throttling_cost", "timeout_cost", "success_reward"})
        arguments["quota"] = RetryQuota(quota.pop("capacity"), **quota)
    return arguments


def replay_retry(scenario: Dict[str, Any]) -> None:
    clock = ManualClock(ms_to_seconds(scenario.get("start_ms", 0), "start_ms"))
    arguments = retry_arguments(scenario.get("config") or {})
    policy = Retry(
        clock=clock,
        retry_on=lambda error: getattr(error, "retryable", True),
        throttle_on=lambda error: getattr(error, "kind", None) == "throttling",
        **arguments,
    )
    budget: Optional[RetryBudget] = arguments.get("budget")
    quota: Optional[RetryQuota] = arguments.get("quota")
    call: List[Any] = []  # the call in progress, if any

    def current() -> Any:
        if not call:
            raise ScenarioError("no call in progress: start one first")
        return call[0]

    def handle(op: str, step: Dict[str, Any]) -> None:
        if op == "start":
            call[:] = [policy._start()]
        elif op == "fail":
            expected = exactly_one(step, ["delay_ms", "delay_ns", "give_up"])
            retry_after = step.get("retry_after_ms")
            kind = step.get("kind", "transient")
            if kind not in KINDS:
                raise ScenarioError(f"unknown kind {kind!r}")
            error = (AttemptTimedOut if kind == "timeout" else AttemptFailed)(
                step.get("retryable", True),
                None if retry_after is None else ms_to_seconds(retry_after, "retry_after_ms"),
                kind,
            )
            running = current()
            delay = running.failed(error)
            if expected == "give_up":
                if step["give_up"] not in GIVE_UPS:
                    raise ScenarioError(f"unknown reason {step['give_up']!r}")
                check("decision", ("give_up", step["give_up"]), ("give_up", running.give_up) if delay is None else ("retry", nanos(delay)))
                call.clear()
            else:
                want = step["delay_ms"] * 1_000_000 if expected == "delay_ms" else step["delay_ns"]
                check("decision", ("retry", want), ("retry", nanos(delay)) if delay is not None else ("give_up", running.give_up))
        elif op == "succeed":
            current().succeeded()
            call.clear()
        elif op == "expect_attempt":
            check("attempt", step["attempt"], current().attempt)
        elif op == "expect_budget":
            if budget is None:
                raise ScenarioError("the scenario has no budget")
            if "tokens" in step:
                check("tokens", step["tokens"], budget.tokens)
            if "allows_retry" in step:
                check("allows_retry", step["allows_retry"], budget.allows_retry)
        elif op == "expect_quota":
            if quota is None:
                raise ScenarioError("the scenario has no quota")
            check("available", step["available"], quota.available)
        elif op == "expect_delays":
            which = exactly_one(step, ["delays_ms", "delays_ns"])
            want = [d * 1_000_000 for d in step[which]] if which == "delays_ms" else list(step[which])
            check("delays (ns)", want, [nanos(d) for d in policy.delays(len(want))])

    run_steps(
        scenario,
        {
            "start": (set(), set()),
            "fail": (set(), {"retryable", "retry_after_ms", "kind", "delay_ms", "delay_ns", "give_up"}),
            "succeed": (set(), set()),
            "expect_attempt": ({"attempt"}, set()),
            "expect_budget": (set(), {"tokens", "allows_retry"}),
            "expect_quota": ({"available"}, set()),
            "expect_delays": (set(), {"delays_ms", "delays_ns"}),
        },
        clock,
        handle,
    )


# --- rate_limiter ------------------------------------------------------------------


def rate_limiter_arguments(config: Dict[str, Any]) -> Dict[str, Any]:
    """The RateLimiter arguments that a scenario's config describes."""
    keys("config", config, {"rate", "burst"}, {"period_ms", "max_wait_ms"})
    return {
        "rate": config["rate"],
        "period": ms_to_seconds(config.get("period_ms", 1000), "period_ms"),
        "burst": config["burst"],
        "max_wait": ms_to_seconds(config.get("max_wait_ms", 0), "max_wait_ms"),
    }


def replay_rate_limiter(scenario: Dict[str, Any]) -> None:
    clock = ManualClock(ms_to_seconds(scenario.get("start_ms", 0), "start_ms"))
    limiter = RateLimiter(clock=clock, **rate_limiter_arguments(scenario.get("config") or {}))

    def handle(op: str, step: Dict[str, Any]) -> None:
        if op == "reset":
            limiter.reset()
            return
        if op == "acquire":
            if "retry_after_ms" in step and step.get("refused") is not True:
                raise ScenarioError("retry_after_ms only goes with \"refused\": true")
            start = clock.now()
            try:
                limiter.acquire()
                refused = None
            except RateLimitedError as error:
                refused = error.retry_after
            check("waited (ns)", step["waited_ms"] * 1_000_000, nanos(clock.now() - start))
            if step.get("refused", False):
                if refused is None:
                    raise ScenarioError("admitted, expected a refusal")
                if "retry_after_ms" in step:
                    check("retry_after (ns)", step["retry_after_ms"] * 1_000_000, nanos(refused))
            elif refused is not None:
                raise ScenarioError(f"refused (retry after {refused} s), expected admitted")
            return
        n = step.get("n", 1)
        if ("allowed" in step) == ("error" in step):
            raise ScenarioError("check takes exactly one of allowed and error")
        if "retry_after_ms" in step and "retry_after_ns" in step:
            raise ScenarioError("check takes at most one of retry_after_ms and retry_after_ns")
        if ("retry_after_ms" in step or "retry_after_ns" in step) and step.get("allowed") is not False:
            raise ScenarioError("retry_after goes only with \"allowed\": false")
        for i in range(step.get("repeat", 1)):
            try:
                wait = limiter.check(n)
            except ValueError as error:
                if step.get("error") != "insufficient_capacity":
                    raise ScenarioError(f"check {i + 1}: unexpected error {error}") from None
                continue
            if "error" in step:
                if step["error"] != "insufficient_capacity":
                    raise ScenarioError(f"unknown error {step['error']!r}")
                raise ScenarioError(f"check {i + 1}: expected insufficient_capacity, got a wait of {wait}")
            check(f"check {i + 1} allowed", step["allowed"], wait == 0.0)
            if "retry_after_ms" in step:
                check("retry_after (ns)", step["retry_after_ms"] * 1_000_000, nanos(wait))
            if "retry_after_ns" in step:
                check("retry_after (ns)", step["retry_after_ns"], nanos(wait))

    run_steps(
        scenario,
        {
            "check": (set(), {"n", "repeat", "allowed", "retry_after_ms", "retry_after_ns", "error"}),
            "acquire": ({"waited_ms"}, {"refused", "retry_after_ms"}),
            "reset": (set(), set()),
        },
        clock,
        handle,
    )


# --- bulkhead ------------------------------------------------------------------------


def replay_bulkhead(scenario: Dict[str, Any]) -> None:
    config = scenario.get("config") or {}
    keys("config", config, {"max_concurrent"}, set())
    clock = ManualClock(ms_to_seconds(scenario.get("start_ms", 0), "start_ms"))
    bulkhead = Bulkhead(config["max_concurrent"])
    guards: Dict[str, BulkheadPermit] = {}

    def handle(op: str, step: Dict[str, Any]) -> None:
        if op == "enter":
            which = exactly_one(step, ["guard", "rejected"])
            permit = bulkhead.try_enter()
            if which == "rejected":
                if step["rejected"] is not True:
                    raise ScenarioError("rejected must be true")
                if permit is not None:
                    raise ScenarioError("admitted, expected a rejection")
                return
            if permit is None:
                raise ScenarioError("rejected: every place is taken")
            if step["guard"] in guards:
                raise ScenarioError(f"guard {step['guard']!r} is already held")
            guards[step["guard"]] = permit
        elif op == "exit":
            if step["guard"] not in guards:
                raise ScenarioError(f"no guard {step['guard']!r}")
            guards.pop(step["guard"]).release()
        elif op == "expect":
            for key in ("in_flight", "available"):
                if key in step:
                    check(key, step[key], getattr(bulkhead, key))

    run_steps(
        scenario,
        {
            "enter": (set(), {"guard", "rejected"}),
            "exit": ({"guard"}, set()),
            "expect": (set(), {"in_flight", "available"}),
        },
        clock,
        handle,
    )


# --- composition ---------------------------------------------------------------------


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a ManualClock: its time is the clock's, and when
    nothing is ready it moves the clock to the next timer instead of
    waiting. With no I/O in a scenario, every sleep and timeout of asyncio
    then passes in virtual time."""

    def __init__(self, clock: ManualClock) -> None:
        self._manual_clock = clock

        class Jump(selectors.DefaultSelector):  # type: ignore[valid-type,misc]
            def select(self, timeout: Optional[float] = None) -> Any:
                if timeout is None:
                    raise ScenarioError("the call hangs with no timeout around it")
                if timeout > 0:
                    clock.advance(timeout)
                return super().select(0)

        super().__init__(Jump())

    def time(self) -> float:
        return self._manual_clock.now()


class CallFailed(ConnectionError):
    """The call's own error, in a composition."""


LAYERS = {"circuit_breaker", "retry", "rate_limiter", "bulkhead", "timeout"}
STOPS = {
    "timeout",
    "bulkhead_full",
    "rate_limited",
    "open",
    "half_open_full",
    "forced_open",
}


def expected_of(error: Optional[BaseException]) -> str:
    """What a composition's caller got: `ok`, `failure`, or the policy's stop."""
    if error is None:
        return "ok"
    if isinstance(error, CircuitOpenError):
        return error.reason
    if isinstance(error, RateLimitedError):
        return "rate_limited"
    if isinstance(error, BulkheadFullError):
        return "bulkhead_full"
    if isinstance(error, TimeoutExceededError):
        return "timeout"
    if isinstance(error, CallFailed):
        return "failure"
    raise ScenarioError(f"an unexpected error: {error!r}")


class Composition:
    """One composition's policies, stacked as decorators in the scenario's
    order (the outermost on top), on one ManualClock."""

    def __init__(self, scenario: Dict[str, Any]) -> None:
        config = dict(scenario.get("config") or {})
        keys("config", config, {"layers"}, LAYERS)
        self.layers: List[str] = list(config["layers"])
        if len(set(self.layers)) != len(self.layers) or not set(self.layers) <= LAYERS:
            raise ScenarioError(f"layers: each of {sorted(LAYERS)} at most once")
        if set(self.layers) != set(config) - {"layers"}:
            raise ScenarioError("every layer and its options must be given together")
        self.clock = ManualClock(ms_to_seconds(scenario.get("start_ms", 0), "start_ms"))
        self.breaker: Optional[CircuitBreaker] = None
        self.bulkhead: Optional[Bulkhead] = None
        self.decorators: Dict[str, Any] = {}
        for layer in self.layers:
            options = config[layer]
            if layer == "circuit_breaker":
                if "window" in options:
                    raise ScenarioError("a composition's breaker has no window")
                self.breaker = CircuitBreaker("composition", clock=self.clock, **breaker_arguments(options))
                self.decorators[layer] = self.breaker
            elif layer == "retry":
                self.decorators[layer] = Retry(clock=self.clock, **retry_arguments(options))
            elif layer == "rate_limiter":
                arguments = rate_limiter_arguments(options)
                if "max_wait_ms" in options:
                    raise ScenarioError("a composition's rate limiter refuses at once: no max_wait_ms")
                self.decorators[layer] = RateLimiter(clock=self.clock, **arguments)
            elif layer == "bulkhead":
                keys("config.bulkhead", options, {"max_concurrent"}, set())
                self.bulkhead = Bulkhead(options["max_concurrent"])
                self.decorators[layer] = self.bulkhead
            else:
                keys("config.timeout", options, {"limit_ms"}, set())
                self.decorators[layer] = timeout(ms_to_seconds(options["limit_ms"], "limit_ms"))
        self.result = "success"
        self.attempts = 0

    def stacked(self, fn: Any) -> Any:
        for layer in reversed(self.layers):
            fn = self.decorators[layer](fn)
        return fn

    def sync_call(self) -> Any:
        def call() -> str:
            self.attempts += 1
            if self.result == "failure":
                raise CallFailed()
            return "ok"

        return self.stacked(call)

    def async_call(self) -> Any:
        async def call() -> str:
            self.attempts += 1
            if self.result == "failure":
                raise CallFailed()
            if self.result == "hang":
                await asyncio.Event().wait()
            return "ok"

        return self.stacked(call)


def replay_composition(scenario: Dict[str, Any]) -> None:
    """Replays a composition twice where it can: with ``async def`` on a
    virtual-time event loop, and with ``def`` when it has no timeout
    (timeouts need ``async def``)."""
    replay_stack(scenario, asynchronous=True)
    if "timeout" not in (scenario.get("config") or {}).get("layers", []):
        replay_stack(scenario, asynchronous=False)


def replay_stack(scenario: Dict[str, Any], asynchronous: bool) -> None:
    stack = Composition(scenario)
    loop = VirtualTimeLoop(stack.clock)
    call = stack.async_call() if asynchronous else stack.sync_call()
    guards: Dict[str, BulkheadPermit] = {}

    def breaker() -> CircuitBreaker:
        if stack.breaker is None:
            raise ScenarioError("no circuit_breaker layer")
        return stack.breaker

    def run_once() -> Optional[BaseException]:
        try:
            if asynchronous:
                loop.run_until_complete(call())
            else:
                call()
        except ScenarioError:
            raise
        except Exception as error:  # noqa: BLE001 - the caller's answer
            return error
        return None

    def handle(op: str, step: Dict[str, Any]) -> None:
        if op == "call":
            if step["result"] not in ("success", "failure", "hang"):
                raise ScenarioError(f"unknown result {step['result']!r}")
            if step["expect"] not in STOPS | {"ok", "failure"}:
                raise ScenarioError(f"unknown expect {step['expect']!r}")
            if step["result"] == "hang" and not asynchronous:
                raise ScenarioError("a def call cannot hang")
            stack.result = step["result"]
            repeat = step.get("repeat", 1)
            for n in range(1, repeat + 1):
                stack.attempts = 0
                start = stack.clock.now()
                got = expected_of(run_once())
                where = f"{'async def' if asynchronous else 'def'}: call {n} of {repeat}"
                check(f"{where}: result", step["expect"], got)
                if "attempts" in step:
                    check(f"{where}: attempts", step["attempts"], stack.attempts)
                if "elapsed_ms" in step:
                    check(f"{where}: elapsed (ns)", step["elapsed_ms"] * 1_000_000, nanos(stack.clock.now() - start))
        elif op == "occupy":
            if stack.bulkhead is None:
                raise ScenarioError("no bulkhead layer")
            permit = stack.bulkhead.try_enter()
            if permit is None:
                raise ScenarioError("the bulkhead is full")
            if step["guard"] in guards:
                raise ScenarioError(f"guard {step['guard']!r} is already held")
            guards[step["guard"]] = permit
        elif op == "vacate":
            if step["guard"] not in guards:
                raise ScenarioError(f"no guard {step['guard']!r}")
            guards.pop(step["guard"]).release()
        elif op in ("force_open", "disable", "reset"):
            getattr(breaker(), op)()
        elif op == "expect_state":
            if step["state"] not in STATES:
                raise ScenarioError(f"unknown state {step['state']!r}")
            check("state", step["state"], breaker().state)
        elif op == "expect_stats":
            stats = breaker().stats
            for key, expected in step.items():
                if key != "op":
                    check(key, expected, getattr(stats, key))

    try:
        run_steps(
            scenario,
            {
                "call": ({"result", "expect"}, {"attempts", "elapsed_ms", "repeat"}),
                "occupy": ({"guard"}, set()),
                "vacate": ({"guard"}, set()),
                "force_open": (set(), set()),
                "disable": (set(), set()),
                "reset": (set(), set()),
                "expect_state": ({"state"}, set()),
                "expect_stats": (
                    set(),
                    {"permitted", "successful", "failed", "slow", "rejected", "released", "state_transitions"},
                ),
            },
            stack.clock,
            handle,
        )
    finally:
        loop.close()
# --- adaptive_limiter ------------------------------------------------------------------

ALGORITHMS = {
    "aimd": {"backoff_ratio", "increase", "timeout_ms"},
    "gradient": {"tolerance", "smoothing", "queue_size"},
    "vegas": {"alpha", "beta", "smoothing"},
}
LIMITER_SECONDS = {"window_ms": "window", "probe_interval_ms": "probe_interval"}
LIMITER_COUNTS = {"initial_limit", "min_limit", "max_limit", "min_samples", "probe_limit", "probe_samples"}


def limiter_arguments(config: Dict[str, Any]) -> Dict[str, Any]:
    keys("config", config, set(), {"algorithm", *LIMITER_SECONDS, *LIMITER_COUNTS})
    arguments: Dict[str, Any] = {}
    for key, value in config.items():
        if key in LIMITER_SECONDS:
            arguments[LIMITER_SECONDS[key]] = ms_to_seconds(value, key)
        elif key in LIMITER_COUNTS:
            arguments[key] = value
    algorithm = dict(config.get("algorithm") or {"kind": "gradient"})
    kind = algorithm.pop("kind", None)
    if kind not in ALGORITHMS:
        raise ScenarioError(f"config.algorithm: unknown kind {kind!r}")
    keys("config.algorithm", algorithm, set(), ALGORITHMS[kind])
    arguments["algorithm"] = kind
    for key, value in algorithm.items():
        if key == "timeout_ms":
            arguments["timeout"] = None if value is None else ms_to_seconds(value, key)
        else:
            arguments[key] = value
    return arguments


def replay_adaptive_limiter(scenario: Dict[str, Any]) -> None:
    clock = ManualClock(ms_to_seconds(scenario.get("start_ms", 0), "start_ms"))
    limiter = AdaptiveLimiter(clock=clock, **limiter_arguments(scenario.get("config") or {}))
    permits: Dict[str, LimiterPermit] = {}

    def end(permit: LimiterPermit, outcome: str) -> None:
        if outcome == "success":
            permit.success()
        elif outcome == "overload":
            permit.overload()
        else:
            raise ScenarioError(f"unknown outcome {outcome!r}")

    def handle(op: str, step: Dict[str, Any]) -> None:
        if op == "acquire":
            which = exactly_one(step, ["permit", "rejected"])
            if which == "rejected":
                if step["rejected"] is not True:
                    raise ScenarioError("rejected must be true")
                try:
                    limiter.acquire()
                except BulkheadFullError:
                    return
                raise ScenarioError("admitted, expected a rejection")
            try:
                permit = limiter.acquire()
            except BulkheadFullError as error:
                raise ScenarioError(f"rejected: {error}") from None
            if step["permit"] in permits:
                raise ScenarioError(f"permit {step['permit']!r} is already held")
            permits[step["permit"]] = permit
        elif op in ("record", "release"):
            if step["permit"] not in permits:
                raise ScenarioError(f"no permit {step['permit']!r}")
            permit = permits.pop(step["permit"])
            if op == "release":
                permit.release()
            else:
                end(permit, step["outcome"])
        elif op == "batch":
            outcome = step.get("outcome", "success")
            if outcome not in ("success", "overload"):
                raise ScenarioError(f"unknown outcome {outcome!r}")
            batch = []
            for i in range(step["calls"]):
                permit = limiter.try_acquire()
                if permit is None:
                    raise ScenarioError(f"call {i} of the batch rejected")
                batch.append(permit)
            clock.advance(ms_to_seconds(step["latency_ms"], "latency_ms"))
            for permit in batch:
                end(permit, outcome)
        elif op == "reset":
            limiter.reset()
        elif op == "expect":
            if len(step) == 1:
                raise ScenarioError("expect checks nothing")
            counts = limiter.counts
            for key in ("limit", "in_flight", "probing"):
                if key in step:
                    check(key, step[key], getattr(limiter, key))
            for key in ("succeeded", "overloaded", "released", "rejected"):
                if key in step:
                    check(key, step[key], counts[key])
            if "baseline_us" in step:
                baseline = limiter.baseline
                check("baseline_us", step["baseline_us"], None if baseline is None else int(nanos(baseline) // 1000))

    run_steps(
        scenario,
        {
            "acquire": (set(), {"permit", "rejected"}),
            "record": ({"permit", "outcome"}, set()),
            "release": ({"permit"}, set()),
            "batch": ({"calls", "latency_ms"}, {"outcome"}),
            "reset": (set(), set()),
            "expect": (set(), {"limit", "in_flight", "probing", "baseline_us", "succeeded", "overloaded", "released", "rejected"}),
        },
        clock,
        handle,
    )


# --- adaptive_rate ----------------------------------------------------------------------

RATE_CHECKS = {"enabled", "fill_rate", "measured_rate", "throttled"}


def replay_adaptive_rate(scenario: Dict[str, Any]) -> None:
    config = scenario.get("config") or {}
    keys("config", config, set(), {"beta", "scale", "smoothing", "min_rate"})
    clock = ManualClock(ms_to_seconds(scenario.get("start_ms", 0), "start_ms"))
    rate = AdaptiveRate(clock=clock, **config)

    def expect(step: Dict[str, Any]) -> None:
        if "enabled" in step:
            check("enabled", step["enabled"], rate.enabled)
        if "throttled" in step:
            check("throttled", step["throttled"], rate.throttled)
        for key in ("fill_rate", "measured_rate"):
            if key in step:
                expected, actual = step[key], getattr(rate, key)
                if abs(expected - actual) > 1e-9 * max(abs(expected), 1.0):
                    raise ScenarioError(f"{key}: expected {expected!r}, got {actual!r}")

    def handle(op: str, step: Dict[str, Any]) -> None:
        if op == "response":
            rate.on_response(step.get("throttled", False))
            expect({key: value for key, value in step.items() if key != "throttled"})
        elif op == "acquire":
            which = exactly_one(step, ["allowed", "wait_ms"])
            if which == "allowed" and step["allowed"] is not True:
                raise ScenarioError("allowed must be true")
            wait = rate.acquire()
            if which == "allowed":
                check("wait", None, wait)
            elif wait is None or abs(wait * 1e3 - step["wait_ms"]) > 1e-3:
                raise ScenarioError(f"acquire: expected a wait of {step['wait_ms']} ms, got {wait!r} s")
        elif op == "reset":
            rate.reset()
        elif op == "expect":
            if len(step) == 1:
                raise ScenarioError("expect checks nothing")
            expect(step)

    run_steps(
        scenario,
        {
            "response": (set(), {"throttled", "enabled", "fill_rate", "measured_rate"}),
            "acquire": (set(), {"allowed", "wait_ms"}),
            "reset": (set(), set()),
            "expect": (set(), RATE_CHECKS),
        },
        clock,
        handle,
    )


# --- attempt_timeout ----------------------------------------------------------------------


def replay_attempt_timeout(scenario: Dict[str, Any]) -> None:
    config = scenario.get("config") or {}
    keys("config", config, set(), {"percentile", "multiplier", "min_ms", "max_ms", "min_samples", "window_ms"})
    arguments = {
        key[:-3] if key.endswith("_ms") else key: ms_to_seconds(value, key) if key.endswith("_ms") else value
        for key, value in config.items()
    }
    clock = ManualClock(ms_to_seconds(scenario.get("start_ms", 0), "start_ms"))
    timeout = AttemptTimeout(clock=clock, **arguments)

    def handle(op: str, step: Dict[str, Any]) -> None:
        if op == "record":
            for _ in range(step.get("repeat", 1)):
                timeout.record(ms_to_seconds(step["latency_ms"], "latency_ms"))
        elif op == "expect":
            if len(step) == 1:
                raise ScenarioError("expect checks nothing")
            if "timeout_us" in step:
                check("timeout_us", step["timeout_us"], int(nanos(timeout.timeout()) // 1000))
            if "samples" in step:
                check("samples", step["samples"], timeout.samples)

    run_steps(
        scenario,
        {
            "record": ({"latency_ms"}, {"repeat"}),
            "expect": (set(), {"timeout_us", "samples"}),
        },
        clock,
        handle,
    )
