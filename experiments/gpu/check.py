"""One GPU, under 8 minutes: the vision examples' accuracy and time, mixed precision, the fast data path, DDP.

    python -m experiments.gpu.check [--out experiments/gpu/results] [--mirror ../shared/datasets] [--data-dir data]
    python -m experiments.gpu.check --tiny --out /tmp/gpu_check   # on CPU, random data: the script itself, quickly

Four sections, each run through the CLI as users run it (``-m``, in this one process, so Lightning is
imported once), every job with seed 0 and 2 epochs (one to start, one to time from its own events):
- examples: each vision example's test accuracy, wall time and training steps/s;
- precision: ``trainer.precision=16-mixed`` and ``bf16-mixed`` against the examples' 32-true run of
  cifar10_cnn (its convolutions are where mixed precision can pay);
- fast path: mnist_mlp's steps/s (data in memory, batches made on the device, ``steps_per_execution``)
  against a hand-written PyTorch loop over the same tensors on the device, timed first, before
  Lightning is imported (experiments/mnist_mlp/benchmark.py does the same on CPU);
- ddp: mnist_mlp under DDP on one device (``accelerator=ddp trainer.devices=1``) against the plain run.
A job that fails (a precision the device lacks) is a result with its error, and the check goes on.
Writes ``results.json`` (every number) and ``results.md`` (tables) into ``--out``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

BUDGET_S = 480
BATCH = 64  # mnist_mlp's batch, and the hand loop's
FULL = {"device": ["accelerator=gpu"], "examples": ["mnist_mlp", "mnist_simple_net", "mnist_cnn", "cifar10_cnn",
                                                    "image_folder"],
        "precision_of": "cifar10_cnn", "fast_path": "mnist_mlp", "ddp": ["trainer.accelerator=gpu"]}
# random_images through SimpleNN (1x28x28, as MNIST): the same model and shapes as the hand loop.
TINY_DATA = ["model=simple_nn", "data.channels=1", "data.size=28", "data.samples=400", f"data.batch_size={BATCH}",
             "trainer.log_every_n_steps=1"]
TINY = {"device": ["accelerator=cpu"], "examples": ["random_images"], "precision_of": "random_images",
        "fast_path": "random_images", "ddp": ["trainer.accelerator=cpu"]}


def hand_loop_steps_per_s(images: torch.Tensor, labels: torch.Tensor, device: str) -> float:
    """A plain loop: SimpleNN, fused Adam lr 1e-3, batches indexed on the device; steps/s over its second epoch."""
    images, labels = images.to(device), labels.to(device)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 500), nn.ReLU(), nn.Linear(500, 10)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    steps = len(images) // BATCH
    for epoch in range(2):
        if epoch == 1:
            synchronize(device)
            start = time.perf_counter()
        order = torch.randperm(len(images), device=device)
        for i in range(steps):
            index = order[i * BATCH:(i + 1) * BATCH]
            x = (images[index].float() / 255 - 0.1307) / 0.3081
            loss = F.cross_entropy(model(x), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    synchronize(device)
    return steps / (time.perf_counter() - start)


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def mnist(mirror: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST's 60,000 training images (N, 1, 28, 28) uint8 and labels, read from the mirror's archives."""
    raw = mirror / "MNIST" / "raw"
    with gzip.open(raw / "train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(raw / "train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def sweep(name: str, overrides: list[str], out: Path, common: list[str]) -> list[dict[str, Any]]:
    """``python -m glossary_exp -m <overrides>`` in this process; a result per job, in job order."""
    from glossary_exp.cli import main
    from glossary_exp.rundir import read_metrics
    from glossary_exp.sweep.summary import job_dirs

    sweep_dir = out / "runs" / name
    fixed = {o.split("=", 1)[0] for o in common}  # the same in every section: not shown
    sys.argv = ["glossary-exp", "-m", *overrides, *common, f"hydra.sweep.dir={sweep_dir}"]
    started = time.perf_counter()
    try:
        main()
    except SystemExit as exit_:  # 1 when a job failed: its record says why
        print(f"{name}: exit {exit_.code} after {time.perf_counter() - started:.0f} s", flush=True)
    logging.getLogger("tensorboard").setLevel(logging.WARNING)  # its reader's notes, through Hydra's logging
    results = []
    for run_dir in job_dirs(sweep_dir) if sweep_dir.is_dir() else []:
        record = read_metrics(run_dir) or {}
        metrics = record.get("metrics", {})
        result = {"overrides": [o for o in record.get("overrides", []) if o.split("=", 1)[0] not in fixed],
                  "status": record.get("status", "no record"), "test/acc": metrics.get("test/acc"),
                  "duration_s": record.get("duration_s"), "error": record.get("error")}
        try:
            result["steps_per_s"] = steps_per_s(run_dir) if result["status"] == "completed" else None
        except (RuntimeError, KeyError) as err:
            result["steps_per_s"], result["error"] = None, f"speed: {err}"
        results.append(result)
    return results


def steps_per_s(run_dir: Path) -> float:
    """Training steps/s inside the run's last epoch, from its own TensorBoard events (the benchmarks' reader)."""
    from experiments.vision_benchmark import speed_from_events

    return speed_from_events(run_dir)[0]


def check(args: argparse.Namespace) -> dict[str, Any]:
    plan = TINY if args.tiny else FULL
    device = "cpu" if args.tiny else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: no GPU is visible to torch here; --tiny runs the check on CPU")
    started = time.perf_counter()
    if args.tiny:
        images, labels = torch.randint(0, 256, (400, 1, 28, 28), dtype=torch.uint8), torch.randint(0, 10, (400,))
    else:
        images, labels = mnist(Path(args.mirror))
    hand = hand_loop_steps_per_s(images, labels, device)  # before Lightning is imported (it slows CUDA checks)
    common = ["seed=0", "trainer.max_epochs=2", f"paths.output_dir={args.out / 'runs'}",
              f"paths.data_dir={args.data_dir}", f"paths.dataset_mirror={args.mirror}",
              "callbacks.progress_bar=false", "print_config=false", *(TINY_DATA if args.tiny else [])]
    examples = sweep("examples", [f"experiment={','.join(plan['examples'])}", *plan["device"]], args.out, common)
    by_name = {r["overrides"][0].split("=", 1)[1]: r for r in examples if r["overrides"]}
    precision = sweep("precision", [f"experiment={plan['precision_of']}", *plan["device"],
                                    "trainer.precision=16-mixed,bf16-mixed"], args.out, common)
    ddp = sweep("ddp", [f"experiment={plan['fast_path']}", "accelerator=ddp", "trainer.devices=1",
                        *plan["ddp"]], args.out, common)
    framework = by_name.get(plan["fast_path"], {}).get("steps_per_s")
    return {
        "mode": "tiny (CPU, random data)" if args.tiny else "gpu",
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "torch": torch.__version__, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "examples": examples,
        "precision": {"baseline (32-true)": by_name.get(plan["precision_of"]), "runs": precision},
        "fast_path": {"experiment": plan["fast_path"], "framework_steps_per_s": framework,
                      "hand_loop_steps_per_s": hand, "framework_over_hand_loop": framework and framework / hand},
        "ddp_one_device": {"plain": by_name.get(plan["fast_path"]), "ddp": ddp[0] if ddp else None},
        "seconds": time.perf_counter() - started, "budget_s": BUDGET_S,
    }


def markdown(results: dict[str, Any]) -> str:
    """The results as tables; every number is in results.json too."""
    def row(label: str, r: dict[str, Any] | None) -> str:
        r = r or {}
        cells = [label, r.get("status", "not run"), fmt(r.get("test/acc")), fmt(r.get("duration_s")),
                 fmt(r.get("steps_per_s")), (r.get("error") or "")[:120]]
        return "| " + " | ".join(cells) + " |"

    head = ["| run | status | test/acc | wall s | steps/s | error |", "| --- | --- | --- | --- | --- | --- |"]
    fast = results["fast_path"]
    over = results["seconds"] > results["budget_s"]
    lines = [f"# GPU check: {results['mode']}", "",
             f"{results['device']}, torch {results['torch']}, {results['started']}; the whole check took "
             f"{results['seconds']:.0f} s{' (over the 8-minute budget)' if over else ''}.", "",
             "## Vision examples (2 epochs, seed 0)", "", *head,
             *(row(" ".join(r["overrides"]), r) for r in results["examples"]), "",
             "## Mixed precision", "", *head, row("32-true", results["precision"]["baseline (32-true)"]),
             *(row(" ".join(r["overrides"]), r) for r in results["precision"]["runs"]), "",
             f"## Fast data path: {fast['experiment']} against a hand-written loop on the device", "",
             f"framework {fmt(fast['framework_steps_per_s'])} steps/s, hand loop {fmt(fast['hand_loop_steps_per_s'])} "
             f"steps/s: ratio {fmt(fast['framework_over_hand_loop'])}", "",
             "## DDP on one device", "", *head, row("plain", results["ddp_one_device"]["plain"]),
             row("accelerator=ddp devices=1", results["ddp_one_device"]["ddp"]), ""]
    return "\n".join(lines)


def fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="on CPU with random data, to check the script itself")
    parser.add_argument("--out", type=Path, default=Path("experiments/gpu/results"))
    parser.add_argument("--mirror", default=os.environ.get("GLOSSARY_EXP_DATASET_MIRROR", "../shared/datasets"))
    parser.add_argument("--data-dir", default="data", help="the framework's decoded-dataset cache")
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    results = check(args)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    print(markdown(results))
    print(f"Written: {args.out / 'results.json'}, {args.out / 'results.md'}")


if __name__ == "__main__":
    main()
