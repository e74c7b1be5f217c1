"""The in-memory batch loader: per-epoch order, repeats, DDP shards."""

from __future__ import annotations

import torch

from glossary_exp.data.batches import TensorBatches


def order_of(loader: TensorBatches, epoch: int) -> list[int]:
    loader.sampler.set_epoch(epoch)
    return torch.cat([x for x, in loader]).tolist()


def test_order_depends_on_seed_and_epoch_only() -> None:
    x = torch.arange(50)
    a, b = TensorBatches(x, batch_size=8, shuffle=True, seed=1), TensorBatches(x, batch_size=8, shuffle=True, seed=1)
    assert order_of(a, 3) == order_of(b, 3)  # what a resumed run at epoch 3 sees
    assert order_of(a, 3) != order_of(a, 4)
    assert sorted(order_of(a, 4)) == list(range(50))
    assert order_of(TensorBatches(x, batch_size=8), 5) == list(range(50))  # no shuffle: stored order


def test_length_repeats_and_drop_last() -> None:
    x = torch.arange(10)
    assert len(TensorBatches(x, batch_size=4)) == 3
    assert len(TensorBatches(x, batch_size=4, drop_last=True)) == 2
    assert len(TensorBatches(x, batch_size=10, repeats=7)) == 7
    assert [len(b) for b, in TensorBatches(x, batch_size=4, drop_last=True, repeats=2)] == [4, 4, 4, 4]


def test_ddp_shards_are_disjoint_and_cover_the_data() -> None:
    x = torch.arange(21)
    shards = [order_of(TensorBatches(x, batch_size=4, shuffle=True, seed=2, rank=r, world_size=3), 1)
              for r in range(3)]
    assert sorted(i for shard in shards for i in shard) == list(range(21))
    assert all(len(s) == 7 for s in shards)
    assert len(TensorBatches(x, batch_size=4, rank=0, world_size=3)) == 2
