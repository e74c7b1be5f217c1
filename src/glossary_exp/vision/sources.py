"""Where a dataset's files are: the read-only mirror first, then the data directory, then a download."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from glossary_exp.errors import DataError

log = logging.getLogger(__name__)
HOW_TO_PROVIDE = ("copy them there, or point paths.dataset_mirror (env GLOSSARY_EXP_DATASET_MIRROR) at a "
                  "directory laid out like shared/datasets")


def search_dirs(mirror: str | None, root: str) -> list[Path]:
    """The directories to read a dataset from: the mirror (if set) before the data directory."""
    dirs = []
    if mirror:
        path = Path(mirror).expanduser()
        if path.is_dir():
            dirs.append(path)
        else:
            log.warning("dataset mirror %s is not a directory; ignoring it", path)
    return [*dirs, Path(root).expanduser()]


def cache_dir(root: str, mirror: str | None) -> Path | None:
    """Where decoded tensors are cached: under the data directory, never inside the mirror."""
    path = Path(root).expanduser().resolve() / "cache"
    if mirror and path.is_relative_to(Path(mirror).expanduser().resolve()):
        log.warning("paths.data_dir lies inside the read-only mirror %s; decoded data is not cached", mirror)
        return None
    return path


def md5sum(path: Path) -> str:
    """The file's md5, read in 1 MiB chunks."""
    digest = hashlib.md5()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def missing(dataset: str, expected: list[str], dirs: list[Path], why: str) -> DataError:
    """The error for data found nowhere: which files were expected in which directories, and why no download."""
    where = " or ".join(str(d) for d in dirs)
    return DataError(f"{dataset} not found: expected {', '.join(expected)} in {where}; {why}. To provide it, "
                     f"{HOW_TO_PROVIDE}")


def corrupt(path: Path, detail: str, expected_md5: str | None) -> DataError:
    """The error for a truncated or damaged archive, with its checksum against the official one."""
    actual = md5sum(path)
    check = f"md5 {actual}, the official file has {expected_md5}" if expected_md5 else f"md5 {actual}"
    return DataError(f"{path} is truncated or corrupt ({detail}; {check}); replace it with an intact copy")


def download(dataset: str, torchvision_class: str, root: str, allowed: bool, expected: list[str],
             dirs: list[Path]) -> None:
    """torchvision's own download of ``dataset`` into ``root`` (never the mirror), or the error saying why not."""
    if not allowed:
        raise missing(dataset, expected, dirs, "data.download=false forbids downloading")
    try:
        import torchvision.datasets

        getattr(torchvision.datasets, torchvision_class)(root, download=True)
    except Exception as err:  # noqa: BLE001 - no network, host down, bad download: one line saying which
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise missing(dataset, expected, dirs, f"downloading failed ({reason})") from None
