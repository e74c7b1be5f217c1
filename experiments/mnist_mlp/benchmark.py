"""mnist_mlp, one epoch three ways in one run: the document's pipeline, a hand loop, the framework.

    python -m experiments.mnist_mlp.benchmark [--rounds 3] [--mirror DIR] [--data-dir data]

SimpleNN + Adam(lr 1e-3), batch 64, timed in turn each round (see experiments/vision_benchmark.py):
- plain: plain.py's pipeline, torchvision MNIST with per-sample ToTensor + Normalize in a
  DataLoader with 2 workers, one epoch of 60,000 images;
- hand loops: a plain PyTorch loop over the uint8 tensors held in memory, normalized per batch,
  timed over its second epoch; once with Adam as the document writes it (torch's default update,
  on CPU a loop over the parameters) and once with the fused update the framework chooses, which
  leaves only the framework's own overhead between the two;
- framework: `python -m glossary_exp experiment=mnist_mlp` for 2 epochs as users run it
  (TensorBoard, checkpoints, validation; no progress bar), its training speed read from its own
  TensorBoard log inside epoch 2, its peak memory from the operating system.
Aims: epoch speed-up >= 4x, framework / hand-loop steps per second >= 0.9, peak memory < 1.5 GB.
"""

from __future__ import annotations

import gzip
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from experiments.mnist_mlp import plain
from experiments.vision_benchmark import arguments, compare

BATCH = 64


def read_mnist(mirror: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The 60,000 training images (N, 1, 28, 28) uint8 and their labels, as the framework holds them."""
    raw = Path(mirror) / "MNIST" / "raw"
    with gzip.open(raw / "train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(raw / "train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


class HandLoop:
    """A hand-written PyTorch training loop over the in-memory tensors that runs ``n`` more steps when asked."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, fused: bool | None = None) -> None:
        self.images, self.labels = images, labels
        self.model = plain.make_model()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, fused=fused)
        self.order, self.position = torch.randperm(len(images)), 0

    def run(self, n: int) -> float:
        """Seconds for ``n`` training steps; a new shuffle whenever fewer than a batch are left."""
        start = time.perf_counter()
        for _ in range(n):
            if self.position + BATCH > len(self.order):
                self.order, self.position = torch.randperm(len(self.images)), 0
            index = self.order[self.position:self.position + BATCH]
            self.position += BATCH
            x = (self.images[index].float() / 255 - 0.1307) / 0.3081
            loss = F.cross_entropy(self.model(x), self.labels[index])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return time.perf_counter() - start


def hand_loop_steps_per_s(images: torch.Tensor, labels: torch.Tensor, fused: bool | None = None) -> float:
    """Training steps per second of a hand-written loop, timed over its second epoch."""
    loop, steps = HandLoop(images, labels, fused), len(images) // BATCH
    loop.run(steps)
    return steps / loop.run(steps)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    images, labels = read_mnist(args.mirror)
    times = compare(plain, ["experiment=mnist_mlp"], args, extra={
        "hand loop steps/s": lambda: hand_loop_steps_per_s(images, labels),
        "fused hand loop steps/s": lambda: hand_loop_steps_per_s(images, labels, fused=True),
    })
    print(f"epoch speed-up over the document's pipeline: {statistics.median(times['epoch speed-up']):.2f}x (aim >= 4x)")
    hands = (("hand loop steps/s", "the document's Adam"), ("fused hand loop steps/s", "the same fused Adam"))
    for hand, what in hands:
        ratios = [f / h for f, h in zip(times["framework steps/s"], times[hand], strict=True)]
        best = max(times["framework steps/s"]) / max(times[hand])
        print(f"framework / hand loop with {what}: {statistics.median(ratios):.3f} median of rounds, "
              f"{best:.3f} best rounds (aim >= 0.9)")
    print(f"peak memory: {max(times['framework peak MB']):.0f} MB (aim < 1500 MB)")


if __name__ == "__main__":
    main()
