"""steps_per_execution: several optimizer steps per Lightning batch train exactly as one step per batch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import read_events, read_metrics, run_cli, run_dirs

# 81 training images in batches of 16: an epoch of 6 steps, the last one of a single image.
# Per-epoch learning-rate decay and gradient clipping: the plan steps and clips as Lightning does.
RUN = ("experiment=random_images", "seed=5", "trainer.max_epochs=3", "scheduler=step", "scheduler.step_size=1",
       "scheduler.gamma=0.5", "trainer.gradient_clip_val=0.5")


def fit(tmp_path: Path, *overrides: str) -> Path:
    output_dir = tmp_path / "outputs"
    output_dir.mkdir(exist_ok=True)
    result = run_cli(*RUN, *overrides, output_dir=output_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    return run_dirs(output_dir)[-1]


def scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    return [(event.step, event.value) for event in read_events(run_dir).Scalars(tag)]


@pytest.fixture(scope="module")
def one_step(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fit(tmp_path_factory.mktemp("one_step"), "steps_per_execution=1")


def test_four_steps_per_batch_train_exactly_as_one(one_step: Path, tmp_path: Path) -> None:
    four = fit(tmp_path, "steps_per_execution=4")  # batches of 64 images: 4 steps, then 2 (16 + 1 images)
    weights = [torch.load(run / "checkpoints" / "last.ckpt", weights_only=False) for run in (one_step, four)]
    assert [w["global_step"] for w in weights] == [18, 18]
    assert weights[0]["state_dict"].keys() == weights[1]["state_dict"].keys()
    for name, value in weights[0]["state_dict"].items():
        assert torch.equal(value, weights[1]["state_dict"][name]), name
    assert read_metrics(four)["metrics"] == pytest.approx(read_metrics(one_step)["metrics"], rel=1e-6)
    # TensorBoard's x-axis counts optimizer steps either way.
    for tag in ("val/loss", "val/acc", "lr-Adam"):
        (steps, values), (expected_steps, expected) = (zip(*scalars(run, tag)) for run in (four, one_step))
        assert steps == expected_steps and values == pytest.approx(expected, rel=1e-6), tag
    # log_every_n_steps=1: the loss of every step, or of each batch's last step.
    batch_ends = scalars(four, "train/loss")
    assert [step for step, _ in batch_ends] == [3, 5, 9, 11, 15, 17]
    every_step = dict(scalars(one_step, "train/loss"))
    assert [every_step[step] for step, _ in batch_ends] == pytest.approx([loss for _, loss in batch_ends])


def test_max_steps_stops_inside_a_batch(tmp_path: Path) -> None:
    run = fit(tmp_path, "steps_per_execution=4", "+trainer.max_steps=7")
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 7


def test_settings_that_count_batches_take_one_step_per_batch(tmp_path: Path) -> None:
    run = fit(tmp_path, "steps_per_execution=4", "trainer.limit_train_batches=3", "trainer.max_epochs=1")
    assert ("steps_per_execution=4 not used: trainer.limit_train_batches counts batches"
            in (run / "run.log").read_text())
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 3


@pytest.mark.parametrize("steps", [1, 4])
def test_log_every_n_steps_zero_turns_step_logging_off(tmp_path: Path, steps: int) -> None:
    run = fit(tmp_path, f"steps_per_execution={steps}", "trainer.log_every_n_steps=0", "scheduler.interval=step")
    tags = read_events(run).Tags()["scalars"]
    assert "train/loss" not in tags and "lr-Adam" not in tags  # logged every step, or every batch: neither
    assert "val/loss" in tags  # once an epoch, as Lightning does
