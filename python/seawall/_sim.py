"""``seawall.simulate``: what would these policies have done?

The simulator (the Rust crate ``seawall-sim``, the same as the command line's
``seawall simulate``) drives the core's circuit breaker, retry, rate limiter and
bulkhead, and a timeout, in virtual time over a scenario or a recorded trace.
The same inputs and seed give the same result every time.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from seawall._seawall import _simulate

_Input = Union[str, "os.PathLike[str]", Mapping[str, Any]]

# The summary's columns, in the order of the table.
_SUMMARY = (
    "calls",
    "client_retries",
    "succeeded",
    "failed",
    "rejected",
    "unfinished",
    "attempts",
    "retries",
    "timeouts",
    "refused_by_breaker",
    "refused_by_rate_limiter",
    "refused_by_bulkhead",
    "failures_spared",
    "successes_lost",
    "probes",
    "transitions",
    "extra_load",
)


class Simulation:
    """The result of :func:`simulate`: one entry per configuration.

    ``summary`` has a row per configuration (the totals, the latency
    percentiles in milliseconds, and how fast its breaker saw the first
    episode and came back, in seconds); ``timeline`` a row per step and
    configuration; ``transitions`` the breakers' changes of state. ``str()``
    is the summary as a table.
    """

    def __init__(self, report: Dict[str, Any], table: str) -> None:
        self.report = report
        self._table = table

    def __str__(self) -> str:
        return self._table

    def __repr__(self) -> str:
        names = ", ".join(repr(c["name"]) for c in self.report["configurations"])
        return f"<Simulation of {names}>"

    @property
    def names(self) -> List[str]:
        """The configurations, in the order given."""
        return [c["name"] for c in self.report["configurations"]]

    @property
    def summary(self) -> List[Dict[str, Any]]:
        """One flat row per configuration."""
        rows = []
        for c in self.report["configurations"]:
            s = c["summary"]
            row: Dict[str, Any] = {"configuration": c["name"]}
            row.update({key: s[key] for key in _SUMMARY})
            row.update({f"latency_{p}_ms": v for p, v in s["latency_ms"].items()})
            first = c["episodes"][0] if c["episodes"] else {}
            row["detect_s"] = first.get("detect_s")
            row["recover_s"] = first.get("recover_s")
            rows.append(row)
        return rows

    @property
    def timeline(self) -> List[Dict[str, Any]]:
        """One row per step and configuration."""
        return [
            {"configuration": c["name"], **row}
            for c in self.report["configurations"]
            for row in c["timeline"]
        ]

    @property
    def transitions(self) -> List[Dict[str, Any]]:
        """The breakers' transitions: configuration, time, key, from, to."""
        return [
            {"configuration": c["name"], **t}
            for c in self.report["configurations"]
            for t in c["transitions"]
        ]

    def to_pandas(self, table: str = "timeline") -> Any:
        """``timeline`` (the default), ``summary`` or ``transitions`` as a
        pandas DataFrame (``pip install pandas``)."""
        rows = {"timeline": lambda: self.timeline, "summary": lambda: self.summary,
                "transitions": lambda: self.transitions}
        if table not in rows:
            raise ValueError(f"invalid table: must be timeline, summary or transitions, not {table!r}")
        try:
            # Imported by name: pandas is optional and ships no type hints.
            pandas = importlib.import_module("pandas")
        except ImportError as error:
            raise ImportError("Simulation.to_pandas needs pandas: pip install pandas") from error
        return pandas.DataFrame(rows[table]())

    def plot(self) -> Any:
        """A matplotlib figure (``pip install matplotlib``): per configuration,
        the attempts each second by fate, the error rate and the callers'
        latency, with the breaker's open spells shaded."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError("Simulation.plot needs matplotlib: pip install matplotlib") from error
        configurations = self.report["configurations"]
        step = self.report["step_s"]
        figure, axes = plt.subplots(
            3 * len(configurations), 1, figsize=(10, 5.5 * len(configurations)), sharex=True, squeeze=False
        )
        for index, c in enumerate(configurations):
            rows = c["timeline"]
            t = [r["t_s"] for r in rows]
            fates, rate, latency = (axes[3 * index + k][0] for k in range(3))
            fates.stackplot(
                t,
                [r["succeeded"] / step for r in rows],
                [r["failed"] / step for r in rows],
                [r["refused"] / step for r in rows],
                labels=["succeeded", "failed", "refused"],
                colors=["#2e7d32", "#c62828", "#9e9e9e"],
                step="post",
            )
            fates.set_title(c["name"])
            fates.set_ylabel("attempts/s")
            fates.legend(loc="upper right")
            rate.step(t, [100 * r["error_rate"] for r in rows], where="post", color="#c62828")
            rate.set_ylabel("error %")
            latency.step(t, [r["p99_ms"] for r in rows], where="post", label="p99", color="#6a1b9a")
            latency.step(t, [r["p50_ms"] for r in rows], where="post", label="p50", color="#1565c0")
            latency.set_ylabel("latency ms")
            latency.legend(loc="upper right")
            for r in rows:
                if r["state"] in ("open", "forced_open", "half_open"):
                    color = "#ffb300" if r["state"] == "half_open" else "#e53935"
                    for ax in (fates, rate, latency):
                        ax.axvspan(r["t_s"], r["t_s"] + step, color=color, alpha=0.15, linewidth=0)
        axes[-1][0].set_xlabel("s")
        figure.tight_layout()
        return figure


def _path_or_none(value: Any) -> Optional[str]:
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    return None


def simulate(
    scenario: _Input,
    *,
    policies: Union[str, "os.PathLike[str]", Sequence[Mapping[str, Any]], None] = None,
    trace: Union[str, "os.PathLike[str]", Iterable[Mapping[str, Any]], None] = None,
    seed: Optional[int] = None,
) -> Simulation:
    """Runs a scenario and returns what each configuration did.

    ``scenario`` is a scenario file (TOML or JSON, as for ``seawall simulate``)
    or a dict of the same content. ``policies`` replaces its configurations: a
    list of dicts, or a file of ``[[policies]]``. ``trace`` replays recorded
    calls instead of its traffic model: a CSV or JSON-lines file, or an
    iterable of dicts with ``timestamp_ms``, ``latency_ms``, ``outcome``
    (``success``, ``failure`` or ``timeout``) and optionally ``key`` (a pandas
    DataFrame: ``df.to_dict("records")``). ``seed`` replaces the scenario's.

    Bad input raises ``ValueError`` naming the field; an unreadable file,
    ``OSError``.
    """
    arguments: Dict[str, Any] = {}
    path = _path_or_none(scenario)
    if path is not None:
        arguments["scenario_path"] = path
    elif isinstance(scenario, Mapping):
        arguments["scenario_json"] = json.dumps(scenario)
    else:
        raise TypeError(f"invalid scenario: must be a path or a dict, not {type(scenario).__name__}")
    if policies is not None:
        path = _path_or_none(policies)
        if path is not None:
            arguments["policies_path"] = path
        elif isinstance(policies, Sequence):
            configurations = []
            for policy in policies:
                if not isinstance(policy, Mapping):
                    raise TypeError("invalid policies: must be a path or a list of dicts")
                configurations.append(dict(policy))
            arguments["policies_json"] = json.dumps(configurations)
        else:
            raise TypeError("invalid policies: must be a path or a list of dicts")
    if trace is not None:
        path = _path_or_none(trace)
        if path is not None:
            arguments["trace_path"] = path
        elif isinstance(trace, Iterable) and not isinstance(trace, (bytes, Mapping)):
            lines = []
            for record in trace:
                if not isinstance(record, Mapping):
                    raise TypeError("invalid trace: must be a path or an iterable of dicts")
                lines.append(json.dumps(dict(record), default=str))
            arguments["trace_jsonl"] = "\n".join(lines)
        else:
            raise TypeError("invalid trace: must be a path or an iterable of dicts")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"invalid seed: must be an int, not {type(seed).__name__}")
        if not 0 <= seed < 2**64:
            raise ValueError(f"invalid seed: must be from 0 to 2**64 - 1, got {seed}")
        arguments["seed"] = seed
    report, table = _simulate(**arguments)
    return Simulation(json.loads(report), table)


__all__ = ["Simulation", "simulate"]
