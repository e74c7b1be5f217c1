"""``-m ... --dry-run``: the jobs a multirun would launch, decided as the grid decides them, and nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import run_in_process, snapshot

GRID = ("-m", "experiment=quadratic_gd", "optimizer.lr=0.1,0.05")


def test_a_new_grid_lists_each_job_and_its_run_directory_and_creates_nothing(tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    done = run_in_process(*GRID, "seed=1,2", "--dry-run", output_dir=output_dir)
    assert done.returncode == 0 and done.escaped is None, done.stderr
    assert not output_dir.exists() and done.stderr == ""
    out = done.stdout
    assert "Dry run: nothing is launched and nothing is written." in out and "4 job(s): 4 run" in out
    (sweep,) = re.findall(r"Sweep directory (\S+) \(would be created\)", out)
    assert Path(sweep).parent == output_dir / "quadratic_gd"
    jobs = re.findall(r"#(\d+) +run +(optimizer\.lr=\S+ seed=\d)\n +(\S+)", out)
    assert [(n, o) for n, o, _ in jobs] == [("0", "optimizer.lr=0.1 seed=1"), ("1", "optimizer.lr=0.1 seed=2"),
                                             ("2", "optimizer.lr=0.05 seed=1"), ("3", "optimizer.lr=0.05 seed=2")]
    assert [d for *_, d in jobs] == [f"{sweep}/0_lr-0.1_seed-1", f"{sweep}/1_lr-0.1_seed-2",
                                     f"{sweep}/2_lr-0.05_seed-1", f"{sweep}/3_lr-0.05_seed-2"]


def test_in_an_existing_sweep_it_says_what_the_grid_would_skip_resume_and_rerun(tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    first = run_in_process(*GRID, "trainer.max_epochs=2", output_dir=output_dir)
    assert first.returncode == 0, first.stderr[-3000:]
    (sweep,) = output_dir.glob("*/multirun_*")
    _, job1 = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name[0].isdigit())
    record = json.loads((job1 / "metrics.json").read_text())
    (job1 / "metrics.json").write_text(json.dumps({**record, "status": "interrupted"}))  # as Ctrl-C leaves it
    before = snapshot(output_dir)
    # Job 2 is new: the grid grew by one value.
    plan = run_in_process("-m", "experiment=quadratic_gd", "optimizer.lr=0.1,0.05,0.02", "trainer.max_epochs=2",
                          f"hydra.sweep.dir={sweep}", "--dry-run", output_dir=output_dir)
    assert plan.returncode == 0 and plan.escaped is None, plan.stderr
    assert snapshot(output_dir) == before  # nothing written, nothing removed
    out = plan.stdout
    assert f"Sweep directory {sweep} (exists: its jobs are decided from what they left)" in out
    assert "3 job(s): 1 run, 1 resume, 1 skip" in out
    assert re.search(r"#0 +skip +optimizer\.lr=0\.1 \(completed\)", out), out
    assert re.search(r"#1 +resume +optimizer\.lr=0\.05 \(interrupted: continues from last\.ckpt\)", out), out
    assert re.search(r"#2 +run +optimizer\.lr=0\.02\n", out), out
    # The real rerun does what the plan said.
    real = run_in_process("-m", "experiment=quadratic_gd", "optimizer.lr=0.1,0.05,0.02", "trainer.max_epochs=2",
                          f"hydra.sweep.dir={sweep}", output_dir=output_dir)
    assert real.returncode == 0, real.stderr[-3000:]
    assert "job 1: resume" in real.stdout + real.stderr and "1 skipped, 2 to run" in real.stdout + real.stderr


def test_a_slurm_sweep_shows_the_request_and_its_array_tasks(tmp_path: Path) -> None:
    """Without a cluster here the request is not checked against one (tests/test_sweep_slurm.py checks it with one)."""
    output_dir = tmp_path / "outputs"
    done = run_in_process("-m", "hydra/launcher=slurm", "hydra.launcher.jobs_per_task=2", "hydra.launcher.mem_gb=2",
                          "experiment=quadratic_gd", "optimizer.lr=0.1,0.05,0.02", "--dry-run", output_dir=output_dir)
    assert done.returncode == 0 and done.escaped is None, done.stderr
    assert not output_dir.exists()
    out = done.stdout
    assert "SLURM: 3 job(s) as one job array of 2 SLURM job(s), up to 2 job(s) each" in out
    assert re.search(r"sbatch --time=60 --nodes=1 --ntasks-per-node=1 --cpus-per-task=1 --mem=2048M "
                     r"--array=0-1%16 --signal=USR2@120", out), out
    assert "array task 0: job(s) #0, #1" in out and "array task 1: job(s) #2" in out


def test_a_search_shows_its_space_and_budget(tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    done = run_in_process("-m", "hparams_search=sine_cubic", "hydra.sweeper.n_trials=7", "--dry-run",
                          output_dir=output_dir)
    assert done.returncode == 0 and done.escaped is None, done.stderr
    assert not output_dir.exists()
    assert "An Optuna search of up to 7 trial(s), minimize train/loss" in done.stdout
    assert "optimizer.lr: FloatDistribution(" in done.stdout


def test_a_dry_run_needs_a_multirun_and_bad_input_is_refused_as_in_a_real_sweep(tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    single = run_in_process("experiment=quadratic_gd", "--dry-run", output_dir=output_dir)
    assert (single.returncode, single.stderr) == (
        2, "error: --dry-run shows what a multirun would launch; give it with -m (--multirun)\n")
    bad = run_in_process("-m", "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=0", "experiment=quadratic_gd",
                         "optimizer.lr=0.1,0.2", "--dry-run", output_dir=output_dir)
    assert (bad.returncode, bad.stderr) == (2, "error: hydra.launcher.cpus_per_task must be >= 1, got 0\n")
    tasks = run_in_process("-m", "hydra/launcher=slurm", "hydra.launcher.tasks_per_node=2", "experiment=quadratic_gd",
                           "optimizer.lr=0.1,0.2", "--dry-run", output_dir=output_dir)
    assert tasks.returncode == 2 and tasks.stderr.startswith(
        "error: hydra.launcher.tasks_per_node=2: every SLURM task would run the same jobs"), tasks.stderr
    assert not output_dir.exists()
