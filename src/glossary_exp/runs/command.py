"""``python -m glossary_exp runs [DIR ...]``: every run and sweep job found, newest first, one table.

Reads only the runs' records (:mod:`glossary_exp.runs.index`); writes nothing. ``--format csv`` and
``--format json`` are for scripts: every field, every metric.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from glossary_exp.errors import ConfigError, UsageError, nearest, printable
from glossary_exp.runs.index import Run, find_runs
from glossary_exp.runs.query import condition, moment, select, sort_runs
from glossary_exp.sweep.table import render, short

# paths.output_dir's default (conf/paths/default.yaml): GLOSSARY_EXP_OUTPUT_DIR, else outputs/.
DEFAULT_ROOT = Path(os.environ.get("GLOSSARY_EXP_OUTPUT_DIR") or "outputs")
COLUMNS = ("run", "experiment", "task", "status", "metric", "value", "started", "duration", "commit")


STATUSES = ("completed", "failed", "interrupted", "running", "pruned")
TASKS = ("fit", "test", "predict")
CELL_WIDTH = 60  # a table cell's most characters (a long name would widen every line)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr, exit 2, as every other refusal of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog.removeprefix('python -m glossary_exp ')}: {printable(message)} "
                     f"(see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m glossary_exp runs",
                                description="List every run and sweep job under DIR (default outputs/), newest first.")
    p.add_argument("dirs", nargs="*", type=Path, metavar="DIR", help="run, sweep or output directories")
    p.add_argument("-e", "--experiment", action="append", default=[],
                   help="the run's name: its experiment's, or name= (shell pattern: mnist_*)")
    p.add_argument("-s", "--status", action="append", default=[],
                   help="completed, failed, interrupted, running or pruned (repeat or join with commas)")
    p.add_argument("--task", action="append", default=[], help="fit, test or predict")
    p.add_argument("--since", help="started at or after: 7d, 3h, 30m, today, 2026-12-01, '2026-12-01 14:30'")
    p.add_argument("--until", help="started at or before (same forms)")
    p.add_argument("-w", "--where", action="append", default=[], metavar="COND",
                   help="a metric condition, e.g. val/acc>=0.98 (repeat for several)")
    p.add_argument("--sort", default="-started",
                   help="a column (run, experiment, task, status, metric, value, started, duration, commit, seed) "
                        "or a metric, '-' first for descending (default -started; e.g. --sort=-val/acc)")
    p.add_argument("-n", "--limit", type=int, default=50, help="show at most N runs (0: all; default 50)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    roots = args.dirs or [DEFAULT_ROOT]
    missing = [str(d) for d in roots if not d.is_dir()]
    if missing:
        what = "is a file, not a directory" if Path(missing[0]).exists() else "no such directory"
        print(f"error: {printable(', '.join(missing))}: {what} (give the runs' output directory, "
              f"paths.output_dir, default {DEFAULT_ROOT}/)", file=sys.stderr)
        return 2
    if args.limit < 0:
        print(f"error: --limit {args.limit}: give 0 (all) or a positive number", file=sys.stderr)
        return 2
    statuses = [s.strip() for given in args.status for s in given.split(",") if s.strip()]
    tasks = [t.strip() for given in args.task for t in given.split(",") if t.strip()]
    try:
        for flag, given, allowed in (("--status", statuses, STATUSES), ("--task", tasks, TASKS)):
            for value in given:
                check_choice(flag, value, allowed)
        since = moment(args.since, "--since") if args.since else None
        until = moment(args.until, "--until") if args.until else None
        conditions = [condition(c) for c in args.where]
    except UsageError as err:
        print(f"error: {printable(str(err))}", file=sys.stderr)
        return 2
    found = find_runs(roots)
    selected = select(found.runs, args.experiment, statuses, tasks, since, until, conditions)
    try:
        runs = sort_runs(selected, args.sort, COLUMNS)
    except UsageError as err:
        print(f"error: {printable(str(err))}", file=sys.stderr)
        return 2
    for note in found.skipped[:10]:
        print(f"skipped {printable(note)}", file=sys.stderr)
    if len(found.skipped) > 10:
        print(f"skipped {len(found.skipped) - 10} more directories whose record could not be read", file=sys.stderr)
    shown = runs[: args.limit] if args.limit else runs
    if args.format == "json":
        print(json.dumps([as_dict(run) for run in shown], indent=1, default=str))
    elif args.format == "csv":
        write_csv(shown)
    else:
        print_table(shown, len(runs), len(found.runs))
    return 0


def check_choice(flag: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{flag} {value}: not one of {', '.join(allowed)}{nearest(value, allowed)}")


def cells(run: Run) -> dict[str, str]:
    """The table's cells for ``run``."""
    monitor = run.monitor
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started)) if run.started else ""
    duration = run.record.get("duration_s")
    return {"run": run.id, "experiment": run.experiment, "task": str(run.record.get("task", "")),
            "status": run.status, "metric": monitor[0] if monitor else "",
            "value": short(monitor[1]) if monitor and monitor[1] is not None else "", "started": started,
            "duration": _duration(duration) if isinstance(duration, (int, float)) else "", "commit": run.commit}


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f}m" if seconds < 3600 else f"{seconds / 3600:.1f}h"


def as_dict(run: Run) -> dict[str, Any]:
    """Everything ``--format json`` gives of a run: the table's fields, its directory and every metric."""
    monitor = run.monitor
    return {"run": run.id, "run_dir": str(run.path), "experiment": run.experiment, "task": run.record.get("task"),
            "status": run.status, "metric": monitor[0] if monitor else None,
            "value": monitor[1] if monitor else None,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(run.started)) if run.started else None,
            "duration_s": run.record.get("duration_s"), "commit": run.record.get("commit"),
            "dirty": run.record.get("dirty"), "seed": run.record.get("seed"), "overrides": run.record.get("overrides"),
            "error": run.record.get("error"), "reproduces": run.record.get("reproduces"),
            "reproduced_exactly": run.record.get("reproduced_exactly"), "metrics": run.metrics}


def write_csv(runs: list[Run]) -> None:
    metrics = sorted({m for run in runs for m in run.metrics})
    fields = [f for f in as_dict(runs[0]) if f != "metrics"] + metrics if runs else list(COLUMNS)
    writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for run in runs:
        row = {**as_dict(run), **run.metrics}
        row["overrides"] = " ".join(row["overrides"] or [])
        writer.writerow(row)


def _cut(text: str) -> str:
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 3] + "..."


def print_table(shown: list[Run], matched: int, total: int) -> None:
    if not shown:
        print(f"No run matches ({total} found)." if total else "No runs found.")
        return
    rows = [cells(run) for run in shown]
    table = [[_cut(printable(row[c])) for c in COLUMNS] for row in rows]
    for line in render(list(COLUMNS), table):
        print(line)
    more = f"; {matched - len(shown)} more (--limit 0 shows all)" if matched > len(shown) else ""
    print(f"{len(shown)} of {matched} matching run(s), {total} found{more}. "
          "commit: + marks an uncommitted change (its patch's hash).")
