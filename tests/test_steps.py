"""steps_per_execution: several optimizer steps per Lightning batch train exactly as one step per batch."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from conftest import (
    get_json,
    read_events,
    read_metrics,
    run_cli,
    run_dirs,
    signal_after_first_checkpoint,
    start_cli,
    tensorboard_server,
)
from glossary_exp.module import GlossaryModule
from glossary_exp.steps import StepPlan, only_default_hooks

# 81 training images in batches of 16: an epoch of 6 steps, the last one of a single image.
# Per-epoch learning-rate decay and gradient clipping: the plan steps and clips as Lightning does.
RUN = ("experiment=random_images", "seed=5", "trainer.max_epochs=3", "scheduler=step", "scheduler.step_size=1",
       "scheduler.gamma=0.5", "trainer.gradient_clip_val=0.5", "trainer.log_every_n_steps=2")


def fit(tmp_path: Path, *overrides: str) -> Path:
    output_dir = tmp_path / "outputs"
    output_dir.mkdir(parents=True, exist_ok=True)
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
    for tag in ("val/loss", "val/acc", "lr"):
        (steps, values), (expected_steps, expected) = (zip(*scalars(run, tag), strict=True) for run in (four, one_step))
        assert steps == expected_steps and values == pytest.approx(expected, rel=1e-6), tag
    # Every second step's loss and each epoch's last, each at its own step: the same points as one step per batch.
    points = scalars(four, "train/loss")
    assert [step for step, _ in points] == [1, 3, 5, 7, 9, 11, 13, 15, 17]
    assert points == scalars(one_step, "train/loss")
    assert len({value for _, value in points}) == len(points)  # no value repeated at a later step


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
    assert "train/loss" not in tags and "lr" not in tags  # logged every step, or every batch: neither
    assert "val/loss" in tags  # once an epoch, as Lightning does


class TinyModel(GlossaryModule):
    """Linear regression whose ``on_before_optimizer_step`` sees each step's gradients, when asked to."""

    def __init__(self, watch_steps: bool) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(3, 1)
        self.gradients: list[torch.Tensor] = []
        if watch_steps:
            self.on_before_optimizer_step = lambda optimizer: self.gradients.append(self.layer.weight.grad.clone())

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)


class CountBackward(pl.Callback):
    def __init__(self) -> None:
        self.calls = 0

    def on_after_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.calls += 1


def fit_tiny(watch_steps: bool, *callbacks: pl.Callback) -> TinyModel:
    """10 samples, 4 per step, 2 steps per batch: batches of 2 steps and 1 step (of 2 samples), 2 epochs."""
    torch.manual_seed(0)
    model, data = TinyModel(watch_steps), torch.utils.data.TensorDataset(torch.randn(10, 3), torch.randn(10, 1))
    trainer = pl.Trainer(max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=list(callbacks))
    model.use_optimization({"name": "sgd", "lr": 0.1}, None)
    model.use_step_plan(StepPlan(steps=2, batch_size=4, log_every_n_steps=1, gradient_clip_val=None,
                                 gradient_clip_algorithm=None))
    trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=8))
    assert trainer.global_step == 6
    return model


def test_hooks_of_the_model_and_callbacks_run_at_every_step() -> None:
    """Lightning's per-step hooks are skipped only when nothing overrides them; overridden, each runs per step."""
    counter = CountBackward()
    watched = fit_tiny(True, counter)
    assert counter.calls == 6 and len(watched.gradients) == 6
    assert all(gradient.abs().sum() > 0 for gradient in watched.gradients)  # after backward, before zero_grad
    # With or without the hooks, the same steps.
    assert torch.equal(fit_tiny(False).layer.weight, watched.layer.weight)


@pytest.mark.parametrize("setting", [{}, {"profiler": "simple"}, {"precision": "bf16-mixed"}, {"callback": True}],
                         ids=["defaults", "profiler", "bf16", "callback"])
def test_lightning_step_hooks_are_skipped_only_when_they_do_nothing(setting: dict) -> None:
    callbacks = [CountBackward()] if setting.pop("callback", False) else []
    trainer = pl.Trainer(logger=False, callbacks=callbacks, **setting)
    trainer.strategy.connect(model := TinyModel(watch_steps=False))
    assert only_default_hooks(trainer, model) == (not setting and not callbacks)
    assert not only_default_hooks(trainer, TinyModel(watch_steps=True))


def test_a_resumed_run_shows_each_step_once(tmp_path: Path) -> None:
    """Ctrl-C mid-fit, then resume: TensorBoard shows every step once, the interrupted epoch's points hidden."""
    import signal

    args = (*RUN, "steps_per_execution=4", "trainer.max_epochs=5")
    unbroken = fit(tmp_path / "unbroken", *args[len(RUN):])
    output_dir = tmp_path / "outputs"
    # 0.3 s into the next epoch, whose points the resumed run writes again.
    signal_after_first_checkpoint(start_cli(*args, output_dir=output_dir), output_dir, signal.SIGINT, delay=0.3)
    (run,) = run_dirs(output_dir)
    assert read_metrics(run)["status"] == "interrupted"
    assert run_cli(f"resume={run}", output_dir=output_dir).returncode == 0
    for tag in ("train/loss", "val/loss", "lr"):  # lr: logged as each epoch starts, at the checkpoint's step
        steps = [step for step, _ in scalars(run, tag)]
        assert len(steps) == len(set(steps)), f"{tag}: a step shown twice"
        assert scalars(run, tag) == scalars(unbroken, tag), tag  # the same points as an unbroken run
    with tensorboard_server(run) as url:  # and as TensorBoard's own server shows them
        served = get_json(f"{url}/data/plugin/scalars/scalars?run=.&tag=train/loss")
    assert [(step, pytest.approx(value)) for _, step, value in served] == scalars(unbroken, "train/loss")
