"""What a run shows the user: the config tree at the start, final metrics at the end, hparams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree

# Groups shown first in the tree, in this order; the rest follow.
TREE_ORDER = ("name", "task", "seed", "model", "data", "optimizer", "scheduler", "trainer", "accelerator")
# What the HParams dashboard shows: the choices that differ between runs.
HPARAM_GROUPS = ("model", "data", "optimizer", "scheduler", "accelerator")


def print_config_tree(cfg: DictConfig) -> None:
    """The composed config as a tree, one branch per group."""
    tree = Tree("config", guide_style="dim")
    keys = [k for k in TREE_ORDER if k in cfg] + [k for k in cfg if k not in TREE_ORDER]
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


def hparams_of(cfg: DictConfig) -> dict[str, Any]:
    """Hyperparameters for TensorBoard: the chosen groups, seed and epochs (same keys in every run)."""
    params: dict[str, Any] = {"name": cfg.name, "seed": cfg.seed, "max_epochs": cfg.trainer.max_epochs}
    for group in HPARAM_GROUPS:
        params[group] = OmegaConf.to_container(cfg[group], resolve=True)
    params["data"] = {k: v for k, v in params["data"].items() if k not in ("root", "mirror")}
    return params
