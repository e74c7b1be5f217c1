"""mnist_simple_net, one epoch two ways in one run: the document's pipeline and the framework.

    python -m experiments.mnist_simple_net.benchmark [--rounds 3] [--mirror DIR] [--data-dir data]

plain.py's torchvision pipeline (per-sample ToTensor + Normalize, DataLoader with 2 workers) against
`python -m glossary_exp experiment=mnist_simple_net`, Adam(lr 1e-3), batch 64; see experiments/vision_benchmark.py.
"""

from __future__ import annotations

import statistics

from experiments.mnist_simple_net import plain
from experiments.vision_benchmark import arguments, compare


def main() -> None:
    times = compare(plain, ["experiment=mnist_simple_net"], arguments(__doc__.splitlines()[0]))
    print(f"epoch speed-up over the document's pipeline: {statistics.median(times['epoch speed-up']):.2f}x")
    print(f"peak memory: {max(times['framework peak MB']):.0f} MB")


if __name__ == "__main__":
    main()
