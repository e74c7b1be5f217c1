"""Check a composed config before anything is built: unknown names, wrong types, impossible values.

Every problem raises :class:`ConfigError` naming the key and what is allowed; the CLI prints
it as one line. Keyword arguments are checked against the plugin's signature, as torchtune
does, so a new plugin needs no schema of its own.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from glossary_exp.errors import ConfigError

TASKS = ("fit", "test", "predict")
LOGGERS = ("tensorboard", "csv")


def _accepts(annotation: Any, value: Any) -> bool:
    """Whether ``value`` fits a simple annotation; anything complex is not checked."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(member, value) for member in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if isinstance(annotation, type) and annotation.__module__ == "torch":
        return False  # e.g. the Tensor in lr: float | Tensor; config values are never tensors
    return True


def _describe(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("torch.", "")


def check_arguments(key: str, fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> None:
    """Every key of ``kwargs`` is a parameter of ``fn`` and has the annotated type."""
    signature = inspect.signature(fn)
    params = {n: p for n, p in signature.parameters.items()
              if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    try:
        hints = typing.get_type_hints(fn.__init__ if isinstance(fn, type) else fn)
    except Exception:  # unresolvable forward references: check names only
        hints = {}
    for name, value in kwargs.items():
        if name not in params:
            if takes_any:
                continue
            raise ConfigError(f"{key}.{name} is not a setting of {key}; allowed: {', '.join(params)}")
        annotation = hints.get(name, params[name].annotation)
        if not _accepts(annotation, value):
            raise ConfigError(
                f"{key}.{name} must be {_describe(annotation)}, got {value!r} ({type(value).__name__})"
            )


def check_range(key: str, value: Any, *, minimum: float, inclusive: bool) -> None:
    """``value`` is a number >= (or >) ``minimum``."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key} must be a number, got {value!r}")
    if value < minimum or (value == minimum and not inclusive):
        raise ConfigError(f"{key} must be {'>=' if inclusive else '>'} {minimum}, got {value!r}")


def check_choice(key: str, value: Any, allowed: typing.Iterable[str]) -> None:
    """``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of: {', '.join(allowed)}")


# Impossible values anywhere under these groups, by key name: (minimum, inclusive).
RANGES = {"lr": (0, False), "batch_size": (1, True), "num_workers": (0, True), "max_epochs": (0, True),
          "passes": (1, True), "steps": (1, True), "val_fraction": (0, True)}


def check_ranges(cfg: Mapping[str, Any]) -> None:
    """Values of the keys in :data:`RANGES` in the data, model, optimizer and trainer groups."""
    for group in ("data", "model", "optimizer", "trainer"):
        for name, value in (cfg.get(group) or {}).items():
            if name in RANGES and value is not None:
                minimum, inclusive = RANGES[name]
                check_range(f"{group}.{name}", value, minimum=minimum, inclusive=inclusive)


def check_config(cfg: Any) -> tuple[type, type]:
    """Check every group of a composed config; returns the (model, data) plugin classes."""
    from glossary_exp import registry
    from glossary_exp.optim import OPTIMIZERS, SCHEDULERS, optimizer_kwargs, scheduler_kwargs

    check_choice("task", cfg.task, TASKS)
    check_choice("logger", cfg.logger.name, LOGGERS)
    if cfg.task != "fit" and not cfg.ckpt_path:
        raise ConfigError(f"task={cfg.task} needs ckpt_path=<file.ckpt>")
    if not isinstance(cfg.seed, int) or isinstance(cfg.seed, bool) or cfg.seed < 0:
        raise ConfigError(f"seed must be a whole number >= 0 or null, got {cfg.seed!r}")
    steps = cfg.steps_per_execution
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ConfigError(f"steps_per_execution must be a whole number >= 1, got {steps!r}")
    check_ranges(cfg)
    model_cls = registry.get("model", cfg.model.name)
    data_cls = registry.get("data", cfg.data.name)
    check_arguments("model", model_cls, {k: v for k, v in cfg.model.items() if k != "name"})
    check_arguments("data", data_cls, {k: v for k, v in cfg.data.items() if k != "name"})
    check_choice("optimizer.name", cfg.optimizer.name, OPTIMIZERS)
    check_arguments("optimizer", OPTIMIZERS[cfg.optimizer.name], optimizer_kwargs(cfg.optimizer))
    if cfg.optimizer.get("fused") and cfg.optimizer.get("foreach"):
        raise ConfigError("optimizer.fused=true and optimizer.foreach=true exclude each other; set one of them to null")
    scheduler = dict(cfg.scheduler)
    check_choice("scheduler.name", scheduler.get("name"), ["none", *SCHEDULERS])
    if scheduler["name"] != "none":
        check_choice("scheduler.interval", scheduler.get("interval", "epoch"), ("epoch", "step"))
        check_arguments("scheduler", SCHEDULERS[scheduler["name"]], scheduler_kwargs(scheduler, total=1))
    return model_cls, data_cls


def check_checkpoint(path: str | None) -> None:
    """A checkpoint file exists and Lightning can read it."""
    import torch

    from glossary_exp.errors import CheckpointError

    if not path:
        raise CheckpointError("ckpt_path is not set; give ckpt_path=<run dir>/checkpoints/best.ckpt")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise CheckpointError(f"ckpt_path={path}: no such file") from None
    except Exception as err:  # truncated, not a checkpoint, unreadable
        raise CheckpointError(f"ckpt_path={path}: not a readable checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"ckpt_path={path}: not a Lightning checkpoint (no state_dict)")
