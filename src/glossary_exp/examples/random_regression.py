"""Random regression (glossary: torch.optim, SGD, Adam, Module): nn.Linear(10, 1) or 10-5-1 ReLU."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from glossary_exp.data.tensors import Split, SplitTensorDataModule
from glossary_exp.errors import ConfigError
from glossary_exp.module import GlossaryModule
from glossary_exp.registry import register


@register("data", "random_regression")
class RandomRegressionData(SplitTensorDataModule):
    """Seeded random inputs and a seeded linear target plus noise, split train/val/test."""

    def __init__(self, samples: int = 1000, features: int = 10, noise: float = 0.1,
                 val_fraction: float = 0.1, test_fraction: float = 0.1, batch_size: int = 32,
                 data_seed: int = 0) -> None:
        super().__init__(batch_size=batch_size, shuffle=True)
        if val_fraction + test_fraction >= 1:
            raise ConfigError(f"data.val_fraction + data.test_fraction must be below 1 (some data left to train on), "
                              f"got {val_fraction} + {test_fraction}")
        self.samples, self.features, self.noise = samples, features, noise
        self.val_fraction, self.test_fraction, self.data_seed = val_fraction, test_fraction, data_seed

    def make_splits(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.data_seed)  # same data whatever the run's seed
        x = torch.randn(self.samples, self.features, generator=generator)  # (N, F)
        w = torch.randn(self.features, 1, generator=generator)
        y = x @ w + self.noise * torch.randn(self.samples, 1, generator=generator)  # (N, 1)
        n_val, n_test = int(self.samples * self.val_fraction), int(self.samples * self.test_fraction)
        n_train = self.samples - n_val - n_test
        return {"train": (x[:n_train], y[:n_train]),
                "val": (x[n_train:n_train + n_val], y[n_train:n_train + n_val]),
                "test": (x[n_train + n_val:], y[n_train + n_val:])}


@register("model", "random_regression")
class RandomRegression(GlossaryModule):
    """``hidden=0``: the torch.optim entry's nn.Linear(10, 1); else the Module entry's 10-h-1 ReLU net."""

    hparam_metrics = ("train/loss", "val/loss", "test/loss")

    def __init__(self, in_features: int = 10, hidden: int = 0) -> None:
        super().__init__()
        self.in_features = in_features
        if hidden:
            self.net: nn.Module = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        else:
            self.net = nn.Linear(in_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def setup(self, stage: str) -> None:
        """A config message, not a shape error in the first step, when data and model disagree."""
        datamodule = self.trainer.datamodule  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
        features = getattr(datamodule, "features", self.in_features)
        if features != self.in_features:
            raise ConfigError(f"model.in_features={self.in_features} but data.features={features}; set both alike")

    def _step(self, batch: Split, stage: str) -> torch.Tensor:
        x, y = batch
        loss = F.mse_loss(self(x), y)
        self.log_loss(stage, loss, batch_size=len(x))
        return loss

    def training_step(self, batch: Split, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Split, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: Split, batch_idx: int) -> None:
        self._step(batch, "test")

    def predict_step(self, batch: Split, batch_idx: int) -> torch.Tensor:
        return self(batch[0])
