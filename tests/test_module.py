"""What GlossaryModule tells a plugin author when the loss turns NaN: by what is known, not always "the lr"."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

from glossary_exp.errors import NonFiniteLossError
from glossary_exp.module import GlossaryModule


class Breaks(GlossaryModule):
    """A linear model whose own loss code turns NaN at ``nan_at`` (0: at once), or a too large lr diverging."""

    def __init__(self, nan_at: int | None) -> None:
        super().__init__()
        self.layer, self.nan_at = torch.nn.Linear(2, 1), nan_at

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        return loss * float("nan") if self.global_step == self.nan_at else loss


def fit_until_it_fails(nan_at: int | None, lr: float) -> str:
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(64, 2), torch.randn(64, 1))
    model = Breaks(nan_at)
    model.use_optimization({"name": "sgd", "lr": lr}, None)
    trainer = pl.Trainer(max_epochs=50, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    with pytest.raises(NonFiniteLossError) as err:
        trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=8))
    return str(err.value)


def test_nan_at_the_first_step_is_not_blamed_on_the_learning_rate() -> None:
    message = fit_until_it_fails(nan_at=0, lr=0.01)
    assert "before any update could change it: the model's or the data's own computation" in message
    assert "optimizer.lr" not in message


def test_nan_from_the_models_own_code_later_says_so() -> None:
    message = fit_until_it_fails(nan_at=3, lr=0.01)
    assert "at step 4" in message and "that was not growing: the model's or the data's own" in message
    assert "try a smaller" not in message


def test_a_diverging_learning_rate_is_named() -> None:
    message = fit_until_it_fails(nan_at=None, lr=10.0)
    assert "the updates diverged; try a smaller optimizer.lr (now 10.0)" in message
