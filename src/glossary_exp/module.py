"""The LightningModule every model plugin derives from: optimization from config, NaN guard."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from functools import partial
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch

from glossary_exp.errors import NonFiniteLossError
from glossary_exp.optim import build_optimizer, build_scheduler
from glossary_exp.steps import StepPlan, take_steps


class GlossaryModule(pl.LightningModule):
    """Base of every model plugin: define the network and ``training_step``; optimization comes from the config.

    What a plugin relies on:

    - **Constructor**: its keyword arguments are the settings of ``conf/model/<name>.yaml`` (or the
      plugin's own config). Type hints are checked before anything is built (bool, int, float, str,
      ``Literal[...]``, lists/tuples, mappings, Optional); settings named as in
      ``glossary_exp.validate.RANGES`` (``hidden``, ``num_classes``, ``lr``...) are range-checked;
      a ``ValueError`` it raises becomes a one-line config error naming the settings.
    - **Batches**: whatever the datamodule yields; the built-in datamodules yield a tuple of tensors
      ``(x, y, ...)`` of one batch. ``steps_per_execution > 1`` needs exactly that (it splits them).
    - **training_step(batch, batch_idx)** returns the loss (a scalar tensor) and logs it with
      :meth:`log_loss`. A loss that turns NaN or infinite stops the run with a clear error.
      ``validation_step`` / ``test_step`` are optional; define them when the data has those splits.
    - **Optimizer and scheduler**: built from the ``optimizer`` and ``scheduler`` groups by
      :meth:`configure_optimizers`; do not override it unless the model needs something else.
    - ``monitor``: (metric, mode) choosing the best checkpoint when the data has a validation
      split (else ``train/loss``, min); a search's objective ``best/<metric>`` is its best value.
    - ``hparam_metrics``: the metrics the model logs; ``callbacks.checkpoint.monitor`` may name any
      of them that is logged during fit (not ``test/...``).
    - ``task=predict`` calls ``predict_step`` on the data's predict split (the test split for
      :class:`~glossary_exp.data.tensors.SplitTensorDataModule`) and saves its outputs to
      ``<run dir>/predictions.pt``.
    - :meth:`results`: learned values (a fitted weight) added to the run's final metrics.
    """

    hparam_metrics: tuple[str, ...] = ("train/loss",)
    # (metric, mode) choosing the best checkpoint when the data has a validation split.
    monitor: tuple[str, str] = ("val/loss", "min")

    def __init__(self) -> None:
        super().__init__()
        self.optimizer_cfg: dict[str, Any] = {"name": "sgd", "lr": 0.01}
        self.scheduler_cfg: dict[str, Any] | None = None
        self.step_plan: StepPlan | None = None
        self.last_part = False  # under a step plan: whether this step is its batch's last
        self.first_loss: float | None = None  # the first and latest finite training losses seen, for the NaN message
        self.last_loss: float | None = None
        # Under a step plan: (tag, step, value) of the losses to log, which the plan writes at their own steps.
        self.plan_points: list[tuple[str, int, torch.Tensor]] = []

    def use_optimization(self, optimizer: Mapping[str, Any], scheduler: Mapping[str, Any] | None) -> None:
        """Set the optimizer and scheduler configs that :meth:`configure_optimizers` builds."""
        self.optimizer_cfg = dict(optimizer)
        self.scheduler_cfg = dict(scheduler) if scheduler else None

    def use_step_plan(self, plan: StepPlan) -> None:
        """Take up to ``plan.steps`` optimizer steps per training batch (:mod:`glossary_exp.steps`).

        ``training_step`` stays the loss of one step: the plan calls it once per step.
        """
        self.automatic_optimization = False
        self.step_plan = plan
        one_step = type(self).training_step.__get__(self)  # the model's own, even if called twice
        self.training_step = partial(take_steps, self, plan, one_step)  # type: ignore[method-assign]  # this run's

    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.parameters(), self.optimizer_cfg)
        interval = (self.scheduler_cfg or {}).get("interval", "epoch")
        total = self.trainer.max_epochs if interval == "epoch" else self._planned_steps()
        scheduler = build_scheduler(optimizer, self.scheduler_cfg, int(total or 1))
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def _planned_steps(self) -> float:
        trainer = self.trainer
        if self.step_plan is None:
            return trainer.estimated_stepping_batches
        # Batches times steps per batch: a few steps too many when an epoch's last batch is short.
        steps = trainer.estimated_stepping_batches * self.step_plan.steps
        return min(steps, trainer.max_steps) if trainer.max_steps >= 0 else steps

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning sets _current_fx_name around every hook call, about 44 times a training step;
        # nn.Module.__setattr__'s parameter/buffer/module checks made that ~5% of a SimpleNN step.
        # These names are never a parameter, buffer or submodule, so plain assignment is equivalent.
        if name in ("_current_fx_name", "last_part", "first_loss", "last_loss"):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, Mapping) else outputs
        if loss is None:
            return
        # Reading the loss waits for the device; on an accelerator, check only when the logger does.
        if loss.device.type != "cpu" and not self.is_logging_step():
            return
        value = float(loss.detach())
        if math.isfinite(value):
            self.first_loss = value if self.first_loss is None else self.first_loss
            self.last_loss = value
            return
        raise NonFiniteLossError(self._why_not_finite(value))

    def _why_not_finite(self, value: float) -> str:
        """What is known about a loss that turned NaN or infinite: when, and what the weights and earlier losses say."""
        where = f"training loss became {value} at step {self.global_step} (epoch {self.current_epoch})"
        lr = self.optimizer_cfg.get("lr")
        if self.last_loss is None:
            return (f"{where}, before any update could change it: the model's or the data's own computation "
                    "produces it (not the learning rate)")
        # A NaN loss turns the weights NaN through its gradients; a diverging update makes them huge or infinite.
        exploded = any(bool((w.isinf() | (w.abs() > 1e10)).any()) for w in self.parameters())
        grew = self.first_loss is not None and abs(self.last_loss) > 10 * abs(self.first_loss)
        if exploded or grew:
            before = (f"growing from {self.first_loss:.4g} to {self.last_loss:.4g}" if grew
                      else f"a loss of {self.last_loss:.4g} and an update that blew the weights up")
            return f"{where}, after {before}: the updates diverged; try a smaller optimizer.lr (now {lr})"
        return (f"{where}, after a loss of {self.last_loss:.4g} that was not growing: the model's or the data's own "
                "computation produced it (a learning rate too large makes the loss grow first)")

    def results(self) -> dict[str, float]:
        """Learned values worth reporting beside the metrics (e.g. a fitted weight)."""
        return {}

    def is_logging_step(self) -> bool:
        """Whether this step's logged values reach the logger: every ``log_every_n_steps``, and an epoch's last."""
        trainer, plan = self.trainer, self.step_plan
        every = plan.log_every_n_steps if plan is not None else trainer.log_every_n_steps  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
        last = trainer.is_last_batch and (plan is None or self.last_part)
        return every > 0 and ((self.global_step + 1) % every == 0 or last)  # 0: never, as Lightning

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Random state too, so a resumed run draws the same dropout and shuffles as an unbroken one.
        checkpoint["rng_states"] = rng_states()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if "rng_states" in checkpoint:
            set_rng_states(checkpoint["rng_states"])

    def log_loss(self, stage: str, loss: torch.Tensor, batch_size: int | None = None) -> None:
        """Log ``<stage>/loss``: per step in training, per epoch otherwise.

        Training losses are logged only on the steps the logger writes (Lightning drops the
        others) and on an epoch's last step: ``self.log`` costs a good part of a small step.
        Under a step plan Lightning writes once a batch, so the plan writes each step's loss at its
        own step instead (:func:`glossary_exp.steps.take_steps`).
        """
        if stage == "train" and not self.is_logging_step():
            return
        if stage == "train" and self.step_plan is not None:
            self.plan_points.append((f"{stage}/loss", self.global_step, loss.detach()))
            return
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=stage != "train",
                 prog_bar=True, batch_size=batch_size, sync_dist=stage != "train")


def rng_states() -> dict[str, Any]:
    """The state of every random generator a training step may draw from."""
    # Only tensors and plain Python values: Lightning loads checkpoints with weights_only=True.
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    assert isinstance(keys, np.ndarray)  # legacy=True: the (kind, keys, pos, has_gauss, cached) tuple
    states: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate(),
                              "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached)}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what :func:`rng_states` captured."""
    torch.set_rng_state(states["torch"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
