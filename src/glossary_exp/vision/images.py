"""Image datasets held in memory as uint8 tensors, decoded once and cached on disk; transforms run batched."""

from __future__ import annotations

import hashlib
import logging
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from glossary_exp.atomic import write_atomically
from glossary_exp.data.tensors import Split, SplitTensorDataModule
from glossary_exp.diskfull import out_of_space
from glossary_exp.errors import ConfigError
from glossary_exp.vision.transforms import BatchTransform

log = logging.getLogger(__name__)
# Bump when the cached layout changes, so old cache files are not read.
CACHE_VERSION = 1


class ImageDataModule(SplitTensorDataModule):
    """Splits of ``(images, labels)``: uint8 ``(N, C, H, W)`` and int64 ``(N,)``.

    Subclasses implement :meth:`load` (``train`` and any of ``val``/``test``); a missing
    ``val`` split is carved from train. Batches leave the loader as uint8 and are converted,
    augmented (training only) and normalized in :meth:`on_after_batch_transfer`, i.e. after
    Lightning moved them to the accelerator.
    """

    def __init__(self, batch_size: int, transforms: Mapping[str, Any] | None, val_fraction: float,
                 split_seed: int) -> None:
        super().__init__(batch_size=batch_size, shuffle=True)
        self.transform = BatchTransform.from_config(transforms)
        self.val_fraction, self.split_seed = val_fraction, split_seed
        self.classes: list[str] = []

    def load(self) -> dict[str, Split]:
        """The decoded splits; sets :attr:`classes`."""
        raise NotImplementedError

    def make_splits(self) -> dict[str, Split]:
        splits = self.load()
        if "val" not in splits:
            splits["train"], splits["val"] = carve(splits["train"], self.val_fraction, self.split_seed, "val_fraction")
        splits = {name: splits[name] for name in ("train", "val", "test") if name in splits}
        log.info("%s: %s, %d classes", type(self).__name__,
                 ", ".join(f"{name} {len(s[0])}" for name, s in splits.items()), len(self.classes))
        return splits

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """``(C, H, W)`` of the batches the model gets (after any resize); None before setup."""
        if "train" not in self.splits:
            return None
        channels, height, width = self.splits["train"][0].shape[1:]
        return (channels, *(self.transform.size or (height, width)))

    def on_after_batch_transfer(self, batch: Split, dataloader_idx: int) -> Split:
        images, labels = batch
        training = self.trainer is not None and self.trainer.training
        return self.transform(images, train=training), labels


def carve(split: Split, fraction: float, seed: int, key: str) -> tuple[Split, Split]:
    """``(rest, part)``: a seeded random ``fraction`` of ``split`` taken out as ``part``."""
    n = len(split[0])
    count = round(n * fraction)
    if not 0 < fraction < 1 or not 0 < count < n:
        raise ConfigError(f"data.{key}={fraction} leaves no images on one side of the split of {n}; "
                          "choose a value between 0 and 1")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    part, rest = order[:count].sort().values, order[count:].sort().values
    return tuple(t[rest] for t in split), tuple(t[part] for t in split)


def fingerprint(*parts: object) -> str:
    """A short hash naming what a cache file was decoded from."""
    return hashlib.sha1(repr((CACHE_VERSION, *parts)).encode()).hexdigest()[:16]


def file_stamp(path: Path) -> tuple[str, int, int]:
    """(path, size, mtime): enough to notice a replaced file without reading it."""
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def cached(cache_dir: Path | None, name: str, key: str, decode: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``decode()``, stored under ``cache_dir`` the first time and read back afterwards.

    ``cache_dir`` None: no cache. A cache that cannot be written (read-only disk) only
    costs the next run the decode again; one that is truncated, damaged or unreadable is decoded
    again and rewritten.
    """
    path = cache_dir / f"{name}-{key}.pt" if cache_dir is not None else None
    if path is not None and path.is_file():
        data = _read_cache(path, name)
        if data is not None:
            return data
    data = decode()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, lambda file: torch.save(data, file))  # a concurrent run never reads half a file
            log.info("%s: decoded tensors cached in %s", name, path)
        except OSError as err:
            if out_of_space(err) is not None:
                raise  # the run would meet the full disk again at its first checkpoint: said once, by the run
            log.warning("%s: could not write cache %s (%s)", name, path, err)
    return data


def _read_cache(path: Path, name: str) -> dict[str, Any] | None:
    """The tensors cached in ``path``, or None (one warning) when the file is not whole.

    torch's reader notices a truncated file but not a changed byte inside a tensor: it would
    train on damaged images. Every record of torch's zip holds a CRC-32 of its bytes, so the
    archive's own check (``testzip``, about a second per GB) finds any such change first.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
        if damaged is not None:
            raise ValueError(f"{damaged} does not match its checksum")
        data = torch.load(path, weights_only=True)
        if not isinstance(data, dict):
            raise ValueError(f"it holds a {type(data).__name__}, not the splits")
    except Exception as err:  # noqa: BLE001 - truncated, damaged, from another torch: whatever it raises, decode again
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        log.warning("%s: cache %s is damaged or unreadable (%s: %s); decoding again", name, path,
                    type(err).__name__, reason)
        return None
    log.info("%s: read decoded tensors from cache %s", name, path)
    return data
