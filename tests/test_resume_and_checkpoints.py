"""Checkpoints: an interrupted run resumes to the same result, and test/predict use a checkpoint."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import (
    assert_no_noise,
    fit_once,
    read_events,
    read_metrics,
    run_cli,
    run_dirs,
    signal_after_first_checkpoint,
    start_cli,
)

# Big enough that an epoch takes a moment, so Ctrl-C lands between two epochs' checkpoints.
RUN = ("experiment=random_regression", "seed=7", "trainer.max_epochs=4", "data.samples=60000",
       "data.batch_size=64")


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fit_once(tmp_path_factory, *RUN)


def test_ctrl_c_then_resume_matches_an_unbroken_run(unbroken: Path, tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    process = start_cli(*RUN, output_dir=output_dir)
    output = signal_after_first_checkpoint(process, output_dir, signal.SIGINT)  # what Ctrl-C sends
    (run_dir,) = run_dirs(output_dir)
    record = read_metrics(run_dir)
    assert record["status"] == "interrupted", output[-2000:]
    assert record["error"] == "interrupted by Ctrl-C (SIGINT)"
    assert process.returncode == 130  # as a shell reports a command stopped by SIGINT
    assert "Traceback" not in output
    (hint,) = re.findall(r"Continue it with: python -m glossary_exp (.+)", output)
    assert hint == f"resume={run_dir.name[:26]} paths.output_dir={output_dir}"  # the stamp and where: from anywhere

    elsewhere = tmp_path / "elsewhere"  # typed as printed, in another directory, without print_config=false
    elsewhere.mkdir()
    result = subprocess.run([sys.executable, "-m", "glossary_exp", *shlex.split(hint)], capture_output=True,
                            text=True, cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "max_epochs: 4" not in result.stdout  # the run's print_config=false holds: no config tree
    assert run_dirs(output_dir) == [run_dir]  # continued in place, no new run directory
    resumed, expected = read_metrics(run_dir), read_metrics(unbroken)
    assert resumed["status"] == "completed" and resumed["seed"] == 7
    for key in ("val/loss", "test/loss", "train/loss"):
        assert resumed["metrics"][key] == pytest.approx(expected["metrics"][key], rel=1e-5), key
    # One TensorBoard run: steps continue after the break instead of starting again.
    steps = [event.step for event in read_events(run_dir).Scalars("val/loss")]
    assert steps == sorted(steps) and len(steps) == len(set(steps)) == 4
    assert (run_dir / ".hydra" / "config.yaml").exists()  # the original run's Hydra files are kept
    assert resumed["overrides"] == record["overrides"] and len(resumed["resumed"]) == 1  # the record stays whole
    assert "Continue it with" not in result.stdout  # a completed run has nothing to continue

    again = run_cli(f"resume={run_dir.name[:26]}", output_dir=output_dir)
    assert again.returncode == 2 and "the run completed" in again.stderr
    assert read_metrics(run_dir) == resumed  # refusing it changed nothing


def test_test_and_predict_from_a_checkpoint(unbroken: Path, cli) -> None:
    best = unbroken / "checkpoints" / "best.ckpt"
    test = cli(*RUN, "task=test", f"ckpt_path={best}")
    assert test.returncode == 0, test.stderr[-2000:]
    assert_no_noise(test)  # "The dirpath has changed" of a checkpoint from another run, among others
    (test_run,) = run_dirs(cli.output_dir)
    assert read_metrics(test_run)["metrics"]["test/loss"] == pytest.approx(
        read_metrics(unbroken)["metrics"]["test/loss"], rel=1e-6)

    predict = cli(*RUN, "task=predict", f"ckpt_path={best}")
    assert predict.returncode == 0, predict.stderr[-2000:]
    predictions = torch.load(run_dirs(cli.output_dir)[-1] / "predictions.pt")
    assert sum(len(batch) for batch in predictions) == 6000  # the test split, one value each
    assert predictions[0].shape[1:] == (1,)


def test_last_checkpoint_holds_the_last_epoch_when_the_best_is_earlier(cli) -> None:
    # Monitoring the epoch number downwards keeps epoch 0 the best one for good.
    result = cli("experiment=random_images", "trainer.max_epochs=3", "callbacks.checkpoint.monitor=epoch",
                 "callbacks.checkpoint.mode=min")
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = run_dirs(cli.output_dir)
    best, last = (torch.load(run_dir / "checkpoints" / name, weights_only=False) for name in ("best.ckpt", "last.ckpt"))
    assert best["epoch"] == 0
    assert last["epoch"] == 2 and last["global_step"] == 3 * best["global_step"]
