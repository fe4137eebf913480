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
