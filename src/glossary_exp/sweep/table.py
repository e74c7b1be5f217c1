"""The sweep summary's tables as printed and in summary.md: what differs between jobs, the status and the
metrics that matter, each once, within :data:`WIDTH` characters a line (``summary.csv`` keeps everything).

A metric equal to another one in every job (``val/best_acc`` and ``best/val/acc``) is shown once, under
the objective's name if it is one of them; learning rates logged by the LR monitor are left to the CSV
(the overrides show them). When the table is still too wide, the least important metrics go first
(training, then validation, then test; the objective always stays), then long cells are cut.
"""

from __future__ import annotations

import math
from typing import Any

from glossary_exp.names import short_override
from glossary_exp.sweep.stats import as_dict, varying_keys

WIDTH = 120


def short(value: Any, digits: int = 5) -> str:
    """A cell: floats to ``digits`` significant digits, lists joined, None empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    return " ".join(map(str, value)) if isinstance(value, list) else " ".join(str(value).split())


def differing(row: dict[str, Any], keys: list[str]) -> str:
    given = as_dict(row["overrides"])
    return " ".join(short_override(f"{k}={given[k]}") for k in keys if k in given)


def learning_rate(metric: str) -> bool:
    """The learning-rate monitor's columns (``lr``, ``lr/0``, Lightning's ``lr-Adam``): the overrides show the lr."""
    return metric == "lr" or metric.startswith(("lr/", "lr-"))


def metric_priority(metric: str, objective: str | None) -> tuple[int, str]:
    """Lower is kept longer: the objective, then test, validation, best, other, and training metrics."""
    if metric == objective:
        return 0, metric
    for rank, prefix in enumerate(("test/", "val/", "best/"), start=1):
        if metric.startswith(prefix):
            return rank, metric
    return (5 if metric.startswith("train/") else 4), metric


def shown_metrics(rows: list[dict[str, Any]], metrics: list[str], objective: str | None) -> list[str]:
    """Metrics worth a column, most important first, each distinct column of values once."""
    seen: dict[tuple[Any, ...], str] = {}
    for metric in sorted(metrics, key=lambda m: metric_priority(m, objective)):
        if learning_rate(metric) and metric != objective:
            continue
        values = tuple(row.get(metric) for row in rows)
        if all(v is None for v in values) and metric != objective:
            continue
        seen.setdefault(values, metric)  # the first (most important) name of an identical column wins
    return list(seen.values())


def render(header: list[str], cells: list[list[str]]) -> list[str]:
    """An aligned Markdown table."""
    widths = [max([len(h), *(len(line[i]) for line in cells)]) for i, h in enumerate(header)]
    lines = [header, ["-" * w for w in widths], *cells]
    return ["| " + " | ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) + " |" for line in lines]


def fit(columns: dict[str, list[str]], droppable: list[str], cuttable: list[str]) -> tuple[list[str], list[str]]:
    """``columns`` (name -> cells) rendered within WIDTH: ``droppable`` columns go, last first, then cells of
    ``cuttable`` ones are cut; (lines, the names dropped)."""
    columns = dict(columns)

    def lines() -> list[str]:
        return render(list(columns), [list(line) for line in zip(*columns.values(), strict=True)])

    dropped = []
    for name in reversed(droppable):
        if len(lines()[0]) <= WIDTH:
            break
        del columns[name]
        dropped.append(name)
    for name in cuttable:
        excess = len(lines()[0]) - WIDTH
        if excess > 0:
            room = max(12, len(name), max(map(len, columns[name]), default=0) - excess)
            columns[name] = [v if len(v) <= room else v[: room - 3] + "..." for v in columns[name]]
    return lines(), sorted(dropped, key=droppable.index)


def job_table(rows: list[dict[str, Any]], metrics: list[str], objective: str | None) -> tuple[list[str], list[str]]:
    """(lines of the per-job table and the failed jobs' errors below it, metrics it leaves to the CSV)."""
    keys = varying_keys(rows)
    shown = shown_metrics(rows, metrics, objective)
    columns = {"job": [str(r["job"]) for r in rows], "status": [r["status"] for r in rows]}
    if keys:
        columns["overrides"] = [differing(r, keys) for r in rows]
    if len({r.get("commit") for r in rows}) > 1:  # the code changed during the sweep (+: an uncommitted change)
        columns["commit"] = [r.get("commit") or "" for r in rows]
    columns.update({m: [short(r.get(m)) for r in rows] for m in shown})
    columns["time_s"] = [short(r.get("duration_s"), 2) for r in rows]
    lines, dropped = fit(columns, [m for m in shown if m != objective], ["overrides"])
    for row in rows:  # an error is a sentence: below the table, not a column that widens every line
        if row.get("error") and row["status"] not in ("completed", "pruned"):
            error = f"  job {row['job']}: {short(row['error'])}"
            lines.append(error if len(error) <= WIDTH else error[: WIDTH - 3] + "...")
    return lines, dropped + [m for m in metrics if m not in shown]


def group_table(groups: list[dict[str, Any]], metrics: list[str], objective: str | None) -> list[str]:
    """One line per group: n and each metric's mean; the objective with its sd and 95% confidence interval too."""
    means = [{m: g["stats"][m]["mean"] for m in metrics} for g in groups]
    shown = [m for m in shown_metrics(means, metrics, objective) if m != objective]
    columns = {"group": [" ".join(short_override(o) for o in g["group"]) or "(all)" for g in groups]}
    if objective:
        stats = [g["stats"].get(objective, {}) for g in groups]
        columns["n"] = [str(s.get("n", "")) for s in stats]
        columns[f"{objective} mean"] = [short(s.get("mean")) for s in stats]
        columns["sd"] = [short(s.get("sd"), 3) for s in stats]
        columns["95% CI"] = [f"[{short(s['ci_low'], 4)}, {short(s['ci_high'], 4)}]" if s.get("ci_low") is not None
                             else "" for s in stats]
    columns.update({f"{m} mean": [short(g["stats"][m]["mean"]) for g in groups] for m in shown})
    return fit(columns, [f"{m} mean" for m in shown], ["group"])[0]
