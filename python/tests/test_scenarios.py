"""Every shared scenario file replays through the Python API with the same results
as the Rust replayer."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario_replay import ScenarioError, files, replay, replay_file


def test_the_shared_scenarios_are_found() -> None:
    assert len(files()) >= 15


@pytest.mark.parametrize("path", files(), ids=lambda p: p.stem)
def test_scenario(path: Path) -> None:
    replay_file(path)


def test_a_scenario_with_a_typo_is_rejected() -> None:
    scenario = {
        "description": "typo",
        "policy": "circuit_breaker",
        "steps": [{"op": "expect_state", "stat": "closed"}],
    }
    with pytest.raises(ScenarioError, match="unknown field"):
        replay(scenario)


def test_an_unknown_op_or_policy_is_rejected() -> None:
    with pytest.raises(ScenarioError, match="unknown op"):
        replay({"description": "", "policy": "circuit_breaker", "steps": [{"op": "advanse", "ms": 1}]})
    with pytest.raises(ScenarioError, match="unknown policy"):
        replay({"description": "", "policy": "circuit_braker", "steps": []})
    with pytest.raises(ScenarioError, match="unknown field"):
        replay({"description": "", "policy": "circuit_breaker", "config": {"failure_treshold": 1}, "steps": []})


def test_a_wrong_expectation_fails() -> None:
    scenario = {
        "description": "wrong",
        "policy": "circuit_breaker",
        "steps": [{"op": "call", "outcome": "failure", "transition": "closed->open"}],
    }
    with pytest.raises(ScenarioError, match="transitions: expected"):
        replay(scenario)


def test_a_wrong_retry_after_fails() -> None:
    scenario = {
        "description": "wrong retry_after",
        "policy": "circuit_breaker",
        "config": {"failure_threshold": 1, "open_duration_ms": 1000},
        "steps": [
            {"op": "call", "outcome": "failure"},
            {"op": "acquire", "rejected": "open", "retry_after_ms": 999},
        ],
    }
    with pytest.raises(ScenarioError, match="retry_after"):
        replay(scenario)


def test_every_policy_has_scenarios() -> None:
    import json

    policies = {json.loads(path.read_text())["policy"] for path in files()}
    assert {"circuit_breaker", "retry", "rate_limiter", "bulkhead"} <= policies


@pytest.mark.parametrize(
    "scenario,message",
    [
        ({"policy": "retry", "steps": [{"op": "start"}, {"op": "fail", "delay_ms": 1, "give_up": "budget_empty"}]}, "exactly one"),
        ({"policy": "retry", "steps": [{"op": "fail", "delay_ms": 1000}]}, "no call in progress"),
        ({"policy": "retry", "steps": [{"op": "start"}, {"op": "fail", "delay_ms": 999}]}, "decision: expected"),
        ({"policy": "retry", "config": {"strategy": {"kind": "fixed", "delay": 1}}, "steps": []}, "unknown field"),
        ({"policy": "rate_limiter", "config": {"rate": 1, "burst": 1}, "steps": [{"op": "check", "allowed": False}]}, "allowed: expected"),
        ({"policy": "bulkhead", "config": {"max_concurrent": 1}, "steps": [{"op": "enter", "rejected": True}]}, "expected a rejection"),
        ({"policy": "bulkhead", "config": {"max_concurrent": 1}, "steps": [{"op": "expect", "in_fligth": 0}]}, "unknown field"),
        ({"policy": "hedge", "config": {"delay": {"kind": "fixed", "delay_ms": 10}}, "steps": [{"op": "start", "call": "a"}, {"op": "advance", "ms": 10}, {"op": "expect_sent", "call": "a", "attempts": 1}]}, "attempts sent: expected 1, got 2"),
        ({"policy": "hedge", "steps": [{"op": "start", "call": "a"}, {"op": "fail", "call": "a", "attempt": 1, "then": "maybe"}]}, "unknown then"),
        ({"policy": "hedge", "steps": [{"op": "start", "call": "a"}, {"op": "succeed", "call": "a", "attempt": 2, "cancelled": 0}]}, "not in flight"),
        ({"policy": "hedge", "config": {"delay": {"kind": "fixed", "delay": 10}}, "steps": []}, "unknown field"),
        ({"policy": "fault_plan", "config": {"rules": [{"kind": "error", "rate": 1.0}]}, "steps": [{"op": "enable"}, {"op": "call", "injected": None}]}, "injected: expected None"),
        ({"policy": "fault_plan", "config": {"rules": [{"kind": "error", "rate": 2.0}]}, "steps": []}, "invalid rate"),
        ({"policy": "fault_plan", "config": {"rules": []}, "steps": [{"op": "expect_counts"}]}, "checks nothing"),
    ],
)
def test_malformed_or_wrong_scenarios_of_every_policy_fail(scenario: dict, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        replay({"description": "", **scenario})
