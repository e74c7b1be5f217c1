"""CIFAR-10 (glossary: CNN on CIFAR-10): the official archive through torchvision, or a class-folder copy."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from glossary_exp.data.tensors import Split
from glossary_exp.errors import DataError
from glossary_exp.registry import register
from glossary_exp.vision.folder import load_folder
from glossary_exp.vision.images import ImageDataModule, cached, file_stamp, fingerprint
from glossary_exp.vision.sources import cache_dir, corrupt, download, md5sum, search_dirs

log = logging.getLogger(__name__)
ARCHIVE, ARCHIVE_MD5 = "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"
EXTRACTED = "cifar-10-batches-py"  # what torchvision reads
IMAGE_SIZE = (32, 32)
JPEG_COPY = "cifar10-jpg"  # {train,test}/<class>/*.jpg, as in shared/datasets
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# The document's pipeline: flip, rotate up to 15 degrees, normalize to [-1, 1].
TRANSFORMS = {"hflip": 0.5, "rotate": 15, "normalize": {"mean": [0.5] * 3, "std": [0.5] * 3}}


@register("data", "cifar10")
class CIFAR10Data(ImageDataModule):
    """50,000 train and 10,000 test 32x32 RGB images in 10 classes; the log says which copy was read.

    Looked for in the mirror, then in ``root``: the official archive (extracted or not) first,
    then the class-folder JPEG copy; only then downloaded into ``root``.
    """

    def __init__(self, root: str = "data", mirror: str | None = None, batch_size: int = 32,
                 val_fraction: float = 0.1, split_seed: int = 0, transforms: Mapping[str, Any] | None = None,
                 download: bool = True, num_workers: int = 2, cache: bool = True) -> None:
        super().__init__(batch_size, TRANSFORMS if transforms is None else transforms, val_fraction, split_seed)
        self.root, self.mirror, self.download = root, mirror, download
        self.num_workers, self.cache = num_workers, cache
        self.source = ""  # "official" or "jpeg", once loaded

    def load(self) -> dict[str, Split]:
        dirs = search_dirs(self.mirror, self.root)
        target = cache_dir(self.root, self.mirror) if self.cache else None
        for directory in dirs:
            if (directory / EXTRACTED).is_dir() or (directory / ARCHIVE).is_file():
                return self._official(directory, target)
        for directory in dirs:
            if (directory / JPEG_COPY / "train").is_dir():
                self.source = "jpeg"
                log.info("CIFAR-10: using the class-folder JPEG copy %s (a re-encoding, not the official archive; "
                         "accuracy runs a little lower on it)", directory / JPEG_COPY)
                # At CIFAR-10's own 32x32, as image_folder's preset reads this folder: one decode and cache for both.
                self.classes, splits = load_folder(directory / JPEG_COPY, IMAGE_SIZE, self.num_workers, target)
                return splits
        expected = [f"{ARCHIVE} (or {EXTRACTED}/)", f"{JPEG_COPY}/{{train,test}}/<class>/*.jpg"]
        download("CIFAR-10", "CIFAR10", self.root, self.download, expected, dirs)
        return self._official(Path(self.root).expanduser(), target)

    def _official(self, directory: Path, target: Path | None) -> dict[str, Split]:
        """The official archive in ``directory``, extracted into ``root`` if only the .tar.gz is there."""
        self.source, self.classes = "official", list(CLASSES)
        root = Path(self.root).expanduser()
        if not (directory / EXTRACTED).is_dir() and (root / EXTRACTED).is_dir():
            directory = root  # extracted from the mirror's archive by an earlier run
        if not (directory / EXTRACTED).is_dir():
            archive = directory / ARCHIVE
            if md5sum(archive) != ARCHIVE_MD5:
                raise corrupt(archive, "checksum mismatch", ARCHIVE_MD5)
            from torchvision.datasets.utils import extract_archive

            directory = root
            extract_archive(str(archive), str(directory))  # the mirror stays untouched
        log.info("CIFAR-10: using the official archive at %s", directory / EXTRACTED)
        stamps = [file_stamp(path) for path in sorted((directory / EXTRACTED).iterdir())]
        data = cached(target, "cifar10", fingerprint(*stamps), lambda: read_official(directory))
        return {split: tuple(pair) for split, pair in data.items()}


def read_official(directory: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Both splits of the extracted archive via torchvision, which checks every batch file's md5."""
    from torchvision.datasets import CIFAR10

    splits = {}
    for split in ("train", "test"):
        try:
            dataset = CIFAR10(str(directory), train=split == "train", download=False)
        except RuntimeError:  # torchvision: "Dataset not found or corrupted"
            raise DataError(f"{directory / EXTRACTED} is incomplete or corrupt (a batch file is missing or fails "
                            f"its md5 check); replace it with an intact extraction of {ARCHIVE}") from None
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()  # (N, 32, 32, 3) -> (N, 3, 32, 32)
        splits[split] = (images, torch.tensor(dataset.targets, dtype=torch.long))
    return splits
