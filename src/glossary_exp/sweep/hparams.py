"""The same hparam keys in every job of a sweep, so TensorBoard's HParams dashboard hides no column.

Keys differ between jobs only where a job chose a config group by override (``optimizer=sgd,adam``):
such a group gets the keys of all its options, ``n/a`` where its own option has none.
"""

from __future__ import annotations

import logging
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

MISSING = "n/a"
log = logging.getLogger(__name__)


def overridden_groups(overrides: list[str], params: dict[str, Any]) -> list[str]:
    """Groups of ``params`` (dict-valued) that an override like ``optimizer=adam`` chose."""
    keys = [o.split("=", 1)[0].lstrip("+~") for o in overrides if "=" in o]
    return [k for k in keys if isinstance(params.get(k), dict)]


def pad(target: dict[str, Any], template: dict[str, Any]) -> None:
    """Add every key of ``template`` missing from ``target`` (nested too), valued ``n/a``."""
    for key, value in template.items():
        if key not in target:
            target[key] = {} if isinstance(value, dict) else MISSING
        if isinstance(value, dict) and isinstance(target[key], dict):
            pad(target[key], value)


def same_keys(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` padded with the keys of every option of each group this multirun job chose by override."""
    if not HydraConfig.initialized() or not GlobalHydra.instance().is_initialized():
        return params
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return params
    loader = GlobalHydra.instance().config_loader()
    for group in overridden_groups(list(hydra_cfg.overrides.task), params):
        for option in loader.get_group_options(group):
            try:
                composed = loader.load_configuration(config_name=hydra_cfg.job.config_name,
                                                     overrides=[f"{group}={option}"], run_mode=RunMode.RUN)
            except Exception as err:  # noqa: BLE001 - a cosmetic padding must never fail the job
                log.warning("hparams: cannot compose %s=%s to list its keys: %s", group, option, err)
                continue
            if group in composed:  # not accelerator=, whose presets set trainer.* (report.hparams_of fills them)
                pad(params[group], OmegaConf.to_container(composed[group], resolve=False))  # type: ignore[arg-type]
    return params
