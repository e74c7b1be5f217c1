"""A grid that resumes: killed mid-way (SIGKILL of its process group) and rerun, it ends as an unbroken grid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from conftest import QUIET, read_events, read_metrics, run_cli
from glossary_exp.sweep.summary import job_rows

# seed=0: the broken and the unbroken grid compute the same numbers; 8,000 samples make a job last
# long enough that the kill lands inside job 1, after its first checkpoint.
GRID = ("-m", "experiment=random_regression", "data.samples=8000", "trainer.max_epochs=3", "seed=0",
        "optimizer.lr=0.01,0.005,0.002")


def jobs_of(output_dir: Path) -> dict[int, Path]:
    (sweep_dir,) = output_dir.glob("*/multirun_*")
    return {int(p.parent.name.split("_")[0]): p.parent for p in sweep_dir.glob("*/metrics.json")}


def scalar_steps(run_dir: Path) -> Counter[tuple[str, int]]:
    """How often TensorBoard shows each (tag, step) of the run (Lightning logs ``epoch`` twice per step)."""
    events = read_events(run_dir)
    return Counter((tag, e.step) for tag in events.Tags()["scalars"] for e in events.Scalars(tag))


def test_a_killed_grid_resumes_and_ends_as_the_unbroken_grid(cli, tmp_path: Path) -> None:
    unbroken = cli(*GRID)
    assert unbroken.returncode == 0, unbroken.stderr[-3000:]
    expected = {num: read_metrics(job)["metrics"] for num, job in jobs_of(cli.output_dir).items()}
    steps = {num: scalar_steps(job) for num, job in jobs_of(cli.output_dir).items()}
    assert len(expected) == 3

    output_dir = tmp_path / "broken"
    cmd = [sys.executable, "-m", "glossary_exp", *GRID, f"paths.output_dir={output_dir}", *QUIET]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 180
    while not list(output_dir.glob("*/multirun_*/1_*/checkpoints/last.ckpt")) and time.time() < deadline:
        assert process.poll() is None, "the grid ended before the kill"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # no handler runs: job 1's record is left "running"
    process.wait(timeout=30)
    jobs = jobs_of(output_dir)
    assert read_metrics(jobs[1])["status"] == "running" and 2 not in jobs
    (sweep_dir,) = output_dir.glob("*/multirun_*")
    assert [row["status"] for row in job_rows(sweep_dir)] == ["completed", "interrupted"]  # its lock is free

    resumed = run_cli(*GRID, f"hydra.sweep.dir={sweep_dir}", output_dir=output_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert "1 skipped, 2 to run" in log and "job 1: resume" in log
    jobs = jobs_of(output_dir)
    assert {num: read_metrics(job)["metrics"] for num, job in jobs.items()} == expected
    assert len(read_metrics(jobs[1])["resumed"]) == 1 and "resumed" not in read_metrics(jobs[0])
    assert "3 jobs (3 completed)" in resumed.stdout  # the summary covers the skipped job too
    assert {num: scalar_steps(job) for num, job in jobs.items()} == steps  # no event shown twice

    # A failed job runs again from scratch: none of its old files or events are left.
    record = read_metrics(jobs[2])
    (jobs[2] / "metrics.json").write_text(json.dumps({**record, "status": "failed"}))
    old_events = {p.name for p in jobs[2].glob("events.out.tfevents.*")}
    again = run_cli(*GRID, f"hydra.sweep.dir={sweep_dir}", output_dir=output_dir)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "2 skipped, 1 to run" in again.stdout + again.stderr
    assert read_metrics(jobs[2])["metrics"] == expected[2] and "resumed" not in read_metrics(jobs[2])
    assert old_events.isdisjoint(p.name for p in jobs[2].glob("events.out.tfevents.*"))
    assert scalar_steps(jobs[2]) == steps[2]
