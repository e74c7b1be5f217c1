"""Which config file set a key: an error about a key the file should not have names the file.

A typo in a plugin's experiment preset (``data: {sampels: 40}``) is refused like one on the
command line, but the user has to know where to look: the chosen option of every config group
(Hydra's ``runtime.choices``) is found again among Hydra's config sources (ours, plugins', a
``hydra.searchpath``), and the first whose YAML holds the key, at the package it is merged into,
is the file named. Imports no torch.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import OmegaConf

from glossary_exp.errors import ConfigError

_ABSENT = object()
E = TypeVar("E", bound=Exception)


def file_setting(key: str) -> str | None:
    """The YAML file among this run's chosen options that sets ``key``; None outside a Hydra run or if none does."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    runtime = HydraConfig.get().runtime
    for group, option in runtime.choices.items():
        if not option or group.startswith("hydra/"):
            continue
        path = _find(runtime.config_sources, f"{group}/{option}.yaml")
        if path is None:
            continue
        text = path.read_text()
        package = next((line.split("@package", 1)[1].strip() for line in text.splitlines()
                        if line.startswith("# @package")), group.replace("/", "."))
        prefix = "" if package == "_global_" else package.removeprefix("_global_.") + "."
        settings = OmegaConf.create(text) if text.strip() else OmegaConf.create()
        if key.startswith(prefix) and OmegaConf.select(settings, key[len(prefix):], default=_ABSENT) is not _ABSENT:
            return str(path)
    return None


def name_file(err: E, overrides: list[str]) -> E:
    """``err`` with ``(set in <file>)`` when its key came from a config file rather than the command line."""
    key = getattr(err, "key", None)
    given = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    if isinstance(err, ConfigError) and key and key not in given:
        where = file_setting(key)
        if where:
            err.args = (f"{err.args[0]} (set in {where})", *err.args[1:])
    return err


def _find(sources: Any, name: str) -> Path | None:
    """The first of Hydra's config sources (``pkg://a.conf``, ``file:///dir``) that holds ``name``, as a file."""
    for source in sources:
        try:
            root = {"pkg": files, "file": Path}.get(source.schema)
            if root is not None and (root(source.path) / name).is_file():
                return Path(str(root(source.path) / name))
        except (ImportError, TypeError, OSError):
            continue
    return None
