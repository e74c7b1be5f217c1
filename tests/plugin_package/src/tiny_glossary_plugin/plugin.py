"""Registers ``tiny_affine`` (model) and ``tiny_points`` (data) with glossary_exp."""

import time

import torch
from torch.nn import functional as F

from glossary_exp.data.tensors import SplitTensorDataModule
from glossary_exp.module import GlossaryModule
from glossary_exp.registry import register


@register("data", "tiny_points")
class TinyPoints(SplitTensorDataModule):
    def __init__(self, samples: int = 64, batch_size: int = 16) -> None:
        super().__init__(batch_size=batch_size, shuffle=True)
        self.samples = samples

    def make_splits(self):
        x = torch.linspace(-1, 1, self.samples).unsqueeze(1)
        y = 3 * x - 1
        return {"train": (x, y), "val": (x[::4], y[::4]), "test": (x[1::4], y[1::4])}


@register("model", "tiny_affine")
class TinyAffine(GlossaryModule):
    hparam_metrics = ("val/loss", "test/loss")

    def __init__(self, scale: float = 1.0, pause_s: float = 0.0) -> None:
        """``pause_s``: seconds each training step waits, the CPU idle: a fit that lasts, for the cluster tests."""
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)
        self.scale, self.pause_s = scale, pause_s

    def _loss(self, batch):
        x, y = batch
        return F.mse_loss(self.scale * self.linear(x), y)

    def training_step(self, batch, batch_idx):
        time.sleep(self.pause_s)
        loss = self._loss(batch)
        self.log_loss("train", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log_loss("val", self._loss(batch))

    def test_step(self, batch, batch_idx):
        self.log_loss("test", self._loss(batch))
