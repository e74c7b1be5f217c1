"""Your own images (glossary: Custom Dataset, Transforms): ``train/<class>/*`` and optional ``val/``, ``test/``."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from glossary_exp.data.tensors import Split
from glossary_exp.errors import ConfigError, DataError
from glossary_exp.registry import register
from glossary_exp.vision.images import ImageDataModule, cached, carve, fingerprint
from glossary_exp.vision.sources import cache_dir
from glossary_exp.vision.transforms import IMAGENET

log = logging.getLogger(__name__)
SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
SPLITS = ("train", "val", "test")
# The Transforms entry's pipeline.
TRANSFORMS = {"resize": 224, "hflip": 0.5, "normalize": IMAGENET}


@register("data", "image_folder")
class ImageFolderData(ImageDataModule):
    """RGB images loaded with PIL, resized once at decode to ``transforms.resize`` and cached as uint8.

    Missing ``val/`` or ``test/`` folders are carved from ``train/`` (seeded fractions).
    """

    def __init__(self, path: str | None = None, root: str = "data", batch_size: int = 32,
                 val_fraction: float = 0.1, test_fraction: float = 0.1, split_seed: int = 0,
                 transforms: Mapping[str, Any] | None = None, num_workers: int = 2, cache: bool = True) -> None:
        super().__init__(batch_size, TRANSFORMS if transforms is None else transforms, val_fraction, split_seed)
        if not path:
            raise ConfigError("data.path is not set; give data.path=<folder with train/<class>/*>")
        self.path, self.root, self.test_fraction = Path(path).expanduser(), root, test_fraction
        self.num_workers, self.cache = num_workers, cache

    def load(self) -> dict[str, Split]:
        if not (self.path / "train").is_dir():
            raise DataError(f"data.path={self.path} has no train/ folder; expected {self.path}/train/<class>/<image> "
                            "(and optionally val/ and test/ laid out the same way)")
        size = self.transform.size
        self.classes, splits = load_folder(self.path, size, self.num_workers, cache_dir(self.root, None)
                                           if self.cache else None)
        if "test" not in splits:
            splits["train"], splits["test"] = carve(splits["train"], self.test_fraction, self.split_seed + 1,
                                                    "test_fraction")
        return splits


def load_folder(path: Path, size: tuple[int, int] | None, workers: int,
                cache: Path | None) -> tuple[list[str], dict[str, Split]]:
    """Class names and the decoded ``train``/``val``/``test`` splits present under ``path``, cached."""
    classes = sorted(entry.name for entry in os.scandir(path / "train") if entry.is_dir())
    if not classes:
        raise DataError(f"{path}/train has no class folders; expected {path}/train/<class>/<image>")
    listing = {split: list_split(path / split, classes) for split in SPLITS if (path / split).is_dir()}
    stamps = [(f, (stat := os.stat(f)).st_size, stat.st_mtime_ns) for files, _ in listing.values() for f in files]
    name = f"folder-{path.name}"

    def decode() -> dict[str, Any]:
        return {split: (decode_images(files, size, workers), torch.tensor(labels, dtype=torch.long))
                for split, (files, labels) in listing.items()}

    data = cached(cache, name, fingerprint(str(path.resolve()), size, stamps), decode)
    return classes, {split: tuple(pair) for split, pair in data.items()}


def list_split(directory: Path, classes: list[str]) -> tuple[list[str], list[int]]:
    """Image files under ``directory/<class>/`` in a fixed order, and their class indices."""
    files: list[str] = []
    labels: list[int] = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if not entry.is_dir():
            continue
        if entry.name not in classes:
            raise DataError(f"{entry.path}: class {entry.name!r} is not among train/'s classes ({', '.join(classes)})")
        names = sorted(f.name for f in os.scandir(entry.path) if Path(f.name).suffix.lower() in SUFFIXES)
        files += [os.path.join(entry.path, name) for name in names]
        labels += [classes.index(entry.name)] * len(names)
    if not files:
        raise DataError(f"{directory} holds no images ({', '.join(sorted(SUFFIXES))}) in class folders")
    return files, labels


def decode_images(files: list[str], size: tuple[int, int] | None, workers: int) -> torch.Tensor:
    """``(N, 3, H, W)`` uint8: every file as RGB, resized to ``size`` (all must match when None)."""
    first = read_image(files[0], size)
    out = torch.empty((len(files), *first.shape), dtype=torch.uint8)  # (N, H, W, 3), filled in place
    pixels = out.numpy()  # a view: PIL's read-only arrays are copied straight into it

    def fill(index: int) -> None:
        image = read_image(files[index], size)
        if image.shape != first.shape:
            raise DataError(f"{files[index]} is {image.shape[1]}x{image.shape[0]} but {files[0]} is "
                            f"{first.shape[1]}x{first.shape[0]}; set data.transforms.resize to one size")
        pixels[index] = image

    log.info("decoding %d images with %d thread(s)", len(files), max(workers, 1))
    with ThreadPoolExecutor(max(workers, 1)) as pool:  # PIL releases the GIL while decoding
        list(pool.map(fill, range(len(files))))
    return out.permute(0, 3, 1, 2).contiguous()


def read_image(file: str, size: tuple[int, int] | None) -> np.ndarray:
    """One image as ``(H, W, 3)`` uint8; unreadable files raise DataError naming them."""
    try:
        with Image.open(file) as image:
            image = image.convert("RGB")
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)  # PIL sizes are (W, H)
            return np.asarray(image)
    except (OSError, SyntaxError, ValueError) as err:  # PIL raises these for truncated or non-image files
        raise DataError(f"{file} is not a readable image ({err}); remove or replace it") from None

