"""The framework's sine_cubic follows the document's plain loop step for step, both ways."""

from __future__ import annotations

import importlib.util

import lightning.pytorch as pl
import pytest

from conftest import REPO
from glossary_exp.examples.sine_cubic import SineCubic, SineData

STEPS, SEED = 2000, 3


def plain_fit(manual: bool) -> tuple[list[float], list[float]]:
    spec = importlib.util.spec_from_file_location("sine_plain", REPO / "experiments" / "sine_cubic" / "plain.py")
    plain = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plain)
    return plain.fit(steps=STEPS, seed=SEED, manual=manual, report=False)


class LossRecorder(pl.Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.losses.append(float(outputs["loss"] if isinstance(outputs, dict) else outputs))


def framework_fit(gradients: str) -> tuple[list[float], list[float]]:
    pl.seed_everything(SEED, verbose=False)
    data, model = SineData(steps=STEPS), SineCubic(gradients=gradients, plot=False)
    model.use_optimization({"name": "sgd", "lr": 1e-6}, None)
    recorder = LossRecorder()
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[recorder], accelerator="cpu")
    trainer.fit(model, datamodule=data)
    return recorder.losses, list(model.results().values())


@pytest.mark.parametrize("gradients", ["autograd", "manual"])
def test_framework_matches_the_plain_loop_step_for_step(gradients: str) -> None:
    plain_losses, plain_coeffs = plain_fit(manual=gradients == "manual")
    losses, coeffs = framework_fit(gradients)
    assert len(losses) == len(plain_losses) == STEPS
    assert losses == pytest.approx(plain_losses, rel=1e-5)
    assert coeffs == pytest.approx(plain_coeffs, rel=1e-5, abs=1e-7)


def test_autograd_and_hand_written_gradients_give_the_same_trajectory() -> None:
    autograd_losses, autograd_coeffs = framework_fit("autograd")
    manual_losses, manual_coeffs = framework_fit("manual")
    assert manual_losses == pytest.approx(autograd_losses, rel=1e-4)
    assert manual_coeffs == pytest.approx(autograd_coeffs, rel=1e-4, abs=1e-6)
    assert autograd_losses[-1] < autograd_losses[0] / 10
