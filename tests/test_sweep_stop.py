"""``hydra.sweeper.stop_on_failure=true``: the first failed job stops the grid; the summary is written, exit 1.

On the SLURM launcher (the array's other jobs are cancelled) it is tested in tests/test_sweep_slurm.py.
"""

from __future__ import annotations

from pathlib import Path

from conftest import run_in_process

# lr=-1 is refused as the job starts (no fit), so these sweeps train only where a job runs after it.
FAILING_FIRST = ("-m", "experiment=quadratic_gd", "optimizer.lr=-1,0.1,0.05")


def test_the_first_failure_stops_the_grid_and_the_summary_says_so(tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    done = run_in_process(*FAILING_FIRST, "hydra.sweeper.stop_on_failure=true", output_dir=output_dir)
    assert done.returncode == 1 and done.escaped is None, done.stderr[-3000:]
    (sweep,) = output_dir.glob("*/multirun_*")
    assert sorted(p.name for p in sweep.iterdir() if p.name[0].isdigit()) == ["0_lr--1"]  # nothing launched after
    out = done.stdout
    assert "Stopped at the first failure (hydra.sweeper.stop_on_failure=true): job 0 failed; 2 other job(s) did " \
           "not run to their end." in out
    assert f"hydra.sweep.dir={sweep}" in out.split("Continue it with: python -m glossary_exp -m ")[1].splitlines()[0]
    summary = (sweep / "summary.md").read_text()
    assert "1 jobs (1 failed)" in summary and "stopped at its first failure" in summary
    assert "optimizer.lr must be > 0, got -1" in summary
    assert done.stderr.splitlines()[-1] == "error: 1 job(s) of the sweep failed; their errors are in the summary above"


def test_carrying_on_stays_the_default(tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    done = run_in_process("-m", "experiment=quadratic_gd", "optimizer.lr=-1,0.1", "trainer.max_epochs=1",
                          output_dir=output_dir)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "2 jobs (1 completed, 1 failed), sorted by" in done.stdout and "Stopped" not in done.stdout
