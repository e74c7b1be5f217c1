"""image_folder, one epoch two ways in one run: the document's pipeline and the framework.

    python -m experiments.image_folder.benchmark [--rounds 3] [--mirror DIR] [--data-dir data]

plain.py's PIL folder dataset with the Transforms pipeline per sample (DataLoader, 2 workers) against
`python -m glossary_exp experiment=image_folder`, on the JPEG CIFAR-10 copy, Adam(lr 1e-3), batch 32;
see experiments/vision_benchmark.py.
"""

from __future__ import annotations

import statistics

from experiments.image_folder import plain
from experiments.vision_benchmark import arguments, compare


def main() -> None:
    times = compare(plain, ["experiment=image_folder"], arguments(__doc__.splitlines()[0]))
    print(f"epoch speed-up over the document's pipeline: {statistics.median(times['epoch speed-up']):.2f}x")
    print(f"peak memory: {max(times['framework peak MB']):.0f} MB")


if __name__ == "__main__":
    main()
