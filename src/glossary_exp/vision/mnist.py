"""MNIST (glossary: Datasets, torchvision) read from its original idx.gz archives into uint8 tensors."""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glossary_exp.data.tensors import Split
from glossary_exp.registry import register
from glossary_exp.vision.images import ImageDataModule, cached, file_stamp, fingerprint
from glossary_exp.vision.sources import cache_dir, corrupt, download, md5sum, search_dirs

log = logging.getLogger(__name__)
RAW = Path("MNIST/raw")  # torchvision's layout, also the mirror's
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
MD5 = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
       "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
       "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
       "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
NORMALIZE = {"normalize": {"mean": [0.1307], "std": [0.3081]}}


@register("data", "mnist")
class MNISTData(ImageDataModule):
    """60,000 train and 10,000 test 28x28 digits: mirror first, then ``root``, then torchvision's download."""

    def __init__(self, root: str = "data", mirror: str | None = None, batch_size: int = 64,
                 val_fraction: float = 0.1, split_seed: int = 0, transforms: Mapping[str, Any] | None = None,
                 download: bool = True, cache: bool = True) -> None:
        super().__init__(batch_size, NORMALIZE if transforms is None else transforms, val_fraction, split_seed)
        self.root, self.mirror, self.download, self.cache = root, mirror, download, cache
        self.classes = [str(digit) for digit in range(10)]

    def load(self) -> dict[str, Split]:
        raw = self._find()
        stamps = [file_stamp(raw / name) for name in MD5]
        target = cache_dir(self.root, self.mirror) if self.cache else None
        data = cached(target, "mnist", fingerprint(*stamps), lambda: {s: read_split(raw, s) for s in FILES})
        return {split: tuple(data[split]) for split in FILES}

    def _find(self) -> Path:
        """The directory holding all four archives, downloading into ``root`` if none does."""
        dirs = search_dirs(self.mirror, self.root)
        for directory in dirs:
            if all((directory / RAW / name).is_file() for name in MD5):
                log.info("MNIST: using the archives in %s", directory / RAW)
                return directory / RAW
        download("MNIST", "MNIST", self.root, self.download, [str(RAW / name) for name in MD5], dirs)
        return Path(self.root).expanduser() / RAW  # where torchvision writes the archives


def read_split(raw: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images (N, 1, 28, 28) uint8, labels (N,) int64)`` of ``split`` from the archives in ``raw``."""
    image_file, label_file = (raw / name for name in FILES[split])
    images, labels = read_idx(image_file, dims=3), read_idx(label_file, dims=1)
    if len(images) != len(labels):
        raise corrupt(label_file, f"{len(labels)} labels for {len(images)} images in {image_file.name}",
                      MD5.get(label_file.name))
    if len(labels) and int(labels.max()) > 9:
        raise corrupt(label_file, f"label {int(labels.max())} is not a digit", MD5.get(label_file.name))
    return images.unsqueeze(1), labels.long()


def read_idx(path: Path, dims: int) -> torch.Tensor:
    """The uint8 array of an idx file (``dims`` 1: labels, 3: images), checked against its header."""
    official = MD5.get(path.name)
    try:
        with gzip.open(path) as file:
            raw = file.read()  # gzip checks its CRC32 at the end: damage inside raises here
    except (OSError, EOFError, zlib.error) as err:
        raise corrupt(path, f"gzip: {err}", official) from None
    start = 4 * (1 + dims)  # big-endian int32 magic, then one int32 per dimension
    header = np.frombuffer(raw[:start], dtype=">i4") if len(raw) >= start else np.zeros(0, dtype=">i4")
    if len(header) != 1 + dims or header[0] != 0x800 + dims:
        raise corrupt(path, f"not an idx file of {dims} dimension(s)", official)
    shape = tuple(int(n) for n in header[1:])
    if len(raw) - start != int(np.prod(shape)):
        raise corrupt(path, f"{len(raw) - start} data bytes where the header promises shape {shape}", official)
    if official is not None and md5sum(path) != official:
        log.warning("%s is not the official archive (md5 differs); using it as it reads correctly", path)
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(shape).copy())
