"""cifar10_cnn, one epoch two ways in one run: the document's pipeline and the framework; decoding and cache.

    python -m experiments.cifar10_cnn.benchmark [--rounds 2] [--mirror DIR] [--data-dir data]

The CNN + Adam(lr 1e-3), batch 32, with the document's augmentation, timed in turn each round
(see experiments/vision_benchmark.py):
- plain: plain.py's pipeline, per-sample PIL flip + rotation + ToTensor + Normalize on the JPEG
  copy in a DataLoader with 2 workers, one epoch of 50,000 images;
- framework: `python -m glossary_exp experiment=cifar10_cnn` for 2 epochs as users run it, with
  batched per-image augmentation on tensors; speed read from its TensorBoard log inside epoch 2.
Then the JPEG copy is loaded twice into an empty data directory: decoded once, then from the cache.
Aims: epoch speed-up >= 1.5x, peak memory < 3 GB.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile

from experiments.cifar10_cnn import plain
from experiments.vision_benchmark import arguments, compare

# One CIFAR10Data.setup() in a fresh process, imports excluded; prints its seconds.
LOAD = ("import sys, time; from glossary_exp.vision.cifar10 import CIFAR10Data; start = time.perf_counter(); "
        "CIFAR10Data(root=sys.argv[1], mirror=sys.argv[2], num_workers=2).setup(); print(time.perf_counter() - start)")


def load_seconds(data_dir: str, mirror: str) -> float:
    out = subprocess.run([sys.executable, "-c", LOAD, data_dir, mirror], check=True, capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    times = compare(plain, ["experiment=cifar10_cnn"], args)
    print(f"epoch speed-up over the document's pipeline: {statistics.median(times['epoch speed-up']):.2f}x "
          "(aim >= 1.5x)")
    print(f"peak memory: {max(times['framework peak MB']):.0f} MB (aim < 3000 MB)")
    with tempfile.TemporaryDirectory() as empty:
        first, second = load_seconds(empty, args.mirror), load_seconds(empty, args.mirror)
    print(f"loading the 60,000 JPEGs: decoded {first:.1f} s, then from the cache {second:.1f} s")


if __name__ == "__main__":
    main()
