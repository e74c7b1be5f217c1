"""DataModules over splits held as tensors; subclasses only say how to make the tensors."""

from __future__ import annotations

import lightning.pytorch as pl
import torch

from glossary_exp.data.batches import TensorBatches

Split = tuple[torch.Tensor, ...]


class TensorDataModule(pl.LightningDataModule):
    """Training data only: subclasses return ``{"train": (x, y)}`` from :meth:`make_splits`."""

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

    def loader_options(self) -> dict[str, bool | int]:
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
    """Adds held-out ``val`` and ``test`` splits, which are never shuffled or repeated."""

    def _eval_loader(self, split: str) -> TensorBatches:
        return TensorBatches(*self.splits[split], batch_size=self.batch_size, **self.loader_options())

    def val_dataloader(self) -> TensorBatches:
        return self._eval_loader("val")

    def test_dataloader(self) -> TensorBatches:
        return self._eval_loader("test")

    def predict_dataloader(self) -> TensorBatches:
        return self._eval_loader("test")
