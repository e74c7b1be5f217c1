"""Many small jobs on SLURM: one sweep job per SLURM job against ``jobs_per_task`` packed ones, side by side.

    python experiments/sweeps/bench_slurm_packing.py [--rounds 2] [--jobs 24] [--pack 12]

Starts a one-node test cluster (tests/cluster/slurm.sh, root and apt where SLURM is missing) unless
SLURM_CONF names a running one. Each round runs the same ``experiment=quadratic_gd`` grid of
``--jobs`` learning rates with ``hydra/launcher=slurm`` (the shipped request: 1 CPU, 4 GB a job) twice,
``hydra.launcher.jobs_per_task=1`` and ``=--pack``, in alternating order; the figure is the whole
command's wall time (submission, every job, the summary), and the ratio per round.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SLURM_SH = REPO / "tests" / "cluster" / "slurm.sh"


def grid(jobs: int) -> str:
    return "optimizer.lr=" + ",".join(f"{0.005 * (i + 1):g}" for i in range(jobs))


def run_sweep(out: Path, jobs: int, per_task: int, env: dict[str, str]) -> float:
    command = [sys.executable, "-m", "glossary_exp", "-m", "hydra/launcher=slurm", "experiment=quadratic_gd",
               grid(jobs), f"hydra.launcher.jobs_per_task={per_task}", "callbacks.progress_bar=false",
               "print_config=false", f"paths.output_dir={out}"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=out.parent)
    wall = time.perf_counter() - started
    if done.returncode != 0 or f"{jobs} jobs ({jobs} completed)" not in done.stdout:
        sys.exit(f"the sweep with jobs_per_task={per_task} did not complete:\n"
                 f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--pack", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_slurm_") as tmp:
        state = Path(tmp) / "slurm"
        env = dict(os.environ)
        started_here = "SLURM_CONF" not in env
        if started_here:
            start = subprocess.run(["bash", str(SLURM_SH), "start", str(state)], capture_output=True, text=True)
            if start.returncode != 0:
                sys.exit(f"no cluster: {start.stderr.strip()}")
            env["SLURM_CONF"] = str(state / "slurm.conf")
        try:
            walls: dict[int, list[float]] = {1: [], args.pack: []}
            for round_ in range(args.rounds):
                order = [1, args.pack] if round_ % 2 == 0 else [args.pack, 1]
                for per_task in order:
                    out = Path(tmp) / f"r{round_}_k{per_task}" / "outputs"
                    out.parent.mkdir(parents=True)
                    walls[per_task].append(run_sweep(out, args.jobs, per_task, env))
                    print(f"round {round_ + 1}: jobs_per_task={per_task:<3} {walls[per_task][-1]:6.1f} s", flush=True)
                ratio = walls[1][-1] / walls[args.pack][-1]
                print(f"round {round_ + 1}: {ratio:.2f}x less wall time packed", flush=True)
            one, packed = statistics.median(walls[1]), statistics.median(walls[args.pack])
            print(f"median of {args.rounds}: one job per SLURM job {one:.1f} s, {args.pack} per SLURM job "
                  f"{packed:.1f} s: {one / packed:.2f}x")
        finally:
            if started_here:
                subprocess.run(["bash", str(SLURM_SH), "stop", str(state)], capture_output=True, text=True)


if __name__ == "__main__":
    main()
