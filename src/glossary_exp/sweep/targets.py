"""A search's sampler and pruner, named by ``_target_``: their settings checked against its signature, then built.

``hydra.sweeper.sampler.n_startup_trials=5`` is an argument of the TPESampler the settings name,
so the ``sampler`` and ``pruner`` nodes are open (:func:`glossary_exp.sweep.settings.search_node`)
and each key is checked here as a plugin's settings are (:mod:`glossary_exp.arguments`): a typo gets
the nearest argument's name, a wrong type the type it takes. The sweeper builds them itself
(``_recursive_: false``), so the check comes before Optuna sees the settings.
"""

from __future__ import annotations

import importlib
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from glossary_exp.arguments import check_arguments
from glossary_exp.errors import ConfigError, nearest

# Hydra's instantiation keys, which are not the target's arguments.
HYDRA_KEYS = ("_target_", "_partial_", "_convert_", "_recursive_", "_args_")


def build(key: str, node: DictConfig | dict[str, Any] | None) -> Any:
    """``instantiate(node)`` once its keys are arguments of its ``_target_``; None for a null node."""
    if node is None:
        return None
    settings: dict[str, Any] = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) \
        else dict(node)  # type: ignore[assignment]  # a mapping's container is a dict
    target = settings.get("_target_")
    if not target:
        raise ConfigError(f"{key} names no _target_; give {key}._target_=<class>, e.g. optuna.samplers.TPESampler")
    cls = locate(f"{key}._target_", str(target))
    check_arguments(key, cls, {k: v for k, v in settings.items() if k not in HYDRA_KEYS}, what=target)
    return instantiate(settings)


def locate(key: str, target: str) -> Any:
    """The object ``module.Name`` names; a name the module lacks is answered with the nearest one it has."""
    module_name, _, name = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"{key}={target}: cannot import {module_name or target} ({err})") from None
    if not hasattr(module, name):
        public = [n for n in dir(module) if not n.startswith("_")]
        raise ConfigError(f"{key}={target}: {module_name} has no {name}{nearest(name, public, module_name)}")
    return getattr(module, name)
