"""The types and keys of glossary_exp's own settings, checked by Hydra as it composes (before torch is imported).

``conf/config.yaml`` takes this schema first in its defaults list (Hydra's "schema for YAML"
pattern), so ``deterministic=maybe`` or ``+seeed=1`` is refused at composition with the key's name,
and ``resume=2026`` arrives as the string it is. The plugin and torch groups (``model``, ``data``,
``optimizer``, ``scheduler``, ``trainer``) stay open mappings: their keys and types are checked
against the signatures of what they build (:mod:`glossary_exp.validate`). The ``accelerator``
group holds no settings of its own: its presets set ``trainer.accelerator``, ``devices`` and ``strategy``.
"""

# No ``from __future__ import annotations``: OmegaConf reads these annotations at runtime.
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

SCHEMA_NAME = "glossary_schema"


@dataclass
class CheckpointSettings:
    # null: the model's first validation metric when there is validation data, else train/loss.
    monitor: Optional[str] = None
    mode: str = "min"


@dataclass
class CallbackSettings:
    progress_bar: bool = True
    progress_refresh_rate: int = 10
    lr_monitor: bool = True
    checkpoint: CheckpointSettings = field(default_factory=CheckpointSettings)
    early_stopping_patience: Optional[int] = None


@dataclass
class PathSettings:
    output_dir: str = "outputs"
    data_dir: str = "data"
    dataset_mirror: Optional[str] = None


@dataclass
class LoggerSettings:
    name: str = "tensorboard"


@dataclass
class Settings:
    task: str = "fit"
    name: str = "run"
    seed: Optional[int] = None
    deterministic: bool = False
    steps_per_execution: int = 1
    ckpt_path: Optional[str] = None
    resume: Optional[str] = None
    reproduce: Optional[str] = None
    print_config: bool = True
    trust_checkpoint: bool = False
    trainer: Dict[str, Any] = field(default_factory=dict)
    model: Dict[str, Any] = field(default_factory=dict)
    data: Dict[str, Any] = field(default_factory=dict)
    optimizer: Dict[str, Any] = field(default_factory=dict)
    scheduler: Dict[str, Any] = field(default_factory=dict)
    logger: LoggerSettings = field(default_factory=LoggerSettings)
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    paths: PathSettings = field(default_factory=PathSettings)


def schema_node() -> DictConfig:
    """The schema as a config whose ``trainer`` node is open: ``trainer.<any name>=`` needs no ``+``.

    Hydra marks the whole config struct; a node's own flag wins over its parent's, so the Trainer's
    arguments can be given as in LightningCLI and are checked by name (:mod:`glossary_exp.trainer_arguments`).
    """
    node = OmegaConf.structured(Settings)
    OmegaConf.set_struct(node.trainer, False)
    return node


def register_schema() -> None:
    """Make the schema available to Hydra's defaults lists as ``glossary_schema``."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=schema_node(), provider="glossary_exp")


def _fields(node: Any) -> dict[str, Any]:
    return {f.name: f.type for f in dataclasses.fields(node)}


def field_type(key: str) -> Any | None:
    """The schema's type of a dotted key (``callbacks.progress_bar`` -> bool); None outside the schema."""
    node: Any = Settings
    for part in key.split("."):
        if not dataclasses.is_dataclass(node) or part not in _fields(node):
            return None
        node = _fields(node)[part]
    return node


def unknown_keys(cfg: Any, node: type = Settings, prefix: str = "") -> list[tuple[str, list[str]]]:
    """``(key, allowed keys)`` for every key of ``cfg`` the schema lacks, where the schema fixes the keys.

    Hydra adds ``+key=value`` to any node, schema or not; this finds what was added to ours.
    """
    fields = _fields(node)
    found = []
    for key in cfg:
        if key not in fields:
            found.append((prefix + str(key), list(fields)))
        elif dataclasses.is_dataclass(fields[key]) and cfg[key] is not None:
            found += unknown_keys(cfg[key], fields[key], f"{prefix}{key}.")
    return found
