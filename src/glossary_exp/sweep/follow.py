"""Following a SLURM sweep that returned right after submitting (``hydra.launcher.wait=false``, Hydra #2479).

The submitting command writes which job numbers went out in which SLURM arrays (:data:`SUBMITTED`);
``python -m glossary_exp summary <sweep> [--watch]`` reads it back to say how many jobs have not
started yet and what SLURM's queue still holds, and ``--watch`` repeats that until the queue holds
none of the sweep's jobs. The jobs themselves run, record and requeue exactly as in a waiting sweep.
Imports neither torch nor submitit.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from glossary_exp.rundir import write_json

SUBMITTED = Path(".submitit") / "submitted.json"
FINAL = ("completed", "failed", "interrupted", "pruned")


def record_submission(sweep_dir: Path, array_id: str, nums: list[int]) -> None:
    """Add one submitted array and its job numbers to the sweep's record (a grid may submit several)."""
    arrays = submitted(sweep_dir)
    arrays.append({"array": array_id, "jobs": nums, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    (sweep_dir / SUBMITTED).parent.mkdir(parents=True, exist_ok=True)
    write_json(sweep_dir / SUBMITTED, {"arrays": arrays})


def submitted(sweep_dir: Path) -> list[dict[str, Any]]:
    """The arrays a sweep that did not wait submitted; [] for any other sweep."""
    try:
        arrays = json.loads((Path(sweep_dir) / SUBMITTED).read_text()).get("arrays", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [a for a in arrays if isinstance(a, dict) and isinstance(a.get("jobs"), list)]


def queued(array_ids: list[str]) -> dict[str, int] | None:
    """SLURM states (PENDING, RUNNING...) of the arrays' tasks still queued, counted; None where squeue cannot say."""
    if shutil.which("squeue") is None:
        return None
    try:
        out = subprocess.run(["squeue", "--me", "--noheader", "--format=%i|%T"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    counts: dict[str, int] = {}
    for line in out.split():
        job_id, _, state = line.partition("|")
        array, _, tasks = job_id.partition("_")
        if array in array_ids:
            counts[state] = counts.get(state, 0) + task_count(tasks)
    return counts


def task_count(tasks: str) -> int:
    """Tasks in squeue's array-task field: ``3``, or pending ones folded as ``[2-5,7%16]``."""
    if not tasks.startswith("["):
        return 1
    total = 0
    for piece in re.sub(r"%\d+", "", tasks.strip("[]")).split(","):
        low, _, high = piece.partition("-")
        total += int(high) - int(low) + 1 if high else 1
    return total


def progress(sweep_dir: Path, rows: list[dict[str, Any]]) -> tuple[str | None, bool]:
    """(a note on what has not finished, whether the sweep has ended) for a sweep submitted without waiting.

    Ended: SLURM's queue holds none of its jobs (where squeue can be asked), else every submitted job
    has a final record. A job interrupted while SLURM still lists it is being requeued, not ended.
    """
    arrays = submitted(sweep_dir)
    if not arrays:
        return None, not any(row["status"] == "running" for row in rows)
    expected = {int(n) for a in arrays for n in a["jobs"]}
    final = {row["job"] for row in rows if row["status"] in FINAL}
    not_started = len(expected - {row["job"] for row in rows})
    queue = queued([str(a["array"]) for a in arrays])
    parts = [f"{len(expected)} submitted to SLURM as array {', '.join(str(a['array']) for a in arrays)}"]
    parts += [f"{not_started} not started"] if not_started else []
    if queue is None:
        ended = expected <= final
        parts.append("squeue is not available here: SLURM's view unknown")
    else:
        ended = not queue
        in_queue = ", ".join(f"{n} {state.lower()}" for state, n in sorted(queue.items()))
        parts.append(f"in SLURM's queue: {in_queue}" if queue else "none left in SLURM's queue")
    return "; ".join(parts), ended
