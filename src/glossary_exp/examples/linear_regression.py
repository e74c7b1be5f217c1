"""Linear regression (glossary: PyTorch, Backward Method): nn.Linear(1, 1) learns y = 2x from x = 1..4."""

from __future__ import annotations

import logging

import torch
from torch import nn
from torch.nn import functional as F

from glossary_exp.data.tensors import Split, TensorDataModule
from glossary_exp.module import GlossaryModule
from glossary_exp.registry import register

log = logging.getLogger(__name__)


@register("data", "linear_regression")
class LinearRegressionData(TensorDataModule):
    """x = 1, 2, 3, 4 and y = 2x, one full batch per glossary "epoch" (``passes`` of them)."""

    def __init__(self, passes: int = 100) -> None:
        super().__init__(batch_size=4, passes=passes)

    def make_splits(self) -> dict[str, Split]:
        x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])  # (4, 1)
        return {"train": (x, 2 * x)}


@register("model", "linear_regression")
class LinearRegression(GlossaryModule):
    """MSE regression with one weight and one bias; prints the loss like the glossary does."""

    def __init__(self, print_every: int = 100) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.print_every = print_every

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)

    def training_step(self, batch: Split, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = F.mse_loss(self(x), y)
        self.log_loss("train", loss)
        epoch = self.global_step + 1  # one step is one glossary epoch over the 4 points
        if epoch % self.print_every == 0:
            log.info("Epoch %d, Loss: %.4f", epoch, loss.item())
        return loss

    def results(self) -> dict[str, float]:
        return {"weight": self.linear.weight.item(), "bias": self.linear.bias.item()}

    def on_train_end(self) -> None:
        log.info("Learned weight: %.4f, bias: %.4f", *self.results().values())
