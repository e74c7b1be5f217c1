"""A pruned search on 2 workers: trials in batches (the sweeper before as-soon-as-free) against a new trial as
soon as a worker is free (this tree), side by side in one run.

    python experiments/sweeps/bench_search.py [--repeats 2] [--trials 16] [--sampler tpe|random]
        [--preset sine_cubic --steps 300 | --preset mnist_mlp --epochs 3]

Both run ``hparams_search=<preset>`` (median pruning) with ``hydra/launcher=parallel
hydra.launcher.n_jobs=2``; the batched one is the sweeper of commit ``--batched`` (taken with ``git
archive``), which asked n_jobs trials, launched them together and waited for all. Per run, from the
job directories: busy time = each job from Hydra's start of it to its record's last write; span = first job start to
last job end; worker
utilization = busy / (workers x span); gaps between a worker's jobs and the tail (one worker done, the
other still on the last trial) say where the rest went. Wall time is the whole command (start-up, summary). The two
alternate, each with the same sampler seed per repeat, on an idle machine (bench_parallel.py's check).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_parallel import busy_seconds, children_seconds, wait_until_idle

REPO = Path(__file__).resolve().parents[2]
WORKERS = 2


# preset -> (the objective in the job records, whether higher is better)
OBJECTIVES = {"sine_cubic": ("train/loss", False), "mnist_mlp": ("best/val/acc", True)}


def command(out: str, args: argparse.Namespace, seed: int) -> list[str]:
    chosen = ["hydra.sweeper.sampler._target_=optuna.samplers.RandomSampler"] if args.sampler == "random" else []
    size = [f"data.steps={args.steps}", "model.plot=false"] if args.preset == "sine_cubic" else \
        [f"trainer.max_epochs={args.epochs}"]
    return [sys.executable, "-m", "glossary_exp", "-m", f"hparams_search={args.preset}", "seed=0", *chosen,
            f"hydra.sweeper.sampler.seed={seed}", *size, f"hydra.sweeper.n_trials={args.trials}",
            "hydra/launcher=parallel", f"hydra.launcher.n_jobs={WORKERS}", "callbacks.progress_bar=false",
            "print_config=false", f"paths.output_dir={out}"]


def measure(sweep_dir: Path, objective: str = "train/loss", maximize: bool = False) -> dict[str, float]:
    """Busy time, span, utilization, gaps, best objective and counts from the job directories.

    A job occupies its worker from Hydra's start of it (``.hydra/overrides.yaml`` written, before the
    task imports anything) to its record's last write (``metrics.json``); run.log names its worker slot.
    """
    jobs = []
    for record_file in sweep_dir.glob("*/metrics.json"):
        job = record_file.parent
        slot = re.search(r"share of the machine: slot (\d+)", (job / "run.log").read_text())
        jobs.append({"record": json.loads(record_file.read_text()),
                     "start": (job / ".hydra/overrides.yaml").stat().st_mtime,
                     "end": record_file.stat().st_mtime, "slot": slot.group(1) if slot else "?"})
    busy = sum(j["end"] - j["start"] for j in jobs)
    first, last = min(j["start"] for j in jobs), max(j["end"] for j in jobs)
    gaps = []
    for slot in {j["slot"] for j in jobs}:
        mine = sorted((j for j in jobs if j["slot"] == slot), key=lambda j: j["start"])
        gaps += [b["start"] - a["end"] for a, b in itertools.pairwise(mine)]
    ends = sorted(max(j["end"] for j in jobs if j["slot"] == s) for s in {j["slot"] for j in jobs})
    done = [j["record"]["metrics"][objective] for j in jobs if j["record"]["status"] == "completed"]
    return {"busy": busy, "span": last - first, "utilization": busy / (WORKERS * (last - first)),
            "best": (max if maximize else min)(done),
            "gap": statistics.mean(gaps) if gaps else 0.0, "tail": ends[-1] - ends[0], "completed": len(done),
            "pruned": sum(j["record"]["status"] == "pruned" for j in jobs)}


def run(cmd: list[str], src: Path, cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds other processes used meanwhile)."""
    wait_until_idle(limit_s=120)
    env = {**os.environ, "PYTHONPATH": str(src)}
    busy, ours, start = busy_seconds(), children_seconds(), time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, max(0.0, (busy_seconds() - busy) - (children_seconds() - ours))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--preset", choices=sorted(OBJECTIVES), default="sine_cubic")
    parser.add_argument("--steps", type=int, default=300, help="sine_cubic: steps per epoch (20 epochs)")
    parser.add_argument("--epochs", type=int, default=3, help="mnist_mlp: epochs per trial")
    parser.add_argument("--batched", default="9a1583f", help="commit whose sweeper ran trials in batches")
    parser.add_argument("--sampler", choices=("tpe", "random"), default="tpe",
                        help="random: both schedules try the same learning rates in the same order")
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"batched": [], "as soon as free": []}
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "batched"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.batched, "src"], capture_output=True,
                                 check=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        sources = {"batched": old / "src", "as soon as free": REPO / "src"}
        for repeat in range(args.repeats):
            order = list(sources) if repeat % 2 == 0 else list(sources)[::-1]
            for mode in order:
                out = Path(tmp) / f"{mode.replace(' ', '_')}_{repeat}"
                wall, foreign = run(command(str(out), args, repeat), sources[mode], tmp)
                (sweep_dir,) = out.glob("*/multirun_*")
                figures = {**measure(sweep_dir, *OBJECTIVES[args.preset]), "wall": wall, "foreign": foreign}
                results[mode].append(figures)
                print(f"{mode:16s} repeat {repeat}: utilization {figures['utilization']:.1%}, span "
                      f"{figures['span']:.1f} s, wall {wall:.1f} s, busy {figures['busy']:.1f} s, "
                      "mean gap between a worker's "
                      f"jobs {figures['gap']:.2f} s, tail {figures['tail']:.1f} s, best "
                      f"{figures['best']:.4g} ({figures['completed']:.0f} completed, {figures['pruned']:.0f} pruned), "
                      f"others used {foreign:.1f} CPU s", flush=True)
    print(f"\n| schedule | utilization (median) | span s | wall s | best {OBJECTIVES[args.preset][0]} | runs |")
    print("| --- | --- | --- | --- | --- | --- |")
    for mode, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("utilization", "span", "wall")}
        best = ", ".join(f"{r['best']:.4g}" for r in runs)
        print(f"| {mode} | {med['utilization']:.1%} | {med['span']:.1f} | {med['wall']:.1f} | {best} | {len(runs)} |")
    print("command:", " ".join(command("<out>", args, 0)[1:]))


if __name__ == "__main__":
    main()
