"""One table per sweep, rebuilt from the files on disk: a row per job, sorted by the objective.

``python -m glossary_exp summary <sweep_dir>`` writes ``summary.csv`` and ``summary.md`` into the
sweep directory and prints the table. Imports neither torch nor Optuna.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from glossary_exp.rundir import METRICS_FILE, held, read_metrics
from glossary_exp.sweep.study import search_settings

SUMMARY_CSV, SUMMARY_MD = "summary.csv", "summary.md"
FIXED = ("job", "status")
TRAILING = ("duration_s", "overrides", "run_dir", "error")
MAX_CELL = 80  # characters of an error shown in the Markdown table; the CSV has all of it


def job_dirs(sweep_dir: Path) -> list[Path]:
    """The job directories of a sweep (``<num>_<overrides>``), by job number."""
    dirs = [p for p in sweep_dir.iterdir() if p.is_dir() and ((p / ".hydra").is_dir() or (p / METRICS_FILE).is_file())]
    return sorted(dirs, key=lambda p: (_job_number(p), p.name))


def _job_number(path: Path) -> int:
    head = path.name.split("_", 1)[0]
    return int(head) if head.isdigit() else -1


def row_of(run_dir: Path) -> dict[str, Any]:
    """One job's row from its metrics.json (``no record`` if the job never wrote one)."""
    record = read_metrics(run_dir) or {}
    overrides = record.get("overrides")
    if overrides is None and (run_dir / ".hydra" / "overrides.yaml").is_file():
        overrides = list(OmegaConf.load(run_dir / ".hydra" / "overrides.yaml"))
    metrics = {k: float(v) for k, v in (record.get("metrics") or {}).items() if isinstance(v, (int, float))}
    status = record.get("status", "no record")
    if status == "running" and not held(run_dir):
        status = "interrupted"  # its process died (a killed sweep): nothing holds the run's lock
    return {"job": _job_number(run_dir), "status": status, **metrics,
            "duration_s": record.get("duration_s"), "overrides": list(overrides or []),
            "run_dir": str(run_dir), "error": record.get("error", ""), "_monitor": record.get("monitor")}


def objective_of(sweep_dir: Path, rows: list[dict[str, Any]]) -> tuple[str | None, str]:
    """(metric, minimize|maximize): the search's objective, else the jobs' checkpoint monitor (``best/<metric>``)."""
    multirun = sweep_dir / "multirun.yaml"
    search = search_settings(OmegaConf.load(multirun).hydra) if multirun.is_file() else None
    if search is not None:
        return search.objective, search.direction
    for row in rows:
        if row["_monitor"]:
            metric, mode = row["_monitor"]
            return f"best/{metric}", "maximize" if mode == "max" else "minimize"
    best = sorted({k for row in rows for k in row if k.startswith("best/")})
    return (best[0], "minimize") if best else (None, "minimize")


def sort_rows(rows: list[dict[str, Any]], objective: str | None, direction: str) -> list[dict[str, Any]]:
    """Jobs with a finite objective first, best first; then the rest by job number."""
    sign = -1.0 if direction == "maximize" else 1.0

    def key(row: dict[str, Any]) -> tuple[int, float, int]:
        value = row.get(objective) if objective else None
        if isinstance(value, float) and math.isfinite(value):
            return 0, sign * value, row["job"]
        return 1, 0.0, row["job"]

    return sorted(rows, key=key)


def columns(rows: list[dict[str, Any]], objective: str | None) -> list[str]:
    """job, status, the objective, the other metrics (sorted), then duration, overrides, run dir, error."""
    metrics = sorted({k for row in rows for k in row if k not in (*FIXED, *TRAILING, "_monitor")} - {objective})
    return [*FIXED, *([objective] if objective else []), *metrics, *TRAILING]


def _cell(value: Any, markdown: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    text = " ".join(value) if isinstance(value, list) else str(value)
    if markdown:
        text = " ".join(text.split()).replace("|", "\\|")
        text = text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."
    return text


def shared_overrides(rows: list[dict[str, Any]]) -> list[str]:
    """Overrides every job of the sweep has (the command line's fixed ones)."""
    lists = [row["overrides"] for row in rows if row["overrides"]]
    return [o for o in lists[0] if all(o in other for other in lists[1:])] if len(lists) > 1 else []


def markdown(rows: list[dict[str, Any]], cols: list[str]) -> str:
    """An aligned Markdown table: overrides that differ between jobs, run directories by name."""
    shared = set(shared_overrides(rows))

    def shown(row: dict[str, Any], col: str) -> Any:
        if col == "overrides":
            return [o for o in row[col] if o not in shared]
        if col == "duration_s" and isinstance(row[col], float):
            return f"{row[col]:.1f}"
        return Path(row[col]).name if col == "run_dir" else row.get(col)

    cells = [[_cell(shown(row, c), True) for c in cols] for row in rows]
    widths = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(cols)]
    lines = [cols, ["-" * w for w in widths], *cells]
    return "\n".join("| " + " | ".join(v.ljust(w) for v, w in zip(line, widths)) + " |" for line in lines)


def job_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    """A row per job of the sweep, by job number."""
    return [row_of(d) for d in job_dirs(Path(sweep_dir))]


def summarize(sweep_dir: Path, objective: str | None = None, direction: str | None = None,
              note: str | None = None, rows: list[dict[str, Any]] | None = None) -> str:
    """Write summary.csv and summary.md into ``sweep_dir``; returns the text to print.

    ``rows``: the :func:`job_rows` of ``sweep_dir`` when the caller has read them already.
    """
    sweep_dir = Path(sweep_dir)
    rows = job_rows(sweep_dir) if rows is None else rows
    found_objective, found_direction = objective_of(sweep_dir, rows)
    objective, direction = objective or found_objective, direction or found_direction
    rows = sort_rows(rows, objective, direction)
    cols = columns(rows, objective)
    with open(sweep_dir / SUMMARY_CSV, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({c: _cell(row.get(c), False) for c in cols} for row in rows)
    statuses = [row["status"] for row in rows]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
    order = f"sorted by {objective} ({direction})" if objective else "by job number"
    heading = f"Sweep {sweep_dir}: {len(rows)} jobs ({counts or 'none'}), {order}" + (f"; {note}" if note else "")
    shared = shared_overrides(rows)
    heading += f"\nEvery job: {' '.join(shared)}" if shared else ""
    table = markdown(rows, cols)
    (sweep_dir / SUMMARY_MD).write_text(f"{heading}\n\n{table}\n")
    return f"{heading}\n{table}\nSummary written to {sweep_dir / SUMMARY_CSV} and {SUMMARY_MD}"


def main(argv: list[str]) -> int:
    """``summary <sweep_dir> [--objective M] [--direction minimize|maximize]``."""
    parser = argparse.ArgumentParser(prog="python -m glossary_exp summary",
                                     description="Rebuild a sweep's summary table from its job directories.")
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--objective", help="metric to sort by (default: the search's objective or best/<monitor>)")
    parser.add_argument("--direction", choices=("minimize", "maximize"))
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        parser.error(f"{args.sweep_dir} is not a directory")
    print(summarize(args.sweep_dir, args.objective, args.direction))
    return 0
