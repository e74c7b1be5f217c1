"""Optimizer and learning-rate scheduler built from the ``optimizer`` and ``scheduler`` config groups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}
SCHEDULERS: dict[str, type] = {
    "step": torch.optim.lr_scheduler.StepLR,
    "cosine": torch.optim.lr_scheduler.CosineAnnealingLR,
}
# Devices on which torch has fused updates for the optimizers above.
FUSED_DEVICES = ("cpu", "cuda")
# Keys of a scheduler config that Lightning reads rather than the scheduler class.
LIGHTNING_SCHEDULER_KEYS = ("name", "interval", "frequency")


def optimizer_kwargs(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The optimizer config minus its ``name``, with lists turned into tuples (``betas``)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items() if k != "name"}


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
    """``torch.optim`` optimizer named by ``cfg["name"]`` with the rest of ``cfg`` as arguments.

    ``fused`` and ``foreach`` both null (the configs' default) choose torch's fused update when
    it has one for every parameter: on CPU torch otherwise loops over the parameters one tensor
    op at a time, and Adam's step of SimpleNN took 4x longer (experiments/mnist_mlp/RESULTS.md).
    """
    params = list(params)
    kwargs = optimizer_kwargs(cfg)
    if kwargs.get("fused") is None and kwargs.get("foreach") is None and fusable(params):
        kwargs["fused"] = True
    return OPTIMIZERS[cfg["name"]](params, **kwargs)


def fusable(params: list[torch.nn.Parameter]) -> bool:
    """Whether torch's fused optimizer kernels take these parameters."""
    return bool(params) and all(p.is_floating_point() and p.device.type in FUSED_DEVICES for p in params)


def scheduler_kwargs(cfg: Mapping[str, Any], total: int) -> dict[str, Any]:
    """Arguments of the scheduler class: the config minus Lightning's keys.

    ``total`` is the number of scheduler intervals in the run (epochs or steps); cosine
    uses it when ``T_max`` is left null.
    """
    kwargs = {k: v for k, v in cfg.items() if k not in LIGHTNING_SCHEDULER_KEYS}
    if cfg["name"] == "cosine" and kwargs.get("T_max") is None:
        kwargs["T_max"] = max(1, total)
    return kwargs


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: Mapping[str, Any] | None, total: int
) -> dict[str, Any] | None:
    """Lightning ``lr_scheduler`` dict, or None for ``scheduler=none``."""
    if not cfg or cfg.get("name", "none") == "none":
        return None
    scheduler = SCHEDULERS[cfg["name"]](optimizer, **scheduler_kwargs(cfg, total))
    return {"scheduler": scheduler, "interval": cfg.get("interval", "epoch"), "frequency": cfg.get("frequency", 1)}
