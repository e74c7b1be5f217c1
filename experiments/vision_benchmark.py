"""Harness of experiments/*/benchmark.py: the document's pipeline and the framework's CLI, side by side.

Only the standard library, torch and tensorboard are imported here, so the plain sides run in a
process that never imported Lightning (importing it slows torch's per-step CUDA checks).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch


@dataclass
class CliRun:
    """What one ``python -m glossary_exp ...`` run measured."""

    steps_per_s: float  # training steps inside the last epoch, validation excluded
    epoch_s: float  # the last epoch, training and validation, between its val/loss events
    peak_rss_mb: float  # the process's peak resident memory


def run_cli(overrides: list[str], output_dir: Path) -> CliRun:
    """Run the CLI with ``overrides`` (2 epochs or more) and read its speed and peak memory."""
    cmd = [sys.executable, "-m", "glossary_exp", *overrides, f"paths.output_dir={output_dir}",
           "callbacks.progress_bar=false", "print_config=false"]
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}  # the same threads as this process
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errors, text=True, env=env)
        peak_mb = 0.0
        while process.poll() is None:
            peak_mb = max(peak_mb, high_water_mb(process.pid))
            time.sleep(0.05)
        if process.returncode:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{errors.read()[-3000:]}")
    run_dir = max((p.parent for p in output_dir.rglob("metrics.json")), key=lambda p: p.stat().st_mtime)
    steps_per_s, epoch_s = speed_from_events(run_dir)
    return CliRun(steps_per_s, epoch_s, peak_mb)


def high_water_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), 0 once it has exited.

    Not ru_maxrss: across fork and exec that keeps the parent's size, here a process holding torch.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields.get("VmHWM", "0 kB").split()[0]) / 1024


def speed_from_events(run_dir: Path) -> tuple[float, float]:
    """(steps/s inside the last epoch, the last epoch's seconds) from the run's own TensorBoard events."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    val = events.Scalars("val/loss")  # one per epoch, written as its validation ends
    if len(val) < 2:
        raise RuntimeError(f"{run_dir}: needs 2 epochs or more, to time one without start-up")
    # train/loss events written after the previous validation: the last epoch's training only.
    train = [e for e in events.Scalars("train/loss") if e.wall_time > val[-2].wall_time and e.step <= val[-1].step]
    if len(train) < 2:
        raise RuntimeError(f"{run_dir}: too few train/loss events in the last epoch; lower trainer.log_every_n_steps")
    steps_per_s = (train[-1].step - train[0].step) / (train[-1].wall_time - train[0].wall_time)
    return steps_per_s, val[-1].wall_time - val[-2].wall_time


def plain_epoch(plain: ModuleType, args: argparse.Namespace) -> tuple[float, int]:
    """Seconds and steps of one training epoch of ``plain``'s pipeline (its loader, model, loop), Adam lr 1e-3."""
    loader = plain.train_loader(args.data_dir, args.mirror, args.workers)
    model = plain.make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    plain.train_epoch(model, loader, optimizer)
    return time.perf_counter() - start, len(loader)


def data_options(parser: argparse.ArgumentParser) -> None:
    """--mirror, --data-dir and --threads: where the data is and how many threads every side uses."""
    parser.add_argument("--mirror", default=os.environ.get("GLOSSARY_EXP_DATASET_MIRROR", "../shared/datasets"))
    parser.add_argument("--data-dir", default="data", help="the framework's cache and the plain side's copies")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads, every side")


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The command line, with torch set to its --threads."""
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    return args


def arguments(description: str) -> argparse.Namespace:
    """The options every side-by-side benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=3)
    data_options(parser)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the document's pipeline")
    return parse(parser)


def compare(plain: ModuleType, overrides: list[str], args: argparse.Namespace,
            extra: dict[str, Callable[[], float]] | None = None) -> dict[str, list[float]]:
    """Time ``plain``'s epoch, any ``extra`` sides and the CLI in turn, ``args.rounds`` times; print and return.

    Sides alternate so that machine noise hits them alike. The CLI gets ``overrides`` plus
    2 epochs, seed 0, the data directory and the mirror.
    """
    cli = [*overrides, "trainer.max_epochs=2", "seed=0", f"paths.data_dir={args.data_dir}",
           f"paths.dataset_mirror={args.mirror}"]
    times: dict[str, list[float]] = {"plain epoch s": [], "plain steps": [], "framework steps/s": [],
                                     "framework epoch s": [], "framework peak MB": []}
    times.update({name: [] for name in extra or {}})
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            seconds, steps = plain_epoch(plain, args)
            times["plain epoch s"].append(seconds)
            times["plain steps"].append(steps)
            for name, side in (extra or {}).items():
                times[name].append(side())
            run = run_cli(cli, Path(tmp) / f"round{round_}")
            times["framework steps/s"].append(run.steps_per_s)
            times["framework epoch s"].append(run.epoch_s)
            times["framework peak MB"].append(run.peak_rss_mb)
    # The plain epoch against the framework's training at its measured speed over as many steps.
    times["epoch speed-up"] = [s / (n / f) for s, n, f in zip(times["plain epoch s"], times["plain steps"],
                                                               times["framework steps/s"], strict=True)]
    print(f"python -m glossary_exp {' '.join(cli)}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, values in times.items():
        print(f"{name:28s} median {statistics.median(values):9.3f}  (rounds: {', '.join(f'{v:.3f}' for v in values)})")
    # On a shared machine a round can be slowed by other work; the best round of each side is the
    # least disturbed one, as timeit reports its minimum.
    plain_s, framework = min(times["plain epoch s"]), max(times["framework steps/s"])
    plain_steps = times["plain steps"][0]
    print(f"best rounds: plain epoch {plain_s:.2f} s, framework {framework:.1f} steps/s = "
          f"{plain_steps / framework:.2f} s per {plain_steps:.0f} steps: "
          f"speed-up {plain_s * framework / plain_steps:.2f}x")
    return times
