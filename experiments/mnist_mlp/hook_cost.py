"""What Lightning's backward pass and optimizer step cost beyond torch's, per SimpleNN step, in one run.

    python -m experiments.mnist_mlp.hook_cost [--batches 200] [--threads 2]

One Lightning fit (manual optimization, 16 steps of 64 random MNIST-sized images per batch,
the callbacks and logger the CLI gives `experiment=mnist_mlp`) whose steps alternate between ``manual_backward`` +
``LightningOptimizer.step`` and torch's ``loss.backward()`` + ``optimizer.step()``: the median
step time of each, after the first quarter of the steps, and their difference.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_module

from experiments.mnist_mlp import plain
from glossary_exp.trainer import build_callbacks, build_logger

STEPS, BATCH = 16, 64


class Alternating(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = plain.make_model()
        self.automatic_optimization = False
        self.times: dict[str, list[float]] = {"lightning": [], "torch": []}

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        optimizer = self.optimizers()
        for index, (x, y) in enumerate(zip(batch[0].split(BATCH), batch[1].split(BATCH), strict=True)):
            start = time.perf_counter()
            loss = F.cross_entropy(self.net(x), y)
            optimizer.zero_grad()
            if index % 2 == 0:
                self.manual_backward(loss)
                optimizer.step()
            else:
                loss.backward()
                optimizer.optimizer.step()
            self.times["lightning" if index % 2 == 0 else "torch"].append(time.perf_counter() - start)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-3, fused=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = torch.randn(args.batches * STEPS * BATCH, 1, 28, 28)
    labels = torch.randint(0, 10, (len(images),))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=STEPS * BATCH)
    model = Alternating()
    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        cfg = compose("config", overrides=["experiment=mnist_mlp"])
    with tempfile.TemporaryDirectory() as root:
        trainer = pl.Trainer(max_epochs=2, logger=build_logger(cfg, Path(root)), enable_model_summary=False,
                             callbacks=build_callbacks(cfg, Path(root), ("train/loss", "min")))
        trainer.fit(model, loader)
    median = {side: statistics.median(times[len(times) // 4:]) * 1e3 for side, times in model.times.items()}
    print(f"median step: Lightning's backward + step {median['lightning']:.3f} ms, torch's {median['torch']:.3f} ms; "
          f"difference {median['lightning'] - median['torch']:.3f} ms ({args.threads} threads)")


if __name__ == "__main__":
    main()
