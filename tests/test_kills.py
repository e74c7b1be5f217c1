"""Kills and signals: SIGKILL mid-checkpoint loses nothing, SIGTERM and Ctrl-C exit as shells expect (143, 130).

Every run here is a real process; the checkpoints are a few MB (the CIFAR CNN and its Adam state),
so a kill lands while one is being written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import OmegaConf

from conftest import fit_once, read_metrics, run_cli, run_dirs, signal_after_first_checkpoint, start_cli
from glossary_exp import signals as signals_module
from glossary_exp.checkpoints import load_checkpoint
from glossary_exp.trainer import build_callbacks

RUN = ("experiment=random_images", "seed=3", "trainer.max_epochs=5")
KILLS = 3


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.name.endswith(".tmp")]


def kill_during_a_checkpoint_write(process: subprocess.Popen[str], output_dir: Path, timeout: float = 120) -> bool:
    """SIGKILL ``process`` the moment a new checkpoint temp file appears; whether one was there when it died."""
    def writing() -> set[Path]:
        return {p for p in temp_files(output_dir) if ".ckpt." in p.name}

    stale = writing()  # left by the previous kill; this process removes them as it resumes
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if writing() - stale:
            process.kill()
            process.wait(timeout=30)
            return True
        time.sleep(0.001)
    process.kill()
    process.wait(timeout=30)
    return False


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return read_metrics(fit_once(tmp_path_factory, *RUN))


def test_sigkill_during_checkpoint_writes_loses_nothing(unbroken: dict, tmp_path: Path) -> None:
    output_dir, system_temp = tmp_path / "outputs", tmp_path / "system_tmp"
    system_temp.mkdir()
    env = {"TMPDIR": str(system_temp)}  # where Lightning's own writer would stage checkpoints
    process = start_cli(*RUN, output_dir=output_dir, env=env)
    deadline = time.time() + 120
    while not list(output_dir.rglob("last.ckpt")) and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)  # the first epoch's checkpoint, so there is a run to resume
    landed = 0
    for kill in range(KILLS):
        landed += kill_during_a_checkpoint_write(process, output_dir)
        (run_dir,) = run_dirs(output_dir)
        last = run_dir / "checkpoints" / "last.ckpt"
        load_checkpoint(last, str(last))  # whatever the kill interrupted, the checkpoint there is whole
        if kill < KILLS - 1:
            process = start_cli(f"resume={run_dir}", output_dir=output_dir, env=env)
    assert landed >= KILLS - 1, f"only {landed} of {KILLS} kills hit a checkpoint write"
    finished = run_cli(f"resume={run_dir}", output_dir=output_dir, env=env)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert temp_files(tmp_path) == []  # none left in the run directory, none in the system's temp directory
    record = read_metrics(run_dir)
    assert record["status"] == "completed" and record["seed"] == 3 and len(record["resumed"]) == KILLS
    assert record["metrics"] == unbroken["metrics"]  # exactly the unbroken run's


def test_sigterm_exits_143_records_the_interruption_and_says_how_to_continue(tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    process = start_cli(*RUN, output_dir=output_dir)
    output = signal_after_first_checkpoint(process, output_dir, signal.SIGTERM)
    assert process.returncode == 143, output[-2000:]
    (run_dir,) = run_dirs(output_dir)
    record = read_metrics(run_dir)
    assert record["status"] == "interrupted" and record["error"] == "interrupted by SIGTERM"
    assert f"Continue it with: python -m glossary_exp resume={run_dir.name[:26]}" in output
    assert "Traceback" not in output


def test_ctrl_c_of_a_grid_exits_130_and_keeps_the_finished_jobs(tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    grid = ("-m", "experiment=random_regression", "data.samples=20000", "trainer.max_epochs=3",
            "optimizer.lr=0.01,0.005,0.002,0.001")
    process = start_cli(*grid, output_dir=output_dir, env={"PYTHONFAULTHANDLER": "1"})
    deadline = time.time() + 180
    while not list(output_dir.glob("*/multirun_*/1_*/metrics.json")) and time.time() < deadline:
        assert process.poll() is None, process.communicate()[0][-3000:]
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: the whole process group
    try:
        # Once (CI, 2026-12-02) it had not exited 120 s after the Ctrl-C: the hang at TensorBoard's last flush that
        # test_ctrl_c_that_lands_inside_tensorboards_writer... reproduces. The stacks, should it ever hang again.
        output, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # faulthandler prints where every thread is
        pytest.fail("still running 300 s after Ctrl-C; its threads:\n" + process.communicate(timeout=60)[0][-8000:])
    assert process.returncode == 130, output[-3000:]
    assert "Traceback" not in output and "the sweep was interrupted" in output
    (sweep_dir,) = output_dir.glob("*/multirun_*")
    statuses = [read_metrics(job)["status"] for job in sorted(p.parent for p in sweep_dir.glob("*/metrics.json"))]
    assert statuses[0] == "completed" and "interrupted" in statuses
    assert (sweep_dir / "summary.csv").is_file()


def test_a_search_in_which_no_trial_completed_exits_non_zero(cli) -> None:
    done = cli("-m", "hparams_search=sine_cubic", "hydra.sweeper.n_trials=2", "data.points=0")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "error: no trial of the search completed (2 ran)" in done.stderr


class SignalsItself(pl.LightningModule):
    """Sends this process ``signals`` during training step 2, then finishes the step; notes each finished step."""

    def __init__(self, signals: int) -> None:
        super().__init__()
        self.layer, self.signals, self.finished = torch.nn.Linear(1, 1), signals, []

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        if batch_idx == 2:
            for _ in range(self.signals):
                os.kill(os.getpid(), signal.SIGINT)
        loss = self.layer(batch[0]).square().mean()
        self.finished.append(batch_idx)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def fit_interrupted(model: pl.LightningModule, tmp_path: Path, steps: int = 8, **trainer: Any) -> None:
    """A fit of ``model`` with the CLI's signal handling and a run's callbacks, which something interrupts."""
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(steps, 1)), batch_size=1)
    callbacks = build_callbacks(OmegaConf.create({"callbacks": {"checkpoint": {}, "lr_monitor": False,
                                                                "early_stopping_patience": 0, "progress_bar": False},
                                                  "logger": {"name": None}, "scheduler": {"name": "none"}}),
                                tmp_path, ("train/loss", "min"))
    fit = pl.Trainer(max_epochs=1, callbacks=callbacks, enable_progress_bar=False, enable_model_summary=False,
                     **{"logger": False, **trainer})
    with signals_module.stop_on_signals(), pytest.raises(SystemExit):  # Lightning's ending of an interrupted fit
        fit.fit(model, data)
    assert fit.interrupted


def fit_signalled(signals: int, tmp_path: Path) -> SignalsItself:
    """``signals`` Ctrl-Cs in step 2; the model."""
    fit_interrupted(model := SignalsItself(signals), tmp_path)
    return model


# A handler's exception lands between any two bytecodes of the main thread; landing inside TensorBoard's
# queue.put, it left the event writer's thread unwoken and the interrupted run hung at its last flush (up to
# TensorBoard's 120 s flush interval; seen in two full-suite runs as a Ctrl-C that took minutes to end a run).
def test_ctrl_c_in_a_training_step_stops_the_fit_once_the_step_is_done(tmp_path: Path) -> None:
    assert fit_signalled(1, tmp_path).finished == [0, 1, 2]


def test_a_second_ctrl_c_stops_a_fit_at_once(tmp_path: Path) -> None:
    assert fit_signalled(2, tmp_path).finished == [0, 1]  # for a step that never ends


class Logs(SignalsItself):
    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = super().training_step(batch, batch_idx)
        self.log("train/loss", loss)
        return loss


def test_ctrl_c_that_lands_inside_tensorboards_writer_does_not_hang_the_end_of_the_fit(tmp_path: Path) -> None:
    # The failure itself: the handler runs where notify() is entered, after the event is queued and before the
    # writer's thread is woken; the fit's last flush then waits out the writer's flush interval (120 s by default).
    logger = TensorBoardLogger(tmp_path, flush_secs=60)
    events = logger.experiment._get_file_writer().event_writer._async_writer._byte_queue
    queued = []

    def put(item: bytes, block: bool = True, timeout: float | None = None) -> None:
        with events.not_full:
            events._put(item)
            events.unfinished_tasks += 1
            queued.append(item)
            if len(queued) == 3:
                os.kill(os.getpid(), signal.SIGINT)
            events.not_empty.notify()

    events.put = put
    started = time.time()
    fit_interrupted(Logs(0), tmp_path, steps=50, logger=logger, log_every_n_steps=1)
    assert len(queued) > 3 and time.time() - started < 30  # not the 60 s flush interval
