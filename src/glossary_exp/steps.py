"""Several optimizer steps per Lightning training batch, as Keras's ``steps_per_execution``.

Lightning's work around each training step (hooks, closure, logging, progress) costs about
0.5 ms on a 2-core CPU, a third of a SimpleNN step at batch 64. With ``steps_per_execution=K``
the training loader yields K batches' worth of samples at once and the model takes one
optimizer step per ``data.batch_size`` of them, so that work is paid once per K steps
(experiments/mnist_mlp/RESULTS.md). Each step calls torch's backward pass and optimizer step
directly when the hooks Lightning would call around them are ones nobody overrides.

The same as with one step per batch: every step's samples and their order, the optimizer and
scheduler updates, gradient clipping, ``trainer.global_step`` and ``max_steps`` (optimizer
steps), TensorBoard's x-axis (optimizer steps) and the training loss logged every
``trainer.log_every_n_steps`` steps (at the end of the batch that reaches it). Counted in batches
of K steps: the progress bar and the callbacks' per-batch hooks; under a per-step scheduler the
learning rate monitor logs once a batch. Settings that count batches, runs on several devices and
models that step their own optimizer take one step per batch, and the log says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.profilers import PassThroughProfiler
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden

from glossary_exp.errors import ConfigError

if TYPE_CHECKING:
    from glossary_exp.module import GlossaryModule

log = logging.getLogger("glossary_exp")

# Trainer settings, with their defaults, that count Lightning batches rather than optimizer steps.
BATCH_COUNTED = {"fast_dev_run": False, "overfit_batches": 0.0, "limit_train_batches": 1.0,
                 "val_check_interval": 1.0, "accumulate_grad_batches": 1}
# The hooks of the model and the callbacks that Lightning's backward pass and optimizer step call.
STEP_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step")


@dataclass(frozen=True)
class StepPlan:
    steps: int  # optimizer steps per training batch, at most
    batch_size: int  # samples per optimizer step
    log_every_n_steps: int
    gradient_clip_val: float | None
    gradient_clip_algorithm: str | None


def plan_steps(cfg: Any, trainer: pl.Trainer, model: pl.LightningModule) -> StepPlan | None:
    """The run's plan, or None for one step per batch; takes over the trainer's logging cadence and clipping."""
    steps = cfg.steps_per_execution
    if steps == 1 or cfg.task != "fit":
        return None
    reason = _one_step_reason(trainer, model)
    if reason:
        log.info("steps_per_execution=%d not used: %s; one optimizer step per batch", steps, reason)
        return None
    if not isinstance(cfg.data.get("batch_size"), int):
        raise ConfigError(f"steps_per_execution={steps} needs data.batch_size (the samples of one step); "
                          f"data={cfg.data.name} has none, so set steps_per_execution=1")
    every = trainer.log_every_n_steps  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
    plan = StepPlan(steps, cfg.data.batch_size, every, trainer.gradient_clip_val,
                    trainer.gradient_clip_algorithm)
    # Lightning writes what the model logged after every batch (0 still turns logging off) ...
    trainer.log_every_n_steps = min(plan.log_every_n_steps, 1)  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
    trainer.gradient_clip_val = None  # ... and refuses to clip in manual optimization: take_steps clips
    return plan


def _one_step_reason(trainer: pl.Trainer, model: pl.LightningModule) -> str | None:
    if trainer.world_size > 1:
        return f"it runs on {trainer.world_size} devices, where each step's gradients are synchronized"
    if not model.automatic_optimization:
        return f"model {type(model).__name__} steps its own optimizer"
    for key, default in BATCH_COUNTED.items():
        if getattr(trainer, key) != default:
            return f"trainer.{key} counts batches"
    return None


def take_steps(module: GlossaryModule, plan: StepPlan, one_step: Callable[[Any, int], torch.Tensor],
               batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
    """Split ``batch`` into steps of ``plan.batch_size``; for each, ``one_step`` gives the loss and the optimizer steps.

    ``module.last_part`` is true during a batch's last step. The losses the steps chose to log
    (``module.plan_points``) are written at the end, each at its own step.
    """
    trainer = module.trainer
    parts = split(batch, plan.batch_size)
    start = trainer.global_step
    if trainer.max_steps >= 0:
        parts = parts[: trainer.max_steps - start]
    optimizer = module.optimizers()
    assert isinstance(optimizer, LightningOptimizer)  # GlossaryModule builds one optimizer
    direct = only_default_hooks(trainer, module)
    schedulers = {interval: [c.scheduler for c in trainer.lr_scheduler_configs if c.interval == interval]
                  for interval in ("step", "epoch")}
    loss = torch.zeros(())
    for index, part in enumerate(parts):
        module.last_part = index == len(parts) - 1
        loss = one_step(part, batch_idx)
        optimizer.zero_grad()
        if direct:  # what Lightning would do, without its calls of hooks nobody overrides
            optimizer._on_before_step()  # counts the step in trainer.global_step
            loss.backward()
            _clip(module, optimizer, plan)
            optimizer.optimizer.step()
            optimizer._on_after_step()
        else:
            module.manual_backward(loss)
            _clip(module, optimizer, plan)
            optimizer.step()
        for scheduler in schedulers["step"]:
            scheduler.step()
    if trainer.is_last_batch:
        for scheduler in schedulers["epoch"]:
            scheduler.step()
    # Lightning advances the loggers' step once per batch; the rest of the steps taken here too,
    # so the x-axis of every logged value counts optimizer steps as it does with one step per batch.
    trainer.fit_loop.epoch_loop._batches_that_stepped += max(len(parts) - 1, 0)
    write_points(module)
    return loss.detach()


def write_points(module: GlossaryModule) -> None:
    """The batch's chosen losses to the loggers, each at its step (the x one step per batch gives it)."""
    points, module.plan_points = module.plan_points, []
    for tag, step, value in points:
        for logger in module.trainer.loggers:
            logger.log_metrics({tag: float(value)}, step=step)
    if points:  # the latest for the progress bar and the final metrics, not for the loggers again
        tag, _, value = points[-1]
        module.log(tag, value, prog_bar=True, logger=False)


def _clip(module: pl.LightningModule, optimizer: Any, plan: StepPlan) -> None:
    if plan.gradient_clip_val:
        module.clip_gradients(optimizer, plan.gradient_clip_val, plan.gradient_clip_algorithm)


def only_default_hooks(trainer: pl.Trainer, module: pl.LightningModule) -> bool:
    """Whether Lightning's backward pass and optimizer step would run torch's and call only hooks that do nothing.

    Full precision on one device, no profiler, the model's ``backward`` and no hook of
    :data:`STEP_HOOKS` overridden by the model or a callback. Calling those hooks costs about
    0.3 ms a step, a tenth of a SimpleNN step on a 2-core CPU (experiments/mnist_mlp/RESULTS.md).
    """
    if type(trainer.precision_plugin) is not Precision or type(trainer.strategy) is not SingleDeviceStrategy:
        return False
    if not isinstance(trainer.profiler, PassThroughProfiler):  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
        return False  # a profile should show the hooks
    if is_overridden("backward", module):
        return False
    callbacks = trainer.callbacks  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
    return not any(is_overridden(hook, owner) for owner in (module, *callbacks) for hook in STEP_HOOKS)


def split(batch: Sequence[torch.Tensor], size: int) -> list[tuple[torch.Tensor, ...]]:
    """``(x, y, ...)`` of ``n`` samples -> ``ceil(n / size)`` such tuples, views of ``size`` samples each."""
    if not isinstance(batch, (tuple, list)) or not all(isinstance(t, torch.Tensor) for t in batch):
        raise ConfigError(f"steps_per_execution > 1 splits batches given as (tensor, tensor, ...), got a "
                          f"{type(batch).__name__}; set steps_per_execution=1")
    return list(zip(*(t.split(size) for t in batch), strict=True))
