"""What ``runs`` keeps and in which order: filters by experiment, status, time and metric, and sorting."""

from __future__ import annotations

import fnmatch
import math
import operator
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from glossary_exp.errors import ConfigError, nearest
from glossary_exp.runs.index import Run

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt}
CONDITION = re.compile(r"^\s*(?P<metric>[^<>=!\s]+)\s*(?P<op>>=|<=|==|!=|>|<|=)\s*(?P<value>\S+)\s*$")
AGO = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>[smhdw])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
TIME_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def condition(text: str) -> Callable[[Run], bool]:
    """``val/acc>=0.98`` as a test of a run (a run without that metric fails it)."""
    match = CONDITION.match(text)
    if match is None:
        raise ConfigError(f"--where {text}: expected METRIC OP NUMBER, e.g. val/acc>=0.98 "
                          f"(OP one of {', '.join(OPERATORS)})")
    try:
        bound = float(match["value"])
    except ValueError:
        raise ConfigError(f"--where {text}: {match['value']} is not a number (e.g. val/acc>=0.98)") from None
    if not math.isfinite(bound):
        raise ConfigError(f"--where {text}: {match['value']} is not a finite number")
    compare, metric = OPERATORS["==" if match["op"] == "=" else match["op"]], match["metric"]

    def test(run: Run) -> bool:
        value = run.value(metric)
        return isinstance(value, (int, float)) and math.isfinite(value) and compare(float(value), bound)

    return test


def moment(text: str, flag: str) -> float:
    """A time as ``runs`` takes it: ``7d``, ``3h``, ``30m`` ago, ``today``, or a date / date and time."""
    now = time.time()
    match = AGO.match(text.strip())
    if match:
        return now - float(match["n"]) * UNITS[match["unit"]]
    if text == "today":
        return time.mktime(time.strptime(time.strftime("%Y-%m-%d"), "%Y-%m-%d"))
    for form in TIME_FORMATS:
        try:
            return datetime.strptime(text, form).timestamp()
        except ValueError:
            continue
    raise ConfigError(f"{flag} {text}: expected a time such as 7d, 3h, 30m, today, 2026-12-01 or '2026-12-01 14:30'")


def select(runs: list[Run], experiments: list[str], statuses: list[str], tasks: list[str], since: float | None,
           until: float | None, conditions: list[Callable[[Run], bool]]) -> list[Run]:
    """The runs that pass every filter given."""
    def keep(run: Run) -> bool:
        return ((not experiments or any(fnmatch.fnmatchcase(run.experiment, e) for e in experiments))
                and (not statuses or run.status in statuses)
                and (not tasks or run.record.get("task", "fit") in tasks)
                and (since is None or (run.started or 0) >= since)
                and (until is None or (run.started or 0) <= until)
                and all(test(run) for test in conditions))

    return [run for run in runs if keep(run)]


def sort_runs(runs: list[Run], key: str, columns: tuple[str, ...]) -> list[Run]:
    """By ``key`` (a column or a metric) ascending, ``-key`` descending; runs without a value last either way."""
    name = key.lstrip("-")
    known = {*columns, "seed", *(m for run in runs for m in run.metrics)}
    if name not in known and runs:
        raise ConfigError(f"--sort {key}: no run has {name!r}; sort by a column ({', '.join(columns)}, seed) "
                          f"or a metric{nearest(name, sorted(known))}")

    def present(value: Any) -> bool:
        return value is not None and not (isinstance(value, float) and not math.isfinite(value))

    with_value = [run for run in runs if present(run.value(name))]
    numeric = all(isinstance(run.value(name), (int, float)) for run in with_value)
    with_value.sort(key=lambda run: run.value(name) if numeric else str(run.value(name)), reverse=key.startswith("-"))
    return with_value + [run for run in runs if not present(run.value(name))]
