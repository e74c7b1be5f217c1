"""Four small CPU jobs as one sweep: the default launcher (one after another) against the parallel one.

    python experiments/sweeps/bench_parallel.py [--repeats 3] [--steps 20000] [--n-jobs 2] [--tries 5]

Each job is the sine_cubic fit with ``data.steps`` full-batch steps and a different seed. Both
commands are timed end to end (start-up, imports, all four jobs, summary) and alternate. On a
shared machine other people's processes steal cores: each command waits until the machine is
idle before it starts, a run during which other processes used more than a tenth of a core is
measured again (up to --tries times), and the CPU time they used is printed beside each run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def sweep_command(out: str, steps: int, parallel: int | None) -> list[str]:
    """The sweep as a user types it; ``parallel``: jobs at once with the parallel launcher."""
    cmd = [sys.executable, "-m", "glossary_exp", "-m", "experiment=sine_cubic", "seed=1,2,3,4",
           f"data.steps={steps}", "model.plot=false", "callbacks.progress_bar=false", "print_config=false",
           f"paths.output_dir={out}"]
    return cmd + (["hydra/launcher=parallel", f"hydra.launcher.n_jobs={parallel}"] if parallel else [])


def busy_seconds() -> float:
    """CPU seconds every process on the machine has used (from /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_until_idle(limit_s: float = 3600) -> None:
    """Until other processes use under a tenth of a core for 3 s (or ``limit_s`` passed)."""
    deadline = time.time() + limit_s
    while time.time() < deadline:
        before = busy_seconds()
        time.sleep(3)
        if busy_seconds() - before < 0.3:
            return


def timed(cmd: list[str], cwd: str, tries: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds that other processes used meanwhile), from the first quiet try."""
    for _ in range(tries):
        wall, foreign = timed_once(cmd, cwd)
        if foreign < 0.1 * wall:
            break
    return wall, foreign


def timed_once(cmd: list[str], cwd: str) -> tuple[float, float]:
    wait_until_idle()
    busy, ours, start = busy_seconds(), children_seconds(), time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or "4 jobs (4 completed)" not in done.stdout:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    foreign = (busy_seconds() - busy) - (children_seconds() - ours)
    return elapsed, max(0.0, foreign)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--tries", type=int, default=5, help="attempts per run to get one without other load")
    args = parser.parse_args()
    names = {"sequential (default launcher)": None,
             f"parallel (hydra/launcher=parallel, n_jobs={args.n_jobs})": args.n_jobs}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            for name, parallel in names.items():
                runs[name].append(timed(sweep_command(f"{tmp}/outputs", args.steps, parallel), tmp, args.tries))
                print(f"{name}: {runs[name][-1][0]:.1f} s (others {runs[name][-1][1]:.1f} CPU s)", flush=True)
    print(f"{os.cpu_count()} cores; {args.repeats} alternating runs each")
    median = {name: statistics.median(wall for wall, _ in values) for name, values in runs.items()}
    for name, values in runs.items():
        detail = ", ".join(f"{wall:.1f} s (others {foreign:.1f} CPU s)" for wall, foreign in values)
        print(f"{name:45s} median {median[name]:6.1f} s  runs: {detail}")
    sequential, parallel = median.values()
    print(f"speed-up: {sequential / parallel:.2f}x (aim: at least 1.6x on 2 cores)")
    print("command:", " ".join(sweep_command("<out>", args.steps, args.n_jobs)[1:]))


if __name__ == "__main__":
    main()
