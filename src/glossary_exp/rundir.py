"""Where runs live: run-directory names (OmegaConf resolvers) and the files a run leaves.

Imports only the standard library and OmegaConf, so Hydra can resolve run directories
before torch is imported.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

# Once per process: every directory this process names shares it, and two processes
# starting in the same second still differ in the random suffix.
STAMP = time.strftime("%Y-%m-%d_%H-%M-%S") + "_" + secrets.token_hex(3)
MAX_NAME_CHARS = 120

CONFIG_FILE = "config.yaml"  # the composed config with the seed actually used
METRICS_FILE = "metrics.json"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"


def safe_name(text: str) -> str:
    """``text`` usable as one path component: no separators or odd characters, bounded length."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(text)).strip("_.")
    return cleaned[:MAX_NAME_CHARS]


def run_dir(output_dir: str, name: str, overrides: str, resume: str | None) -> str:
    """``<output_dir>/<name>/<stamp>[_<overrides>]``, or the run being resumed.

    A ``resume`` that names no run gets a new directory like any run (where its error is
    recorded), never the named path: that may be any directory, or not exist at all.
    """
    resumed = find_run(output_dir, resume) if resume else None
    if resumed is not None:
        return str(resumed)
    leaf = STAMP + (f"_{safe_name(overrides)}" if overrides else "")
    return str(Path(output_dir) / safe_name(name) / leaf)


def find_run(output_dir: str | Path, ref: str) -> Path | None:
    """The run directory ``ref`` names: a path, or the start of a run directory's name (its id).

    ``resume=2026-11-23_12-31-29_dfe05f`` finds the run under ``output_dir`` by its id alone.
    """
    if (Path(ref) / CONFIG_FILE).is_file():
        return Path(ref)
    matches = [p.parent for p in Path(output_dir).rglob(CONFIG_FILE) if p.parent.name.startswith(ref)]
    return matches[0] if len(matches) == 1 else None


def run_id(run: Path) -> str:
    """The short name :func:`find_run` accepts for ``run``."""
    return run.name[: len(STAMP)] if run.name.startswith(STAMP[:4]) else str(run)


def hydra_subdir(resume: str | None) -> str:
    """Hydra's own files for this invocation; a resume keeps the original run's ``.hydra``."""
    return f".hydra/resumed_{STAMP}" if resume else ".hydra"


def register_resolvers() -> None:
    """Make ``${run_dir:...}``, ``${hydra_subdir:...}``, ``${stamp:}`` and ``${safe_name:...}`` available."""
    for name, fn in {"run_dir": run_dir, "hydra_subdir": hydra_subdir,
                     "stamp": lambda: STAMP, "safe_name": safe_name}.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically: a crash mid-write never leaves a truncated file behind."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def read_metrics(run: Path) -> dict[str, Any] | None:
    """The ``metrics.json`` a run wrote, or None if it has none (yet)."""
    try:
        return json.loads((Path(run) / METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None


def load_resumed_config(ref: str, output_dir: str) -> tuple[Any, str]:
    """The config a run was started with, and its last checkpoint, to continue it."""
    from glossary_exp.errors import ConfigError

    run = find_run(output_dir, ref)
    if run is None:
        raise ConfigError(f"resume={ref}: not a run directory or the id of one run under {output_dir}")
    config, checkpoint = run / CONFIG_FILE, run / CHECKPOINT_DIR / LAST_CHECKPOINT
    if not config.is_file():
        raise ConfigError(f"resume={run}: not a run directory (no {CONFIG_FILE})")
    if not checkpoint.is_file():
        raise ConfigError(f"resume={run}: the run saved no checkpoint yet ({checkpoint} is missing); start it again")
    cfg = OmegaConf.load(config)
    cfg.resume = str(run)
    return cfg, str(checkpoint)
