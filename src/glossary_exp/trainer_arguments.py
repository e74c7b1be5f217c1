"""Lightning's Trainer arguments by name, known without importing Lightning: ``trainer.<name>=<value>``.

Any argument of ``lightning.pytorch.Trainer`` is a ``trainer.*`` setting, as LightningCLI's
``--trainer.<name>``; the schema leaves the ``trainer`` node open, so no ``+`` is needed. The names
are checked here, before torch is imported (a typo is answered in a second, with the nearest name);
types are checked later against the real signature (:func:`glossary_exp.validate.check_trainer`).
:data:`TRAINER_ARGUMENTS` is Lightning 2.6's signature, names and defaults; test_trainer_arguments.py
compares it with the installed Lightning's, so an upgrade that changes it fails there first.
Imports nothing of torch's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glossary_exp.errors import ConfigError, nearest

# Name -> default, in the signature's order (lightning.pytorch.Trainer.__init__, Lightning 2.6).
TRAINER_ARGUMENTS: dict[str, Any] = {
    "accelerator": "auto", "strategy": "auto", "devices": "auto", "num_nodes": 1, "precision": None, "logger": None,
    "callbacks": None, "fast_dev_run": False, "max_epochs": None, "min_epochs": None, "max_steps": -1,
    "min_steps": None, "max_time": None, "limit_train_batches": None, "limit_val_batches": None,
    "limit_test_batches": None, "limit_predict_batches": None, "overfit_batches": 0.0, "val_check_interval": None,
    "check_val_every_n_epoch": 1, "num_sanity_val_steps": None, "log_every_n_steps": None,
    "enable_checkpointing": None, "enable_progress_bar": None, "enable_model_summary": None,
    "accumulate_grad_batches": 1, "gradient_clip_val": None, "gradient_clip_algorithm": None, "deterministic": None,
    "benchmark": None, "inference_mode": True, "use_distributed_sampler": True, "profiler": None,
    "detect_anomaly": False, "barebones": False, "plugins": None, "sync_batchnorm": False,
    "reload_dataloaders_every_n_epochs": 0, "default_root_dir": None, "enable_autolog_hparams": True,
    "model_registry": None,
}
# Arguments glossary_exp passes itself (a run's files and records depend on them), and the setting to use instead.
OWN_TRAINER_ARGUMENTS: dict[str, str | None] = {
    "logger": "logger=tensorboard|csv", "callbacks": "the callbacks.* settings", "default_root_dir": "paths.output_dir",
    "enable_checkpointing": "callbacks.checkpoint.monitor and callbacks.checkpoint.mode (every fit keeps best.ckpt "
                            "and last.ckpt, which resume= and task=test read)",
    "deterministic": "deterministic", "enable_progress_bar": "callbacks.progress_bar", "enable_model_summary": None,
    "plugins": None,
}
# Where a run's processes go: what the accelerator=<preset> shorthands set, and the HParams dashboard shows.
DEVICE_ARGUMENTS = ("accelerator", "devices", "strategy", "num_nodes", "precision")
# Settings that were ours before they were Lightning's own names under trainer.
MOVED = {f"accelerator.{name}": f"trainer.{name}" for name in ("accelerator", "devices", "strategy")}


def settable() -> list[str]:
    """The Trainer arguments a ``trainer.*`` setting may give."""
    return [name for name in TRAINER_ARGUMENTS if name not in OWN_TRAINER_ARGUMENTS]


def check_trainer_names(trainer: Mapping[str, Any]) -> None:
    """Every ``trainer.*`` key is an argument of Lightning's Trainer that glossary_exp does not set itself."""
    for name in trainer:
        if name in OWN_TRAINER_ARGUMENTS:
            instead = OWN_TRAINER_ARGUMENTS[name]
            raise ConfigError(f"trainer.{name} is set by glossary_exp" + (f"; use {instead}" if instead else ""))
        if name not in TRAINER_ARGUMENTS:
            raise ConfigError(f"trainer.{name} is not a setting of Lightning's Trainer"
                              f"{nearest(str(name), settable(), 'trainer')}; `python -m glossary_exp list trainer` "
                              "shows all of them", key=f"trainer.{name}")
