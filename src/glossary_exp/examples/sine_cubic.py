"""Cubic fit of sin(x) (glossary's second example): y = a + b x + c x^2 + d x^3 on [-pi, pi].

Both of the document's ways, chosen by ``model.gradients``: ``autograd`` (loss.backward) and
``manual`` (its hand-written gradients, run with Lightning's manual optimization).
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import nn

from glossary_exp.data.tensors import Split, TensorDataModule
from glossary_exp.module import GlossaryModule
from glossary_exp.registry import register

log = logging.getLogger(__name__)


@register("data", "sine_cubic")
class SineData(TensorDataModule):
    """``points`` samples of sin(x) on [-pi, pi], the whole set in every one of ``steps`` batches."""

    def __init__(self, points: int = 2000, steps: int = 2000) -> None:
        super().__init__(batch_size=points, passes=steps)
        self.points = points

    def make_splits(self) -> dict[str, Split]:
        x = torch.linspace(-math.pi, math.pi, self.points)  # (P,)
        return {"train": (x, torch.sin(x))}


@register("model", "sine_cubic")
class SineCubic(GlossaryModule):
    """Four scalar parameters; summed squared error, as in the document."""

    def __init__(self, gradients: Literal["autograd", "manual"] = "autograd", print_every: int = 100,
                 plot: bool = True) -> None:
        super().__init__()
        # Drawn one by one in the document's order, so a seed gives the document's start.
        self.a, self.b, self.c, self.d = (nn.Parameter(torch.randn(())) for _ in range(4))
        self.automatic_optimization = gradients == "autograd"
        self.print_every, self.plot = print_every, plot

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a + self.b * x + self.c * x**2 + self.d * x**3

    def training_step(self, batch: Split, batch_idx: int) -> torch.Tensor:
        x, y = batch
        if self.automatic_optimization:
            y_pred = self(x)
            loss = (y_pred - y).pow(2).sum()
        else:
            loss = self._manual_step(x, y)
        self.log_loss("train", loss)
        step = self.global_step if self.automatic_optimization else self.global_step - 1
        if step % self.print_every == self.print_every - 1:
            log.info("%d %s", step, loss.item())
        return loss

    def _manual_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The document's hand-written backward pass, applied by the configured optimizer."""
        optimizer = self.optimizers()
        assert isinstance(optimizer, LightningOptimizer)  # one optimizer
        with torch.no_grad():
            y_pred = self(x)
            loss = (y_pred - y).pow(2).sum()
            grad_y_pred = 2.0 * (y_pred - y)  # (P,)
            for power, param in enumerate((self.a, self.b, self.c, self.d)):
                param.grad = (grad_y_pred * x**power).sum()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    def results(self) -> dict[str, float]:
        return {name: getattr(self, name).item() for name in "abcd"}

    def on_train_end(self) -> None:
        a, b, c, d = self.results().values()
        log.info("Result: y = %s + %s x + %s x^2 + %s x^3", a, b, c, d)
        experiment = getattr(self.logger, "experiment", None)  # TensorBoard's writer; CSV has none to draw on
        if self.plot and experiment is not None and hasattr(experiment, "add_figure"):
            experiment.add_figure("fit/sin_vs_cubic", self._figure(), self.global_step)

    def _figure(self):  # matplotlib only here: it costs start-up time every other run would pay
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        x = torch.linspace(-math.pi, math.pi, 200)
        figure, axes = plt.subplots(figsize=(5, 3.5))
        axes.plot(x, torch.sin(x), label="sin(x)")
        axes.plot(x, self(x).detach(), "--", label="a + b x + c x^2 + d x^3")
        axes.legend()
        axes.set_xlabel("x")
        return figure
