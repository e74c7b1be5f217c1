"""The private names of our dependencies that the code relies on are still there; an upgrade that drops one fails
here, naming it, rather than breaking runs. pyproject.toml admits only the release series the suite ran against."""

from __future__ import annotations

import importlib
from importlib.metadata import version

import pytest
import tomllib
from packaging.requirements import Requirement

from conftest import REPO

# (module, attribute path, who uses it and why)
PRIVATE_NAMES = [
    ("lightning.pytorch.core.optimizer", "LightningOptimizer._on_before_step", "steps.py: counts a direct step"),
    ("lightning.pytorch.core.optimizer", "LightningOptimizer._on_after_step", "steps.py: counts a direct step"),
    ("lightning.pytorch.strategies.launchers.multiprocessing", "_MultiProcessingLauncher", "trainer.py: ddp_spawn"),
    ("lightning.pytorch.strategies.launchers.subprocess_script", "_SubprocessScriptLauncher", "trainer.py: ddp"),
    ("hydra._internal.config_loader_impl", "ConfigLoaderImpl.repository", "listing.py: group options"),
    ("optuna.trial", "FrozenTrial._trial_id", "sweep/trials.py: a live handle on a stored trial"),
    ("hydra._internal.core_plugins.basic_sweeper", "BasicSweeper.split_arguments", "sweep/grid.py: Hydra's grid"),
    ("hydra._internal.core_plugins.basic_launcher", "BasicLauncher", "sweep/search.py: in-process jobs, one at a time"),
]


@pytest.mark.parametrize("module,path,user", PRIVATE_NAMES, ids=[p for _, p, _ in PRIVATE_NAMES])
def test_private_names_we_rely_on_exist(module: str, path: str, user: str) -> None:
    node = importlib.import_module(module)
    for part in path.split("."):
        assert hasattr(node, part) or part in getattr(node, "__annotations__", {}) or \
            part in getattr(node, "__slots__", ()) or _set_in_init(node, part), \
            f"{module}.{path} is gone (used by {user}); the upgrade needs a change there"
        node = getattr(node, part, None)


def _set_in_init(cls: object, name: str) -> bool:
    """Instance attributes a class sets in ``__init__`` (not visible on the class)."""
    import inspect

    init = getattr(cls, "__init__", None)
    try:
        return f"self.{name}" in inspect.getsource(init)  # type: ignore[arg-type]
    except (TypeError, OSError):
        return False


def test_instance_attributes_we_rely_on_exist() -> None:
    """Set by Lightning at run time, so checked on a real Trainer and module."""
    import lightning.pytorch as pl

    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    assert hasattr(trainer.fit_loop.epoch_loop, "_batches_that_stepped"), \
        "_TrainingEpochLoop._batches_that_stepped is gone (steps.py advances it, build.py reads it from checkpoints)"
    assert "_current_fx_name" in vars(pl.LightningModule()) or hasattr(pl.LightningModule(), "_current_fx_name"), \
        "LightningModule._current_fx_name is gone (module.py's fast __setattr__ names it)"


def test_installed_versions_are_inside_the_declared_ranges() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        requirement = Requirement(line)
        assert requirement.specifier.contains(version(requirement.name), prereleases=True), line
        assert "<" in str(requirement.specifier), f"{line}: no upper bound the suite has run up to"
