"""Finding runs: every run directory under some roots, read from its ``metrics.json`` alone.

A directory is a run when it holds a ``metrics.json`` (single runs and sweep jobs alike); nothing
below a run is searched, nor checkpoints or Hydra's files, so listing 10,000 runs reads 10,000
small files. A record that cannot be read is reported, never raised. Imports no torch.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from glossary_exp.errors import ConfigError, listing
from glossary_exp.provenance.record import code_label
from glossary_exp.rundir import CONFIG_FILE, METRICS_FILE, STAMP_PATTERN, held, identify, read_record

# The record's fields that runs reads, with the types a record written by glossary_exp gives them.
FIELDS: dict[str, type | tuple[type, ...]] = {
    "status": str, "metrics": (dict, type(None)), "monitor": (list, type(None)), "overrides": (list, type(None)),
    "name": (str, type(None)), "task": (str, type(None)), "started": (str, type(None)),
    "duration_s": (int, float, type(None)), "commit": (str, type(None)), "patch_sha256": (str, type(None))}
NOT_RUNS = frozenset({"checkpoints", ".hydra", "provenance", "cache", "__pycache__", ".git"})
MAX_DEPTH = 8  # outputs/<name>/multirun_<stamp>/<job> is 3 deep; deeper trees are someone else's files


@dataclass
class Run:
    """One run as ``runs`` shows it, from its directory and its record."""

    path: Path
    id: str
    record: dict[str, Any]
    experiment: str
    status: str
    started: float | None  # seconds since the epoch
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def monitor(self) -> tuple[str, float | None] | None:
        """(the metric the run chose its best checkpoint by, its best value), or None."""
        monitor = self.record.get("monitor")
        if not monitor or not isinstance(monitor[0], str):
            return None
        name = str(monitor[0])
        return name, self.metrics.get(f"best/{name}", self.metrics.get(name))

    @property
    def commit(self) -> str:
        return code_label(self.record)

    def value(self, key: str) -> Any:
        """A column or a metric by name (``status``, ``value``, ``val/acc``...), None when the run has none."""
        if key in self.metrics:
            return self.metrics[key]
        monitor = self.monitor
        columns = {"run": self.id, "id": self.id, "experiment": self.experiment, "status": self.status,
                   "started": self.started, "commit": self.commit, "duration": self.record.get("duration_s"),
                   "metric": monitor[0] if monitor else None, "value": monitor[1] if monitor else None}
        return columns[key] if key in columns else self.record.get(key)


@dataclass
class Found:
    runs: list[Run]
    skipped: list[str]  # "<dir>: <why>" for each directory whose record could not be read


def find_runs(roots: list[Path]) -> Found:
    """Every run under ``roots`` (each a run, a sweep or a tree of them), each real directory once."""
    found = Found([], [])
    seen: set[tuple[int, int]] = set()  # (device, inode): a link loop or a root given twice is walked once
    for root in roots:
        _walk(Path(root), 0, found, seen)
    return found


def _walk(directory: Path, depth: int, found: Found, seen: set[tuple[int, int]]) -> None:
    try:
        info = directory.stat()
    except OSError:
        return
    if (info.st_dev, info.st_ino) in seen:
        return
    seen.add((info.st_dev, info.st_ino))
    record, why = read_record(directory / METRICS_FILE)
    if record is not None or why is not None:
        run = _run(directory, record) if record is not None else f"{METRICS_FILE} {why}"
        if isinstance(run, Run):
            found.runs.append(run)
        else:
            found.skipped.append(f"{directory}: {run}")
        return
    if (directory / ".hydra").is_dir():  # a run that never wrote its record: killed while it started
        found.runs.append(_run(directory, {"status": "running"}))  # type: ignore[arg-type]  # always a Run
        return
    if depth >= MAX_DEPTH:
        return
    try:
        entries = sorted(e.name for e in os.scandir(directory) if e.is_dir() and e.name not in NOT_RUNS)
    except OSError as err:
        found.skipped.append(f"{directory}: cannot be listed ({err.strerror})")
        return
    for name in entries:
        _walk(directory / name, depth + 1, found, seen)


def _run(path: Path, record: dict[str, Any]) -> Run | str:
    """The run in ``path``, or why its record is not one glossary_exp wrote."""
    if not all(isinstance(record.get(key), types) for key, types in FIELDS.items()):
        return f"{METRICS_FILE} is not a run record"
    metrics = {k: float(v) for k, v in (record.get("metrics") or {}).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    status = record["status"]
    if status == "running" and not held(path):
        status = "interrupted"  # its process died: nothing holds the run's lock
    run_id, experiment = identify(path)
    return Run(path, run_id, record, str(record.get("name") or experiment), status, _started(record, path), metrics)


def _started(record: dict[str, Any], path: Path) -> float | None:
    """When the run started: its record, else the stamp in its (or its sweep's) directory name."""
    if isinstance(record.get("started"), str):
        try:
            return datetime.strptime(record["started"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
        except ValueError:
            pass
    for name in (path.name, path.parent.name.removeprefix("multirun_")):
        stamp = STAMP_PATTERN.match(name)
        if stamp:
            return time.mktime(time.strptime(stamp.group(1), "%Y-%m-%d_%H-%M-%S"))
    return None


def resolve_run(ref: str, roots: list[Path]) -> Run:
    """The run ``ref`` names: its directory, or its id (or the start of one) as ``runs`` shows it."""
    path = Path(ref)
    if (path / METRICS_FILE).exists() or (path / CONFIG_FILE).is_file():
        record, why = read_record(path / METRICS_FILE)
        run = _run(path, record) if record is not None else f"{METRICS_FILE} {why or 'is not written yet'}"
        if isinstance(run, Run):
            return run
        raise ConfigError(f"{ref}: {run}")
    found = find_runs(roots)
    exact = [r for r in found.runs if r.id == ref]
    matches = exact or [r for r in found.runs if r.id.startswith(ref)]
    where = ", ".join(map(str, roots))
    if not matches:
        raise ConfigError(f"{ref}: not a run directory, nor the id of a run under {where} "
                          "(`python -m glossary_exp runs` lists them)")
    if len(matches) > 1:
        raise ConfigError(f"{ref} names {len(matches)} runs under {where}: "
                          f"{listing(sorted(r.id for r in matches), 6)}; give more of the id")
    return matches[0]
