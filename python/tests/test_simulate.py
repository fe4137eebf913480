"""seawall.simulate: the simulator from Python, with the same inputs and results
as the command line (``seawall simulate``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

import seawall

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "sim" / "scenarios"

OUTAGE: Dict[str, Any] = {
    "seed": 3,
    "duration_ms": 30_000,
    "traffic": {"rate": 100},
    "dependency": {"latency": {"kind": "constant", "ms": 10}},
    "episodes": [{"kind": "outage", "start_ms": 5_000, "end_ms": 20_000}],
    "policies": [
        {"name": "plain"},
        {"name": "breaker", "circuit_breaker": {"failure_threshold": 5, "open_duration_ms": 2_000}},
    ],
}


def by_name(result: seawall.Simulation) -> Dict[str, Dict[str, Any]]:
    return {row["configuration"]: row for row in result.summary}


def test_a_scenario_file_gives_the_command_lines_numbers() -> None:
    result = seawall.simulate(SCENARIOS / "retry_storm.toml")
    rows = by_name(result)
    assert result.names == ["no retry", "retry x3", "retry x3 + budget"]
    assert rows["retry x3"]["attempts"] == 3 * rows["retry x3"]["calls"]
    assert rows["retry x3"]["extra_load"] == 2.0
    assert rows["retry x3 + budget"]["extra_load"] < 0.2
    assert "| retry x3 + budget |" in str(result)


def test_a_dict_scenario_and_the_same_seed_give_the_same_result() -> None:
    first = seawall.simulate(OUTAGE)
    second = seawall.simulate(OUTAGE)
    assert first.report == second.report
    assert seawall.simulate(OUTAGE, seed=4).report != first.report
    rows = by_name(first)
    assert rows["plain"]["rejected"] == 0
    assert rows["breaker"]["failures_spared"] > 1_000
    assert rows["breaker"]["detect_s"] == pytest.approx(0.05, abs=0.05)
    assert rows["plain"]["detect_s"] is None
    opened = [t for t in first.transitions if t["to"] == "open"]
    assert opened and opened[0]["configuration"] == "breaker"


def test_policies_replace_the_scenarios() -> None:
    result = seawall.simulate(OUTAGE, policies=[{"name": "only", "timeout_ms": 5}])
    assert result.names == ["only"]
    assert by_name(result)["only"]["timeouts"] == by_name(result)["only"]["attempts"]


def test_a_recorded_trace_replays_as_recorded() -> None:
    trace: List[Dict[str, Any]] = [
        {"timestamp_ms": 1_000 + 10 * i, "latency_ms": 2, "outcome": "failure" if 50 <= i < 80 else "success"}
        for i in range(200)
    ]
    result = seawall.simulate(
        {"policies": [{"name": "as recorded"}, {"name": "breaker", "circuit_breaker": {"failure_threshold": 3}}]},
        trace=trace,
    )
    rows = by_name(result)
    assert rows["as recorded"]["failed"] == 30
    assert rows["breaker"]["failed"] == 3
    assert rows["breaker"]["failures_spared"] == 27


def test_bad_input_names_the_field() -> None:
    bad = dict(OUTAGE, policies=[{"name": "x", "circuit_breaker": {"failure_threshold": 0}}])
    with pytest.raises(ValueError, match=r"invalid policies\[0\]\.circuit_breaker\.failure_threshold"):
        seawall.simulate(bad)
    with pytest.raises(ValueError, match="unknown field `failure_treshold`"):
        seawall.simulate(OUTAGE, policies=[{"name": "x", "circuit_breaker": {"failure_treshold": 3}}])
    with pytest.raises(TypeError, match="invalid scenario"):
        seawall.simulate(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="invalid seed"):
        seawall.simulate(OUTAGE, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid seed"):
        seawall.simulate(OUTAGE, seed=-1)
    with pytest.raises(OSError):
        seawall.simulate(SCENARIOS / "no_such_file.toml")
    with pytest.raises(ValueError, match="outcome must be success, failure or timeout"):
        seawall.simulate({"policies": [{"name": "x"}]}, trace=[{"timestamp_ms": 0, "latency_ms": 1, "outcome": "ok"}])


def test_to_pandas_gives_the_tables() -> None:
    import pandas
    result = seawall.simulate(OUTAGE)
    timeline = result.to_pandas()
    assert isinstance(timeline, pandas.DataFrame)
    assert set(timeline["configuration"]) == {"plain", "breaker"}
    assert timeline.groupby("configuration")["calls"].sum()["plain"] == by_name(result)["plain"]["calls"]
    summary = result.to_pandas("summary").set_index("configuration")
    assert summary.loc["breaker", "rejected"] == by_name(result)["breaker"]["rejected"]
    assert list(result.to_pandas("transitions")["to"])[0] == "open"
    with pytest.raises(ValueError, match="invalid table"):
        result.to_pandas("steps")


def test_plot_draws_a_figure() -> None:
    import matplotlib
    matplotlib.use("Agg")
    figure = seawall.simulate(OUTAGE).plot()
    assert len(figure.axes) == 6
    assert figure.axes[0].get_title() == "plain"
    assert figure.axes[3].get_title() == "breaker"


def test_the_report_is_json_with_every_configuration() -> None:
    result = seawall.simulate(OUTAGE)
    assert json.loads(json.dumps(result.report)) == result.report
    assert [c["name"] for c in result.report["configurations"]] == ["plain", "breaker"]
    assert repr(result) == "<Simulation of 'plain', 'breaker'>"
