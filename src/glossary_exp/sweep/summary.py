"""One summary per sweep, rebuilt from the files on disk: a row per job sorted by the objective, and
statistics over the seeds of each configuration.

``python -m glossary_exp summary <sweep_dir> [--by KEY]`` writes ``summary.csv`` (every job, every
metric), ``summary.md`` (what is printed), ``summary_groups.csv`` and ``summary.png`` (with repeats)
into the sweep directory. Imports neither torch nor Optuna.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from glossary_exp.atomic import remove_stale, write_text_atomically
from glossary_exp.diskfull import explain, out_of_space
from glossary_exp.provenance.record import code_label
from glossary_exp.rundir import METRICS_FILE, held, read_metrics
from glossary_exp.sweep.follow import progress
from glossary_exp.sweep.stats import group_stats, repeated, sort_groups
from glossary_exp.sweep.study import search_settings
from glossary_exp.sweep.table import WIDTH, group_table, job_table

SUMMARY_CSV, SUMMARY_MD, SUMMARY_GROUPS = "summary.csv", "summary.md", "summary_groups.csv"
STATS = ("n", "mean", "sd", "ci_low", "ci_high")
FIXED = ("job", "status")
TRAILING = ("commit", "duration_s", "overrides", "run_dir", "error")


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
            "commit": code_label(record), "duration_s": record.get("duration_s"), "overrides": list(overrides or []),
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


def _cell(value: Any) -> str:
    """A CSV cell: everything, floats at full precision."""
    if value is None:
        return ""
    return " ".join(value) if isinstance(value, list) else str(value)


def shared_overrides(rows: list[dict[str, Any]]) -> list[str]:
    """Overrides every job of the sweep has (the command line's fixed ones)."""
    lists = [row["overrides"] for row in rows if row["overrides"]]
    return [o for o in lists[0] if all(o in other for other in lists[1:])] if len(lists) > 1 else []


def job_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    """A row per job of the sweep, by job number."""
    return [row_of(d) for d in job_dirs(Path(sweep_dir))]


def write_csv(path: Path, rows: list[dict[str, Any]], cols: list[str]) -> None:
    """The rows as CSV, written whole or not at all (a summary rebuilt while a reader has it open stays readable)."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=cols, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({c: _cell(row.get(c)) for c in cols} for row in rows)
    write_text_atomically(path, text.getvalue())


def group_csv_rows(groups: list[dict[str, Any]], metrics: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The group statistics as CSV rows: group, jobs, then n, mean, sd, ci_low, ci_high of each metric."""
    cols = ["group", "jobs", *(f"{m} {s}" for m in metrics for s in STATS)]
    rows = [{"group": " ".join(g["group"]), "jobs": " ".join(map(str, g["jobs"])),
             **{f"{m} {s}": g["stats"][m][s] for m in metrics for s in STATS}} for g in groups]
    return rows, cols


def summarize(sweep_dir: Path, objective: str | None = None, direction: str | None = None,
              note: str | None = None, rows: list[dict[str, Any]] | None = None, by: list[str] | None = None) -> str:
    """Write summary.csv, summary.md (and, with repeats, summary_groups.csv and summary.png); the text to print.

    ``rows``: the :func:`job_rows` of ``sweep_dir`` when the caller has read them already. ``by``: group
    jobs by these override keys (default: jobs that differ only in their seed form a group).
    """
    from glossary_exp.sweep.figure import draw

    sweep_dir = Path(sweep_dir)
    rows = job_rows(sweep_dir) if rows is None else rows
    found_objective, found_direction = objective_of(sweep_dir, rows)
    objective, direction = objective or found_objective, direction or found_direction
    rows = sort_rows(rows, objective, direction)
    cols = columns(rows, objective)
    write_csv(sweep_dir / SUMMARY_CSV, rows, cols)
    statuses = [row["status"] for row in rows]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
    order = f"sorted by {objective} ({direction})" if objective else "by job number"
    lines = [f"Sweep {sweep_dir}", f"{len(rows)} jobs ({counts or 'none'}), {order}" + (f"; {note}" if note else "")]
    lines += textwrap.wrap(f"Every job: {' '.join(shared_overrides(rows))}", WIDTH, subsequent_indent="  ",
                           break_on_hyphens=False) if shared_overrides(rows) else []
    metrics = [c for c in cols if c not in (*FIXED, *TRAILING)]
    table, left_out = job_table(rows, metrics, objective)
    lines += ["", *table]
    if left_out:
        lines += textwrap.wrap(f"In {SUMMARY_CSV} too: {', '.join(left_out)}", WIDTH, break_on_hyphens=False)
    groups = sort_groups(group_stats(rows, metrics, by), objective, direction)
    if by or repeated(groups):
        grouping = f"by {', '.join(by)}" if by else "jobs that differ only in their seed"
        lines += ["", f"Groups ({grouping}): mean over completed jobs; 95% CI of the mean by Student's t", "",
                  *group_table(groups, metrics, objective)]
        write_csv(sweep_dir / SUMMARY_GROUPS, *group_csv_rows(groups, metrics))
    figure = draw(sweep_dir, rows, objective)
    written = ", ".join([SUMMARY_CSV, SUMMARY_MD] + ([SUMMARY_GROUPS] if by or repeated(groups) else [])
                        + ([figure.name] if figure else []))
    text = "\n".join(lines)
    write_text_atomically(sweep_dir / SUMMARY_MD, text + "\n")
    return f"{text}\nWritten beside the jobs: {written}"


def main(argv: list[str]) -> int:
    """``summary <sweep_dir> [--objective M] [--direction minimize|maximize] [--by KEY[,KEY]]``."""
    parser = argparse.ArgumentParser(prog="python -m glossary_exp summary",
                                     description="Rebuild a sweep's summary table from its job directories.")
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--objective", help="metric to sort by (default: the search's objective or best/<monitor>)")
    parser.add_argument("--direction", choices=("minimize", "maximize"))
    parser.add_argument("--by", help="group jobs by these override keys, e.g. optimizer or optimizer,optimizer.lr "
                                     "(default: jobs that differ only in their seed)")
    parser.add_argument("--watch", nargs="?", type=float, const=30.0, metavar="SECONDS",
                        help="a sweep that did not wait (hydra.launcher.wait=false): a line of progress every "
                             "SECONDS (30), then the table once SLURM's queue holds none of its jobs")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        parser.error(f"{args.sweep_dir} is not a directory")
    if args.watch is not None and not args.watch > 0:
        parser.error(f"--watch takes seconds > 0, got {args.watch:g}")
    by = [k.strip() for k in args.by.split(",") if k.strip()] if args.by else None
    removed = remove_stale(args.sweep_dir)  # a summary or job killed mid-write; never a live writer's
    if removed:
        print(f"removed {len(removed)} partial file(s) a killed writer left: {', '.join(map(str, removed))}")
    try:
        while True:
            rows = job_rows(args.sweep_dir)
            note, ended = progress(args.sweep_dir, rows)
            if args.watch is None or ended:
                print(summarize(args.sweep_dir, args.objective, args.direction, note=note, rows=rows, by=by))
                return 0
            statuses = [row["status"] for row in rows]
            counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses))) or "no job started"
            print(f"{time.strftime('%H:%M:%S')} {counts}; {note}", flush=True)
            time.sleep(args.watch)
    except KeyboardInterrupt:
        return 130
    except OSError as err:
        full = out_of_space(err)
        if full is None:
            raise
        print(f"error: {explain(full, args.sweep_dir)}; once space is free, run the command again", file=sys.stderr)
        return 1
