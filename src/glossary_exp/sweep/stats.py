"""Repeats as statistics: jobs that differ only in their seed form a group, and each metric gets n, mean,
standard deviation and a 95% confidence interval of the mean (Student's t: mean +- t * sd / sqrt(n)).

The t quantiles are a table (scipy is not a dependency); between its rows the next smaller degree of
freedom is taken, which widens the interval slightly rather than narrowing it.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

SEED = "seed"
# Two-sided 95% quantiles of Student's t by degrees of freedom (t_{0.975, df}).
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
       11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
       20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048,
       29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}
Z95 = 1.960  # df beyond the table


def t95(df: int) -> float:
    """t_{0.975, df}: the table's value at the largest tabulated df <= ``df``."""
    if df < 1:
        raise ValueError("a confidence interval needs at least two values")
    return T95[max(k for k in T95 if k <= df)] if df <= 120 else Z95


def describe(values: list[float]) -> dict[str, float | int | None]:
    """n, mean, sd (n - 1 in the denominator), ci_low, ci_high of ``values`` (sd and CI None for one value)."""
    n = len(values)
    mean = statistics.fmean(values) if values else None
    if n < 2:
        return {"n": n, "mean": mean, "sd": None, "ci_low": None, "ci_high": None}
    sd = statistics.stdev(values)
    half = t95(n - 1) * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half}  # type: ignore[operator]


def as_dict(overrides: list[str]) -> dict[str, str]:
    """``{"optimizer.lr": "0.01"}`` for ``["optimizer.lr=0.01"]`` (``+``/``~`` dropped from keys)."""
    return {o.split("=", 1)[0].lstrip("+~"): o.split("=", 1)[1] for o in overrides if "=" in o}


def varying_keys(rows: list[dict[str, Any]]) -> list[str]:
    """Override keys whose value is not the same in every job, in the order they first appear."""
    dicts = [as_dict(row["overrides"]) for row in rows]
    keys = list(dict.fromkeys(k for d in dicts for k in d))
    return [k for k in keys if len({d.get(k) for d in dicts}) > 1]


def group_rows(rows: list[dict[str, Any]], by: list[str] | None = None) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Jobs grouped by the values of ``by`` (default: every varying override but the seed), keyed by ``k=v`` labels."""
    keys = by if by is not None else [k for k in varying_keys(rows) if k != SEED]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        given = as_dict(row["overrides"])
        groups.setdefault(tuple(f"{k}={given.get(k, '')}" for k in keys), []).append(row)
    return groups


def group_stats(rows: list[dict[str, Any]], metrics: list[str], by: list[str] | None = None) -> list[dict[str, Any]]:
    """One record per group: its label, its jobs, and :func:`describe` of each metric over its completed jobs."""
    out = []
    for label, members in group_rows(rows, by).items():
        done = [r for r in members if r["status"] == "completed"]
        values = {m: [r[m] for r in done if isinstance(r.get(m), float) and math.isfinite(r[m])] for m in metrics}
        out.append({"group": label, "jobs": [r["job"] for r in members],
                    "stats": {m: describe(v) for m, v in values.items()}})
    return out


def sort_groups(groups: list[dict[str, Any]], objective: str | None, direction: str) -> list[dict[str, Any]]:
    """Best objective mean first; groups without one last, in their order."""
    sign = -1.0 if direction == "maximize" else 1.0

    def key(group: dict[str, Any]) -> tuple[int, float]:
        mean = group["stats"].get(objective, {}).get("mean") if objective else None
        return (0, sign * mean) if mean is not None else (1, 0.0)

    return sorted(groups, key=key)


def repeated(groups: list[dict[str, Any]]) -> bool:
    """Whether any group holds more than one job (else there is nothing to summarize across seeds)."""
    return any(len(g["jobs"]) > 1 for g in groups)
