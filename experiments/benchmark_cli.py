"""End-to-end wall time of CLI commands against their baselines, timed in turn in one run.

    python experiments/benchmark_cli.py [--repeats 5]

- sine_cubic: `python -m glossary_exp experiment=sine_cubic` (defaults: progress bar, config
  tree, TensorBoard, checkpoints, plot) against the document's plain loop
  (experiments/sine_cubic/plain.py). Both include Python start-up and `import torch`.
- `--help` and `list`, against a bare `python -c pass`.

Commands alternate, so machine noise hits both sides alike; medians and ratios are printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def wall_time(cmd: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "plain sine_cubic loop": [py, str(HERE / "sine_cubic" / "plain.py")],
            "glossary_exp experiment=sine_cubic": [py, "-m", "glossary_exp", "experiment=sine_cubic",
                                                   f"paths.output_dir={tmp}/outputs"],
            "python -c pass": [py, "-c", "pass"],
            "glossary_exp --help": [py, "-m", "glossary_exp", "--help"],
            "glossary_exp list": [py, "-m", "glossary_exp", "list"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                times[name].append(wall_time(cmd, tmp))
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, value in median.items():
        print(f"{name:40s} median {value:6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times[name])})")
    ratio = median["glossary_exp experiment=sine_cubic"] / median["plain sine_cubic loop"]
    print(f"sine_cubic framework / plain loop: {ratio:.2f}x (limit 4x, aim 3x)")
    print(f"--help: {median['glossary_exp --help']:.2f} s, list: {median['glossary_exp list']:.2f} s (limit 1 s)")


if __name__ == "__main__":
    main()
