"""Mini-batches sliced from tensors held in memory: no per-sample Python, no worker processes."""

from __future__ import annotations

from collections.abc import Iterator

import torch


class EpochOrder:
    """Sample order of one epoch, drawn from ``(seed, epoch)`` alone.

    Lightning calls ``set_epoch`` on a loader's ``sampler`` before every epoch, so a run
    resumed at epoch k sees exactly the order an unbroken run sees at epoch k.
    """

    def __init__(self, shuffle: bool, seed: int) -> None:
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def orders(self, n: int, passes: int) -> Iterator[torch.Tensor | None]:
        """One index permutation per pass (None: keep the stored order)."""
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        for _ in range(passes):
            yield torch.randperm(n, generator=generator) if self.shuffle else None


class TensorBatches:
    """Iterable of ``(x, y, ...)`` batches over equally long tensors.

    ``repeats`` yields the whole pass that many times, so a full-batch example that the
    glossary trains for N "epochs" runs as one Lightning epoch of N steps (Lightning's
    per-epoch overhead is far larger than its per-step overhead). ``pin_memory`` yields
    page-locked batches, so the copy to a GPU can be non-blocking.
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        repeats: int = 1,
        seed: int = 0,
        pin_memory: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("TensorBatches needs tensors of equal length")
        self.tensors = tensors
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.repeats = repeats
        self.pin_memory = pin_memory
        self.rank, self.world_size = rank, world_size  # under DDP each process takes every world_size-th sample
        self.sampler = EpochOrder(shuffle, seed)
        self.batch_sampler = None  # Lightning inspects DataLoader-like objects for both attributes

    def __len__(self) -> int:
        n = len(range(self.rank, len(self.tensors[0]), self.world_size))
        per_pass = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return per_pass * self.repeats

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        if not self.pin_memory:
            yield from self._batches()
            return
        for batch in self._batches():
            yield tuple(t.pin_memory() for t in batch)

    def _batches(self) -> Iterator[tuple[torch.Tensor, ...]]:
        total = len(self.tensors[0])
        for order in self.sampler.orders(total, self.repeats):
            if self.world_size > 1:
                order = (torch.arange(total) if order is None else order)[self.rank::self.world_size]
            n = total if order is None else len(order)
            for start in range(0, n, self.batch_size):
                stop = start + self.batch_size
                if stop > n and self.drop_last:
                    break
                if order is None:
                    yield tuple(t[start:stop] for t in self.tensors)
                else:
                    index = order[start:stop]
                    yield tuple(t[index] for t in self.tensors)
