"""What a run shows the user: the config tree at the start, final metrics at the end, hparams."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree

from glossary_exp.atomic import write_text_atomically
from glossary_exp.rundir import run_id
from glossary_exp.trainer_arguments import DEVICE_ARGUMENTS, TRAINER_ARGUMENTS

# Groups shown first in the tree, in this order; the rest follow.
TREE_ORDER = ("name", "task", "seed", "model", "data", "optimizer", "scheduler", "trainer")
# What the HParams dashboard shows: the choices that differ between runs (and, as "accelerator", where it ran).
HPARAM_GROUPS = ("model", "data", "optimizer", "scheduler")


def print_config_tree(cfg: DictConfig) -> None:
    """The composed config as a tree, one branch per group."""
    tree = Tree("config", guide_style="dim")
    keys = [k for k in TREE_ORDER if k in cfg] + [str(k) for k in cfg if k not in TREE_ORDER]
    for key in keys:
        value = cfg[key]
        text = OmegaConf.to_yaml(value, resolve=True) if isinstance(value, DictConfig) else str(value)
        tree.add(f"[bold]{key}[/]").add(Syntax(text.rstrip(), "yaml", background_color="default"))
    Console(soft_wrap=True).print(tree)


def print_final(metrics: dict[str, Any], run_dir: Path) -> None:
    """Final metrics, one per line, then where the run's files are."""
    print("Final metrics:")
    for name, value in sorted(metrics.items()):
        print(f"  {name}: {value:.6g}" if isinstance(value, float) else f"  {name}: {value}")
    print(f"Run directory: {run_dir}")


def print_resume_hint(run_dir: Path, output_dir: str) -> None:
    """How to continue an interrupted run (only where ``resume=`` can), as a command that works from any directory."""
    where = shlex.quote(f"paths.output_dir={Path(output_dir).resolve()}")
    print(f"Continue it with: python -m glossary_exp resume={shlex.quote(run_id(run_dir.resolve()))} {where}",
          flush=True)


class HParamsAtTrainStart(pl.Callback):
    """Logs the hyperparameters when training starts, so a run that failed before it leaves no empty HParams row."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:  # other processes have no logger
            log_hparams(trainer.logger, self.params)


class ProvenanceText(pl.Callback):
    """The run's provenance as a text panel in TensorBoard, once, as its first loop starts (after any refusal)."""

    def __init__(self, text: str) -> None:
        self.text: str | None = text

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._log(trainer)

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._log(trainer)

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._log(trainer)

    def _log(self, trainer: pl.Trainer) -> None:
        from lightning.pytorch.loggers import TensorBoardLogger

        if self.text is not None and trainer.is_global_zero and isinstance(trainer.logger, TensorBoardLogger):
            trainer.logger.experiment.add_text("provenance", self.text, global_step=0)
        self.text = None


def log_hparams(logger: Any, params: dict[str, Any]) -> None:
    """The run's hyperparameters for TensorBoard's HParams dashboard: a session start, no experiment of its own.

    Without an experiment summary in any run, TensorBoard builds the dashboard's columns from all
    runs in view: every hyperparameter any of them has, those whose values differ between the runs
    first (what a sweep varied), then the rest, and every scalar as a metric. A per-run experiment
    summary would fix one run's columns, in alphabetical order, for all the others. No placeholder
    metric value is written (Lightning's ``log_hyperparams(params, metrics)`` would put a fake point
    at step 0 into every chart).
    """
    from lightning.pytorch.loggers import TensorBoardLogger

    if not isinstance(logger, TensorBoardLogger):
        return  # CSV, or Lightning's stand-in that logs nothing (fast_dev_run)
    logger.log_hyperparams(params)  # default_hp_metric=False: no hp_metric
    # Lightning wrote its own (empty) hparams.yaml as fit started.
    write_text_atomically(Path(logger.log_dir) / "hparams.yaml", OmegaConf.to_yaml(params))
    from torch.utils.tensorboard.summary import hparams

    _, session_start, _ = hparams(flatten(params), {})
    logger.experiment.file_writer.add_summary(session_start)


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, bool | int | float | str]:
    """``{"a": {"b": 1}}`` -> ``{"a/b": 1}``; values TensorBoard cannot show become strings."""
    flat: dict[str, bool | int | float | str] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return flat


def hparams_of(cfg: DictConfig) -> dict[str, Any]:
    """Hyperparameters for TensorBoard: the chosen groups, seed and epochs (same keys in every run)."""
    params: dict[str, Any] = {"name": cfg.name, "seed": cfg.seed, "max_epochs": cfg.trainer.max_epochs}
    for group in HPARAM_GROUPS:
        params[group] = OmegaConf.to_container(cfg[group], resolve=True)
    params["data"] = {k: v for k, v in params["data"].items() if k not in ("root", "mirror")}
    # Every key in every run (Lightning's default where the config has none): the dashboard hides no column.
    trainer: dict[str, Any] = OmegaConf.to_container(cfg.trainer, resolve=True)  # type: ignore[assignment]
    params["accelerator"] = {k: trainer.get(k, TRAINER_ARGUMENTS[k]) for k in DEVICE_ARGUMENTS}
    return params
