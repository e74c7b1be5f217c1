"""Spellings users bring from elsewhere, answered with ours in one line before Hydra reads the command.

LightningCLI's ``fit --trainer.max_epochs=3``, lightning-hydra-template's ``trainer=gpu`` and our
own ``accelerator.devices=2`` from before the Trainer's names moved under ``trainer``: Hydra would
answer each with its usage text or a paragraph about struct mode. Imports no torch.
"""

from __future__ import annotations

import shlex

from glossary_exp.errors import ConfigError, nearest
from glossary_exp.trainer_arguments import MOVED, settable

TASKS = ("fit", "validate", "test", "predict")  # LightningCLI's subcommands
# LightningCLI's top-level options, by our setting of the same meaning.
OURS = {"ckpt_path": "ckpt_path", "seed_everything": "seed"}
PRESETS = "accelerator=<auto|cpu|gpu|mps|ddp>"


def check_spellings(args: list[str]) -> None:
    """Raise a ConfigError giving our spelling of a command written in another tool's."""
    ours = lightning_cli(args)
    if ours is not None:
        raise ConfigError(f"that is LightningCLI's spelling; glossary_exp takes Hydra overrides: "
                          f"python -m glossary_exp {shlex.join(ours)}")
    for arg in args:
        key, has_value, value = arg.partition("=")
        if key.lstrip("+~") == "trainer" and has_value and not value.startswith("{"):
            raise ConfigError(f"trainer={value}: trainer.* are Lightning's Trainer arguments (trainer.<name>=<value>); "
                              f"the device presets (lightning-hydra-template's trainer={value}) are {PRESETS}")
    check_moved(args)


def lightning_cli(args: list[str]) -> list[str] | None:
    """``args`` in our spelling if any is LightningCLI's (``fit``, ``--trainer.max_epochs 3``, ``--print_config``)."""
    ours: list[str] = []
    changed = bool(args) and args[0] in TASKS
    if changed and args[0] != "fit":  # fit is the default task
        ours.append(f"task={'test' if args[0] == 'validate' else args[0]}")
    rest = iter(args[1:] if changed else args)
    for arg in rest:
        flag, has_value, value = arg.partition("=")
        if flag in ("--print_config", "--print-config"):
            ours += ["--cfg", "job"]
        elif flag.startswith("--") and ("." in flag or flag[2:] in OURS):
            key = OURS.get(flag[2:], flag[2:])
            ours.append(f"{key}={value if has_value else next(rest, '<value>')}")
        else:
            ours.append(arg)
            continue
        changed = True
    return ours if changed else None


def check_moved(overrides: list[str]) -> None:
    """A pointer for ``accelerator.<key>=`` (the old spelling): the ``accelerator`` group is presets only now."""
    for override in overrides:
        key, has_value, value = override.partition("=")
        key = key.lstrip("+~")
        if not key.startswith("accelerator.") or not has_value:
            continue
        if key in MOVED:
            raise ConfigError(f"{key} is now {MOVED[key]}, Lightning's own name: use {MOVED[key]}={value}")
        leaf = key.split(".", 1)[1]
        raise ConfigError(f"{key} is not a setting{nearest(leaf, settable(), 'trainer')}; {PRESETS} "
                          "chooses a preset, and trainer.accelerator, trainer.devices, trainer.strategy, "
                          "trainer.num_nodes and trainer.precision are Lightning's own settings")
