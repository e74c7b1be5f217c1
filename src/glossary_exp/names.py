"""Names of run and job directories: what ran, short and whole.

A name lists the command's overrides as ``key-value``, each key cut to the shortest dotted suffix
no other override shares (``optimizer.lr=0.01`` is ``lr-0.01``, unless ``scheduler.lr`` is given too).
Overrides that say where files go or how output looks are left out. A name never cuts an override in
half: past :data:`MAX_CHARS` the remaining ones are counted (``+2``); the full list is in the run's
``.hydra/overrides.yaml`` and ``metrics.json``. A test or predict run is named after the run whose
checkpoint it read. Imports only the standard library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import PurePath

MAX_CHARS = 100
# Overrides that do not change what a run computes, or are named otherwise (task, ckpt_path).
LEFT_OUT = ("experiment", "resume", "reproduce", "ckpt_path", "task", "print_config", "paths.output_dir",
            "paths.data_dir",
            "paths.dataset_mirror", "callbacks.progress_bar", "callbacks.progress_refresh_rate", "hparams_search",
            "trust_checkpoint")


def safe_name(text: str, limit: int = 120) -> str:
    """``text`` usable as one path component: no separators or odd characters, bounded length."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", str(text)).strip("_.")[:limit]


def short_keys(keys: list[str]) -> dict[str, str]:
    """Each dotted key's shortest suffix that no other key ends with."""
    short = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if sum(other == suffix or other.endswith("." + suffix) for other in keys) == 1:
                short[key] = suffix
                break
        else:
            short[key] = key
    return short


def short_override(override: str) -> str:
    """``optimizer.lr=2.35e-06`` for ``optimizer.lr=2.350263249519565e-06``: long floats rounded for reading.

    A search's trials get such values; names and summaries show 4 significant digits, metrics.json
    and ``.hydra/overrides.yaml`` keep the whole value.
    """
    key, _, value = override.partition("=")
    try:
        number = float(value)
    except ValueError:
        return override
    return f"{key}={number:.4g}" if len(value) > 8 and math.isfinite(number) else override


def overrides_name(overrides: Iterable[str]) -> str:
    """``lr-0.01_optimizer-adam`` for ``optimizer=adam optimizer.lr=0.01``: sorted, whole overrides only."""
    pairs = {}
    for override in overrides:
        key, _, value = short_override(str(override)).partition("=")
        key = key.lstrip("+~")
        if key and key not in LEFT_OUT and not key.startswith("hydra."):
            pairs[key] = value
    short = short_keys(list(pairs))
    items = sorted(safe_name(f"{short[key]}-{value}", MAX_CHARS) for key, value in pairs.items())
    kept: list[str] = []
    for item in items:
        if len("_".join([*kept, item])) > MAX_CHARS:
            break
        kept.append(item)
    more = len(items) - len(kept)
    return "_".join(kept + ([f"+{more}"] if more else []))


def evaluation_name(overrides: Iterable[str]) -> str:
    """``test_of_<source run id>`` (or ``predict_of_...``) for a test or predict run; ``""`` for a fit."""
    given = dict(str(o).lstrip("+").partition("=")[::2] for o in overrides)
    task = given.get("task", "fit")
    if task == "fit":
        return ""
    checkpoint = PurePath(given.get("ckpt_path", "checkpoint"))
    source = checkpoint.parent.parent.name if checkpoint.parent.name == "checkpoints" else checkpoint.stem
    return safe_name(f"{task}_of_{source[:26]}")


def run_name(overrides: Iterable[str]) -> str:
    """The part of a run or job directory's name after its stamp or job number."""
    overrides = list(overrides)
    return "_".join(part for part in (evaluation_name(overrides), overrides_name(overrides)) if part)
