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
    cleaned = re.sub(r"[^A-Za-z0-9=,._+-]+", "_", str(text)).strip("_.")
    return cleaned[:MAX_NAME_CHARS]


def run_dir(output_dir: str, name: str, overrides: str, resume: str | None) -> str:
    """``<output_dir>/<name>/<stamp>[_<overrides>]``, or the run being resumed."""
    if resume:
        return str(resume)
    leaf = STAMP + (f"_{safe_name(overrides)}" if overrides else "")
    return str(Path(output_dir) / safe_name(name) / leaf)


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


def load_resumed_config(run: Path) -> tuple[Any, str]:
    """The config a run was started with, and its last checkpoint, to continue it."""
    from glossary_exp.errors import ConfigError

    config, checkpoint = run / CONFIG_FILE, run / CHECKPOINT_DIR / LAST_CHECKPOINT
    if not config.is_file():
        raise ConfigError(f"resume={run}: not a run directory (no {CONFIG_FILE})")
    if not checkpoint.is_file():
        raise ConfigError(f"resume={run}: the run saved no checkpoint yet ({checkpoint} is missing); start it again")
    cfg = OmegaConf.load(config)
    cfg.resume = str(run)
    return cfg, str(checkpoint)
