"""Gradient descent (glossary: Gradient Descent): minimize f(x) = x^2 from x = 10."""

from __future__ import annotations

import logging

import torch
from torch import nn

from glossary_exp.data.tensors import Split, TensorDataModule
from glossary_exp.module import GlossaryModule
from glossary_exp.registry import register

log = logging.getLogger(__name__)


@register("data", "quadratic_gd")
class QuadraticSteps(TensorDataModule):
    """No data: f(x) = x^2 needs none, so each of ``steps`` batches is an empty placeholder."""

    def __init__(self, steps: int = 100) -> None:
        super().__init__(batch_size=1, passes=steps)

    def make_splits(self) -> dict[str, Split]:
        return {"train": (torch.zeros(1),)}


@register("model", "quadratic_gd")
class QuadraticGD(GlossaryModule):
    """One parameter x; the loss is x^2, so SGD with lr 0.1 multiplies x by 0.8 every step."""

    def __init__(self, start: float = 10.0, print_every: int = 10) -> None:
        super().__init__()
        self.x = nn.Parameter(torch.tensor(start))
        self.print_every = print_every

    def training_step(self, batch: Split, batch_idx: int) -> torch.Tensor:
        loss = self.x**2
        self.log_loss("train", loss)
        self.log("x", self.x.detach())
        step = self.global_step + 1
        if step % self.print_every == 0:
            log.info("Step %d: x = %.6g, f(x) = %.6g", step, self.x.item(), loss.item())
        return loss

    def results(self) -> dict[str, float]:
        return {"x": self.x.item(), "f(x)": self.x.item() ** 2}

    def on_train_end(self) -> None:
        log.info("Minimum found at x = %.6g (f(x) = %.6g)", *self.results().values())
