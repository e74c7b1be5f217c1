"""Grid sweeps through the real CLI: every job runs, a failing one is recorded, the summary and TensorBoard see all."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

from conftest import read_events, read_hparams, read_metrics
from glossary_exp.sweep.summary import summarize

TINY = ("experiment=random_regression", "data.samples=200", "trainer.max_epochs=2")


def sweep_dir_of(output_dir: Path) -> Path:
    (sweep_dir,) = output_dir.glob("*/multirun_*")
    return sweep_dir


def summary_rows(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "summary.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def swept_lr(row: dict[str, str]) -> str:
    return dict(o.split("=", 1) for o in row["overrides"].split())["optimizer.lr"]


def printed_rows(stdout: str) -> list[str]:
    """Table rows of the summary printed at the end (header and rule excluded)."""
    lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    return lines[2:]


def test_grid_runs_every_job_and_tensorboard_sees_each(cli) -> None:
    done = cli("-m", *TINY, "optimizer=sgd,adam", "optimizer.lr=0.01,0.001")
    assert done.returncode == 0, done.stderr[-3000:]
    sweep_dir = sweep_dir_of(cli.output_dir)
    jobs = sorted(p for p in sweep_dir.iterdir() if (p / "metrics.json").is_file())
    assert len(jobs) == 4
    assert all(read_metrics(job)["status"] == "completed" for job in jobs)

    rows = summary_rows(sweep_dir)
    assert len(rows) == 4 and len(printed_rows(done.stdout)) == 4
    assert "sorted by best/val/loss (minimize)" in done.stdout
    objective = [float(row["best/val/loss"]) for row in rows]
    assert objective == sorted(objective)
    assert {row["run_dir"] for row in rows} == {str(job) for job in jobs}
    assert all(float(row["duration_s"]) > 0 and "optimizer.lr=" in row["overrides"] for row in rows)
    assert (sweep_dir / "summary.md").read_text().count("| completed") == 4

    # `tensorboard --logdir <sweep dir>`: one run per job, named by its overrides, and the sweep's own picture.
    multiplexer = EventMultiplexer().AddRunsFromDirectory(str(sweep_dir))
    assert set(multiplexer.Runs()) == {job.name for job in jobs} | {"."}
    assert any(job.name.startswith("3_lr-0.001_") and "_optimizer-adam_" in job.name for job in jobs)
    key_sets = []
    for job in jobs:
        hparams = read_hparams(job)
        overrides = dict(o.split("=", 1) for o in read_metrics(job)["overrides"])
        assert hparams["optimizer/name"] == overrides["optimizer"]
        assert hparams["optimizer/lr"] == pytest.approx(float(overrides["optimizer.lr"]))
        assert {"train/loss", "val/loss", "test/loss"} <= set(read_events(job).Tags()["scalars"])
        key_sets.append(set(hparams))
    # SGD has momentum, Adam has betas: each job lists both, so the dashboard hides no column.
    assert all(keys == key_sets[0] for keys in key_sets)
    assert {"optimizer/momentum", "optimizer/betas"} <= key_sets[0]

    # The summary is rebuilt from disk by a command that does not import torch.
    before = (sweep_dir / "summary.csv").read_text()
    (sweep_dir / "summary.csv").unlink()
    code = ("import runpy, sys; sys.argv = ['glossary_exp', 'summary', sys.argv[1]]\n"
            "try: runpy.run_module('glossary_exp', run_name='__main__')\n"
            "except SystemExit as e: assert not e.code, e.code\n"
            "assert 'torch' not in sys.modules")
    rebuilt = subprocess.run([sys.executable, "-c", code, str(sweep_dir)], capture_output=True, text=True)
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert (sweep_dir / "summary.csv").read_text() == before
    assert len(printed_rows(rebuilt.stdout)) == 4


def test_failing_jobs_are_recorded_and_the_others_run(cli) -> None:
    # lr=-1 fails config validation; lr=1e30 turns the loss infinite at the first steps.
    done = cli("-m", *TINY, "optimizer.lr=-1,0.01,1e30")
    assert done.returncode == 1, done.stderr[-3000:]  # after every job ran
    assert "error: 2 job(s) of the sweep failed" in done.stderr
    rows = summary_rows(sweep_dir_of(cli.output_dir))
    assert [row["status"] for row in rows] == ["completed", "failed", "failed"]  # finished jobs first
    assert swept_lr(rows[0]) == "0.01" and float(rows[0]["best/val/loss"]) > 0
    errors = {swept_lr(row): row["error"] for row in rows[1:]}
    assert errors["-1"].startswith("ConfigError: optimizer.lr")
    assert errors["1e+30"].startswith("NonFiniteLossError")
    assert "3 jobs (1 completed, 2 failed)" in done.stdout
    # The job refused before training left no TensorBoard run: no empty row in HParams or in the run list.
    refused = next(Path(row["run_dir"]) for row in rows if swept_lr(row) == "-1")
    assert not list(refused.glob("events.out.tfevents.*"))


def test_summary_of_a_sweep_stopped_before_any_job(tmp_path: Path) -> None:
    text = summarize(tmp_path, note="the sweep was interrupted")
    assert "0 jobs (none)" in text and "interrupted" in text
    assert (tmp_path / "summary.csv").read_text().startswith("job,status,commit,duration_s")
