"""`runs` over a generated tree of 10,000 runs, against the floor of reading every record, timed in turn in one run.

    python experiments/runs/bench_runs.py [--runs 10000] [--repeats 5]

The tree is laid out as glossary_exp lays runs out: 10 experiments, single runs and sweeps of 20
jobs, each run with its metrics.json (a realistic record), config.yaml, .hydra/, checkpoints/ and an
events file, so the walk meets what it meets in a real outputs/. Three commands alternate:
- `python -m glossary_exp runs DIR --limit 20` (the table users see; start-up included),
- `... runs DIR --format json --limit 0` (every run printed),
- the floor: a plain Python process that finds and parses every metrics.json (os.walk + json.loads).
Medians and ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = ("import json, os, sys\n"
         "n = 0\n"
         "for root, dirs, files in os.walk(sys.argv[1]):\n"
         "    if 'metrics.json' in files:\n"
         "        json.load(open(os.path.join(root, 'metrics.json'))); n += 1; dirs.clear()\n"
         "print(n)\n")


def record(rng: random.Random, name: str, day: int, job: int) -> dict:
    status = rng.choices(["completed", "failed", "interrupted"], [90, 5, 5])[0]
    metrics = {f"{split}/{m}": rng.random() for split in ("train", "val", "test") for m in ("loss", "acc")}
    metrics["best/val/acc"] = metrics["val/acc"]
    return {"status": status, "overrides": [f"experiment={name}", f"optimizer.lr={rng.random():.4g}", f"seed={job}"],
            "started": f"2026-11-{day:02d}T10:{job % 60:02d}:00+0000", "name": name, "task": "fit",
            "commit": f"{rng.getrandbits(160):040x}", "dirty": rng.random() < 0.3, "patch_sha256": None,
            "host": "node1", "seed": job, "monitor": ["val/acc", "max"], "metrics": metrics,
            "duration_s": rng.uniform(5, 500), "error": "RuntimeError: boom" if status == "failed" else None}


def make_tree(root: Path, runs: int) -> None:
    rng = random.Random(0)
    for i in range(runs):
        name = f"experiment_{i % 10}"
        sweep, job = divmod(i, 40)
        if sweep % 2:  # every other block of 40 is two sweeps of 20 jobs
            path = root / name / f"multirun_2026-11-{1 + sweep % 28:02d}_10-00-00_{sweep:06x}" / f"{job % 20}_lr-{job}"
        else:
            path = root / name / f"2026-11-{1 + sweep % 28:02d}_10-{job % 60:02d}-00_{i:06x}"
        (path / ".hydra").mkdir(parents=True)
        (path / "checkpoints").mkdir()
        (path / "metrics.json").write_text(json.dumps(record(rng, name, 1 + sweep % 28, job), indent=2))
        (path / "config.yaml").write_text("name: x\nseed: 1\n")
        (path / ".hydra" / "overrides.yaml").write_text("- experiment=x\n")
        (path / "events.out.tfevents.1.host.1.0").write_bytes(b"\0" * 64)


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "outputs"
        start = time.perf_counter()
        make_tree(root, args.runs)
        print(f"made {args.runs} runs in {time.perf_counter() - start:.1f} s")
        commands = {"floor: read every metrics.json": [py, "-c", FLOOR, str(root)],
                    "runs (table, --limit 20)": [py, "-m", "glossary_exp", "runs", str(root), "--limit", "20"],
                    "runs --format json --limit 0": [py, "-m", "glossary_exp", "runs", str(root), "--format", "json",
                                                     "--limit", "0"]}
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                times[name].append(wall(cmd))
    median = {name: statistics.median(values) for name, values in times.items()}
    floor = median["floor: read every metrics.json"]
    for name, value in median.items():
        print(f"{name:34s} median {value:5.2f} s  ({value / floor:.2f}x the floor; "
              f"runs: {', '.join(f'{t:.2f}' for t in times[name])})")


if __name__ == "__main__":
    main()
