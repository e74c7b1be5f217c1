"""Framework overhead measured in one process: the CLI's training and a hand loop take turns.

    python -m experiments.mnist_mlp.interleave [--segment 50] [--epochs 3] [--mirror DIR] [--threads N] [override ...]

Timing the CLI and a hand loop one after the other compares seconds of a shared machine whose
speed drifts by 2x within a minute (see RESULTS.md). Here `python -m glossary_exp
experiment=mnist_mlp` runs in this process as users run it (TensorBoard, checkpoints, LR monitor,
validation), plus one callback: after every `segment` or more training steps (whole batches of
steps_per_execution steps) it pauses the framework and runs as many steps of a hand-written loop
(SimpleNN, the same fused Adam, or with --document-adam torch's default Adam as the document
writes it; the same in-memory uint8 MNIST tensors, normalized per batch). Each pair of segments
is timed back to back, and the ratio of their step rates is taken per pair. Segments spanning
validation or an epoch's start are not counted; the first epoch warms up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from unittest import mock

import lightning.pytorch as pl
import torch

from experiments.mnist_mlp.benchmark import HandLoop, read_mnist
from experiments.vision_benchmark import data_options, parse


class TakeTurns(pl.Callback):
    """After every ``segment`` or more framework steps, as many hand-loop steps; records both durations.

    Steps are optimizer steps (``trainer.global_step``): a training batch holds several of them
    under ``steps_per_execution``.
    """

    def __init__(self, hand: HandLoop, segment: int) -> None:
        self.hand, self.segment = hand, segment
        self.pairs: list[tuple[int, float, float]] = []  # (steps, framework s, hand s)
        self.mark: tuple[int, float] | None = None  # (global step, time) where the framework's segment began

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.mark = None  # the time since the last segment includes validation

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: object,
                           batch: object, batch_idx: int) -> None:
        if trainer.current_epoch == 0:
            return
        now, step = time.perf_counter(), trainer.global_step
        if self.mark is None:
            self.mark = step, now
            return
        steps = step - self.mark[0]
        if steps < self.segment:
            return
        self.pairs.append((steps, now - self.mark[1], self.hand.run(steps)))
        self.mark = step, time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segment", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=3)
    data_options(parser)
    parser.add_argument("--document-adam", action="store_true",
                        help="the hand loop uses Adam as the document writes it (torch's default update), not fused")
    parser.add_argument("overrides", nargs="*", help="more CLI overrides, e.g. callbacks.lr_monitor=false")
    args = parse(parser)
    images, labels = read_mnist(args.mirror)
    turns = TakeTurns(HandLoop(images, labels, fused=None if args.document_adam else True), args.segment)

    from glossary_exp import cli, run

    build_callbacks = run.build_callbacks

    def with_turns(*a: object, **k: object) -> list[pl.Callback]:
        return [*build_callbacks(*a, **k), turns]

    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(run, "build_callbacks", with_turns):
        overrides = ["experiment=mnist_mlp", f"trainer.max_epochs={args.epochs}", "seed=0",
                     f"paths.data_dir={args.data_dir}", f"paths.dataset_mirror={args.mirror}",
                     f"paths.output_dir={tmp}", "callbacks.progress_bar=false", "print_config=false", *args.overrides]
        with mock.patch.object(sys, "argv", ["glossary_exp", *overrides]):
            try:
                cli.main()
            except SystemExit as exit_:
                if exit_.code:
                    raise
    ratios = [hand / framework for _, framework, hand in turns.pairs]
    steps, framework_s, hand_s = (sum(side) for side in zip(*turns.pairs, strict=True))
    print(f"python -m experiments.mnist_mlp.interleave --segment {args.segment} --epochs {args.epochs} "
          f"{'--document-adam ' if args.document_adam else ''}"
          f"{' '.join(args.overrides)}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{len(turns.pairs)} pairs of {steps / len(turns.pairs):.0f} steps: "
          f"framework {steps / framework_s:.0f} steps/s, hand loop {steps / hand_s:.0f} steps/s")
    quartiles = statistics.quantiles(ratios, n=4)
    print(f"framework / hand loop steps per second: {statistics.median(ratios):.3f} median of pairs "
          f"(quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f}), {hand_s / framework_s:.3f} over all pairs (aim >= 0.9)")


if __name__ == "__main__":
    main()
