"""What recording provenance costs a run, against the same run with it switched off, timed in turn in one run.

    python experiments/runs/bench_provenance.py [--repeats 5]

- In one process: `collect()` (git of the working directory and of glossary_exp's checkout, every
  installed distribution's metadata), the work the run's provenance thread does while torch imports.
- End to end: `python -m glossary_exp experiment=quadratic_gd` run in this repository, alternately as
  it is and with provenance switched off (a sitecustomize on PYTHONPATH replaces collect() and write()
  with functions that do nothing: the baseline). Medians and the difference are printed.
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
OFF = ("import glossary_exp.provenance.record as r\n"
       "r.collect = lambda exclude=(): {}\n"
       "r.write = lambda directory, record: {}\n")


def wall(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from glossary_exp.provenance.record import collect

    os.chdir(REPO)
    collect_s = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        collect()
        collect_s.append(time.perf_counter() - start)
    print(f"collect() in {REPO}: median {statistics.median(collect_s):.3f} s "
          f"(runs: {', '.join(f'{t:.3f}' for t in collect_s)})")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sitecustomize.py").write_text(OFF)
        run = [sys.executable, "-m", "glossary_exp", "experiment=quadratic_gd", f"paths.output_dir={tmp}/outputs",
               "print_config=false", "callbacks.progress_bar=false"]
        envs = {"with provenance": dict(os.environ),
                "provenance off (baseline)": {**os.environ, "PYTHONPATH": tmp}}
        times: dict[str, list[float]] = {name: [] for name in envs}
        for _ in range(args.repeats):
            for name, env in envs.items():
                times[name].append(wall(run, env, REPO))
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, value in median.items():
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"quadratic_gd run, {name:26s} median {value:5.2f} s (runs: {runs})")
    print(f"difference of the medians: {median['with provenance'] - median['provenance off (baseline)']:+.2f} s")


if __name__ == "__main__":
    main()
