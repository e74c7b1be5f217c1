"""DataModules over splits held as tensors; subclasses only say how to make the tensors."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch

from glossary_exp.data.batches import TensorBatches

Split = tuple[torch.Tensor, ...]


class TensorDataModule(pl.LightningDataModule):
    """Training data only: subclasses return ``{"train": (x, y, ...)}`` from :meth:`make_splits` (as below)."""

    def __init__(self, batch_size: int, passes: int = 1, shuffle: bool = False) -> None:
        super().__init__()
        self.batch_size, self.passes, self.shuffle = batch_size, passes, shuffle
        self.splits: dict[str, Split] = {}

    def make_splits(self) -> dict[str, Split]:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self.splits = self.make_splits()

    def pin_memory(self) -> bool:
        """Whether batches should be page-locked: only when the trainer runs on a CUDA device."""
        trainer = self.trainer
        return trainer is not None and trainer.strategy.root_device.type == "cuda"

    def loader_options(self) -> dict[str, Any]:
        """Pinned memory on CUDA; under DDP, this process's share of every split."""
        trainer = self.trainer
        if trainer is None:
            return {}
        return {"pin_memory": self.pin_memory(), "rank": trainer.global_rank, "world_size": trainer.world_size}

    def train_dataloader(self) -> TensorBatches:
        # torch.initial_seed() is the run's seed after seed_everything: shuffles follow it.
        return TensorBatches(*self.splits["train"], batch_size=self.batch_size, shuffle=self.shuffle,
                             repeats=self.passes, seed=torch.initial_seed(), **self.loader_options())


class SplitTensorDataModule(TensorDataModule):
    """Base of a data plugin with held-out splits: implement :meth:`make_splits`, the rest is done.

    What a plugin relies on:

    - ``make_splits()`` returns ``{"train": (x, y, ...), "val": (...), "test": (...)}``: tuples of
      tensors whose first dimension is the sample (all tensors of a split equally long), held in memory.
    - Batches are tuples of ``batch_size`` rows of those tensors; training batches are shuffled each
      epoch from the run's seed (a resumed run sees the same order), ``val`` and ``test`` never are.
    - ``task=test`` evaluates on ``test``, ``task=predict`` predicts ``test`` too; a fit tests the best
      checkpoint on it at the end.
    - The constructor's keyword arguments are the settings of ``conf/data/<name>.yaml``, checked
      against its type hints as for a model; pass ``batch_size`` (and ``shuffle=True``) to
      ``super().__init__``.
    - Per-batch transforms run in ``on_after_batch_transfer`` (on the accelerator), as in
      :class:`glossary_exp.vision.images.ImageDataModule`.
    """

    def _eval_loader(self, split: str) -> TensorBatches:
        return TensorBatches(*self.splits[split], batch_size=self.batch_size, **self.loader_options())

    def val_dataloader(self) -> TensorBatches:
        return self._eval_loader("val")

    def test_dataloader(self) -> TensorBatches:
        return self._eval_loader("test")

    def predict_dataloader(self) -> TensorBatches:
        return self._eval_loader("test")
