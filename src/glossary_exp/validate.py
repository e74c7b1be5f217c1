"""Check a composed config before anything is built: unknown names and keys, wrong types, impossible values.

Every problem raises :class:`ConfigError` naming the key and what is allowed; the CLI prints it as
one line. The mechanism, not a list of cases: our own keys have the types of
:mod:`glossary_exp.schema`; plugin, Trainer, optimizer and scheduler settings are checked against
the signatures of what they configure (:mod:`glossary_exp.arguments`); numbers are finite; values
of the keys in :data:`RANGES` (by name, in every group, plugins' included) are in range; and the
optimizer and scheduler are built once on a stand-in parameter, so torch's own checks run before
the run starts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from glossary_exp.arguments import changed_settings, check_arguments
from glossary_exp.errors import ConfigError, listing, nearest
from glossary_exp.schema import field_type, unknown_keys
from glossary_exp.trainer_arguments import check_trainer_names

TASKS = ("fit", "test", "predict")
LOGGERS = ("tensorboard", "csv")
MODES = ("min", "max")


@dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is not allowed
    high_open: bool = False

    def check(self, key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        low_ok = self.low is None or value > self.low or (value == self.low and not self.low_open)
        high_ok = self.high is None or value < self.high or (value == self.high and not self.high_open)
        if not (low_ok and high_ok):
            raise ConfigError(f"{key} must be {self}, got {value!r}")

    def __str__(self) -> str:
        low = f"{'>' if self.low_open else '>='} {self.low:g}" if self.low is not None else ""
        high = f"{'<' if self.high_open else '<='} {self.high:g}" if self.high is not None else ""
        return " and ".join(part for part in (low, high) if part)


AT_LEAST_0, AT_LEAST_1, ABOVE_0 = Range(0), Range(1), Range(0, low_open=True)
FRACTION = Range(0, 1, low_open=True, high_open=True)
# Impossible values under these names in any group (a plugin's settings of the same name too).
RANGES = {
    "lr": ABOVE_0, "batch_size": AT_LEAST_1, "num_workers": AT_LEAST_0, "max_epochs": AT_LEAST_1,
    "passes": AT_LEAST_1, "steps": AT_LEAST_1, "samples": AT_LEAST_1, "points": AT_LEAST_1,
    "num_classes": AT_LEAST_1, "features": AT_LEAST_1, "in_features": AT_LEAST_1, "in_channels": AT_LEAST_1,
    "channels": AT_LEAST_1, "image_size": AT_LEAST_1, "size": AT_LEAST_1, "hidden": AT_LEAST_0,
    "hidden1": AT_LEAST_1, "hidden2": AT_LEAST_1, "print_every": AT_LEAST_1, "noise": AT_LEAST_0,
    "val_fraction": FRACTION, "test_fraction": FRACTION, "split_seed": AT_LEAST_0, "data_seed": AT_LEAST_0,
    "momentum": AT_LEAST_0, "dampening": AT_LEAST_0, "weight_decay": AT_LEAST_0, "eps": ABOVE_0,
    "T_max": AT_LEAST_1, "eta_min": AT_LEAST_0, "step_size": AT_LEAST_1, "gamma": ABOVE_0,
    "log_every_n_steps": AT_LEAST_0, "gradient_clip_val": AT_LEAST_0, "max_steps": Range(-1),
    "min_epochs": AT_LEAST_0, "accumulate_grad_batches": AT_LEAST_1, "check_val_every_n_epoch": AT_LEAST_1,
    "num_sanity_val_steps": Range(-1), "limit_train_batches": ABOVE_0, "limit_val_batches": AT_LEAST_0,
    "limit_test_batches": AT_LEAST_0, "limit_predict_batches": AT_LEAST_0, "overfit_batches": AT_LEAST_0,
    "early_stopping_patience": AT_LEAST_0, "progress_refresh_rate": AT_LEAST_1, "num_nodes": AT_LEAST_1,
}
RANGED_GROUPS = ("model", "data", "optimizer", "scheduler", "trainer", "callbacks")
# Trainer settings that are a fraction of the batches when given as a float.
BATCH_FRACTIONS = ("limit_train_batches", "limit_val_batches", "limit_test_batches", "limit_predict_batches",
                   "overfit_batches")


def check_choice(key: str, value: Any, allowed: Iterable[str]) -> None:
    """``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed{nearest(str(value), allowed)}; "
                          f"choose one of: {listing(allowed)}")


def check_command_line(overrides: Iterable[str]) -> None:
    """Booleans of our own settings given as true or false: OmegaConf would read ``yes``, ``1`` or ``on`` as true."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.get_key_element().lstrip("+~")
        if field_type(key) is bool and not override.is_delete() and not isinstance(override.value(), bool):
            raise ConfigError(f"{key} must be true or false, got {override.get_value_element_as_str()}")


def check_finite(node: Any, prefix: str = "") -> None:
    """No NaN or infinity anywhere: a number in a config is always meant to be finite."""
    items = node.items() if isinstance(node, Mapping) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        path = f"{prefix}{key}" if isinstance(node, Mapping) else f"{prefix.rstrip('.')}[{key}]"
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{path} must be a finite number, got {value}")
        check_finite(value, f"{path}.")


def check_ranges(cfg: Mapping[str, Any], whole_numbers_only: bool = False) -> None:
    """Values of the keys in :data:`RANGES` in every group; floats of :data:`BATCH_FRACTIONS` at most 1.

    ``whole_numbers_only``: other values are passed over, for the type checks that name what their setting
    takes (``data.batch_size=0.5``: "must be a whole number", not "must be >= 1").
    """
    for group in RANGED_GROUPS:
        for name, value in (cfg.get(group) or {}).items():
            if whole_numbers_only and not _whole_number(value):
                continue
            if name in RANGES and value is not None:
                RANGES[name].check(f"{group}.{name}", value)
    trainer = cfg.get("trainer") or {}
    for name in BATCH_FRACTIONS:
        value = trainer.get(name)
        if isinstance(value, float) and value > 1:
            raise ConfigError(f"trainer.{name} is a count of batches or a fraction of them up to 1.0, got {value}")


def check_trainer(trainer: Mapping[str, Any]) -> None:
    """``trainer.*`` are arguments of Lightning's Trainer, of its types, and not ones glossary_exp sets itself."""
    import lightning.pytorch as pl

    check_trainer_names(trainer)
    check_arguments("trainer", pl.Trainer, trainer, what="Lightning's Trainer")
    if trainer.get("max_epochs") is None and (trainer.get("max_steps") or -1) < 1:
        raise ConfigError("trainer.max_epochs must be >= 1 (or null with trainer.max_steps >= 1)")


def check_paths(cfg: Any) -> None:
    """No data directory inside the read-only dataset mirror: nothing may ever be written there."""
    if not cfg.paths.dataset_mirror:
        return
    mirror = Path(cfg.paths.dataset_mirror).expanduser().resolve()
    for key, value in (("paths.data_dir", cfg.paths.data_dir), ("data.root", cfg.data.get("root"))):
        if value and Path(value).expanduser().resolve().is_relative_to(mirror):
            raise ConfigError(f"{key}={value} lies inside the read-only dataset mirror {mirror}; choose a data "
                              "directory outside it (the mirror is read from, never written to)")


def check_config(cfg: Any) -> tuple[type, type]:
    """Check every group of a composed config; returns the (model, data) plugin classes.

    Keys and types first (against the schema and the signatures), then ranges, then torch's own
    checks, then what the settings mean together.
    """
    import lightning.pytorch as pl
    from lightning.pytorch.utilities.model_helpers import is_overridden

    from glossary_exp import registry

    check_values(cfg)
    check_trainer(_plain(cfg.trainer))
    model_cls = registry.get("model", cfg.model.name)
    data_cls = registry.get("data", cfg.data.name)
    check_arguments("model", model_cls, _plain(cfg.model, drop="name"), what=f"model {cfg.model.name}")
    check_arguments("data", data_cls, _plain(cfg.data, drop="name"), what=f"data {cfg.data.name}")
    check_optimization_types(cfg)
    check_ranges(cfg)
    check_optimization_by_torch(cfg)
    split = {"test": "test_dataloader", "predict": "predict_dataloader"}.get(cfg.task)
    if split and not is_overridden(split, data_cls, pl.LightningDataModule):
        raise ConfigError(f"task={cfg.task} needs a {cfg.task} split, and data={cfg.data.name} has none")
    check_monitor(cfg, model_cls, is_overridden("val_dataloader", data_cls, pl.LightningDataModule))
    return model_cls, data_cls


def check_values(cfg: Any) -> None:
    """The checks that need neither torch nor a plugin's class: run first, so bad input is answered in a second.

    Whole numbers out of range are refused here too; a value that may be of the wrong type is left to
    :func:`check_config`, which names the type its setting takes.
    """
    check_trainer_names(cfg.trainer)
    for key, allowed in unknown_keys(cfg):
        leaf = key.rsplit(".", 1)[-1]
        raise ConfigError(f"{key} is not a setting{nearest(leaf, allowed, key.rpartition('.')[0])}; "
                          f"allowed: {listing(allowed)}", key=key)
    check_finite(OmegaConf.to_container(cfg, resolve=True))
    check_choice("task", cfg.task, TASKS)
    check_choice("logger", cfg.logger.name, LOGGERS)
    check_choice("callbacks.checkpoint.mode", cfg.callbacks.checkpoint.mode, MODES)
    if cfg.seed is not None and cfg.seed < 0:
        raise ConfigError(f"seed must be a whole number >= 0 or null, got {cfg.seed!r}")
    if cfg.steps_per_execution < 1:
        raise ConfigError(f"steps_per_execution must be a whole number >= 1, got {cfg.steps_per_execution!r}")
    check_ranges(cfg, whole_numbers_only=True)
    check_paths(cfg)
    if cfg.task != "fit" and not cfg.ckpt_path:
        raise ConfigError(f"task={cfg.task} needs ckpt_path=<file.ckpt>")
    if cfg.resume and cfg.ckpt_path:
        raise ConfigError("resume= continues a run from its own last.ckpt; ckpt_path= starts a new one from "
                          "a checkpoint's weights: give one of them")


def check_optimization_types(cfg: Any) -> None:
    """The optimizer and scheduler settings fit the signatures of torch's classes."""
    from glossary_exp.optim import OPTIMIZERS, SCHEDULERS, scheduler_kwargs

    optimizer, scheduler = _plain(cfg.optimizer), _plain(cfg.scheduler)
    check_choice("optimizer.name", optimizer.get("name"), OPTIMIZERS)
    check_arguments("optimizer", OPTIMIZERS[optimizer["name"]], {k: v for k, v in optimizer.items() if k != "name"},
                    what=f"torch.optim.{OPTIMIZERS[optimizer['name']].__name__}")
    if optimizer.get("fused") and optimizer.get("foreach"):
        raise ConfigError("optimizer.fused=true and optimizer.foreach=true exclude each other; set one of them to null")
    check_choice("scheduler.name", scheduler.get("name"), ["none", *SCHEDULERS])
    if scheduler["name"] != "none":
        check_choice("scheduler.interval", scheduler.get("interval", "epoch"), ("epoch", "step"))
        check_arguments("scheduler", SCHEDULERS[scheduler["name"]], scheduler_kwargs(scheduler, total=1),
                        what=f"torch's {SCHEDULERS[scheduler['name']].__name__}")


def check_optimization_by_torch(cfg: Any) -> None:
    """torch accepts the optimizer and scheduler settings: both are built once on a stand-in parameter."""
    import torch

    from glossary_exp.optim import build_optimizer, build_scheduler

    optimizer, scheduler = _plain(cfg.optimizer), _plain(cfg.scheduler)
    stand_in = [torch.nn.Parameter(torch.zeros(1))]
    try:
        built = build_optimizer(stand_in, optimizer)
    except (ValueError, TypeError, RuntimeError) as err:
        raise ConfigError(f"{_blame('optimizer', optimizer, err)} refused by torch: {err}") from None
    try:
        build_scheduler(built, scheduler, total=1)
    except (ValueError, TypeError, RuntimeError) as err:
        raise ConfigError(f"{_blame('scheduler', scheduler, err)} refused by torch: {err}") from None


# Words torch's optimizer errors use for a setting, by the setting's key.
TORCH_WORDS = {"nesterov": "nesterov", "lr": "learning rate", "betas": "beta", "eps": "epsilon", "momentum": "momentum",
               "weight_decay": "weight_decay", "dampening": "dampening", "fused": "fused",
               "foreach": "foreach", "T_max": "t_max", "gamma": "gamma", "step_size": "step_size"}


def _blame(group: str, settings: Mapping[str, Any], err: Exception) -> str:
    """``group.key=value`` for the setting torch's message is about, else the group and its name."""
    message = str(err).lower()
    for key, word in TORCH_WORDS.items():
        if key in settings and word in message:
            return f"{group}.{key}={settings[key]!r}"
    return f"{group}={settings.get('name')}"


def check_monitor(cfg: Any, model_cls: type, has_val: bool) -> None:
    """``callbacks.checkpoint.monitor`` is a metric the model logs during fit (its ``hparam_metrics``)."""
    monitor = cfg.callbacks.checkpoint.monitor
    if not monitor:
        return
    logged = [m for m in (*getattr(model_cls, "hparam_metrics", ()), "train/loss")
              if not m.startswith("test/") and (has_val or not m.startswith("val/"))]
    allowed = list(dict.fromkeys([*logged, "epoch", "step"]))
    if monitor not in allowed:
        raise ConfigError(f"callbacks.checkpoint.monitor={monitor!r} is not a metric this run logs during fit"
                          f"{nearest(monitor, allowed)}; choose one of: {listing(allowed)}")


def construct(kind: str, cls: type, kwargs: Mapping[str, Any]) -> Any:
    """``cls(**kwargs)``; a plugin refusing its settings is a config error naming the settings that differ."""
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (ValueError, TypeError, RuntimeError, AssertionError) as err:
        changed = " ".join(f"{kind}.{k}={v!r}" for k, v in changed_settings(cls, kwargs).items())
        raise ConfigError(f"{kind} {cls.__name__} refused its settings{' (' + changed + ')' if changed else ''}: "
                          f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from err


def _whole_number(value: Any) -> bool:
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))


def _plain(node: Any, drop: str | None = None) -> dict[str, Any]:
    if node is None:
        return {}
    data: dict[str, Any] = OmegaConf.to_container(node, resolve=True)  # type: ignore[assignment]
    return {k: v for k, v in data.items() if k != drop}
