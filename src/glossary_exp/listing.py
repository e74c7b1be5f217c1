"""``python -m glossary_exp list [group]`` and ``--help``: what can be chosen, from the YAML alone.

Answers from the config files (ours and those installed plugins contribute), so it never
imports torch. Hydra's own ``--help`` asks for the options of every group, Hydra's included,
rebuilding its config repository each time (over 2 s once launcher plugins are installed);
this asks one repository for the groups users choose from.
"""

from __future__ import annotations

import sys

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.object_type import ObjectType
from omegaconf import OmegaConf

from glossary_exp.registry import installed_plugins

GROUPS = {
    "experiments": "experiment",
    "models": "model",
    "datasets": "data",
    "optimizers": "optimizer",
    "schedulers": "scheduler",
    "accelerators": "accelerator",
    "loggers": "logger",
    "callbacks": "callbacks",
    "debug": "debug",
    "hparams_search": "hparams_search",
}
USAGE = """\
glossary_exp: the PyTorch glossary's examples as Lightning + Hydra experiments.

Usage:
  python -m glossary_exp experiment=<name> [group=option] [key=value ...]
  python -m glossary_exp -m experiment=<name> optimizer.lr=0.1,0.01     (a sweep)
  python -m glossary_exp list [experiments|models|datasets|...]        (what exists)
  python -m glossary_exp experiment=<name> task=test ckpt_path=<run>/checkpoints/best.ckpt
  python -m glossary_exp resume=<run id or run dir>                    (continue a run)
  python -m glossary_exp --cfg job [overrides]                         (the composed config)
  python -m glossary_exp --hydra-help                                  (Hydra's own options)
"""
FOOTER = """\
Runs are written to paths.output_dir (default ./outputs); view them with
  tensorboard --logdir outputs
Set HYDRA_FULL_ERROR=1 to see a full traceback for an error."""


def group_options() -> dict[str, list[str]]:
    """Options of every listed config group, by heading."""
    repository = GlobalHydra.instance().config_loader().repository  # type: ignore[attr-defined]
    return {heading: sorted(repository.get_group_options(group, ObjectType.CONFIG))
            for heading, group in GROUPS.items()}


def list_main(argv: list[str]) -> int:
    """Print the options of each group (or of the groups named in ``argv``)."""
    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        options = group_options()
    options["plugins"] = installed_plugins()
    wanted = argv or list(options)
    unknown = [name for name in wanted if name not in options]
    if unknown:
        print(f"error: cannot list {', '.join(unknown)}; choose from: {', '.join(options)}", file=sys.stderr)
        return 2
    for heading in wanted:
        print(f"{heading}: {', '.join(options[heading]) or '(none)'}")
    return 0


def help_main() -> int:
    """Usage, the config groups and their options, and the default config."""
    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        options = group_options()
        config = compose("config")
    print(USAGE)
    print("== Configuration groups ==  (group=option)")
    for heading, group in GROUPS.items():
        print(f"  {group}: {', '.join(options[heading]) or '(none)'}")
    print("\n== Default config ==  (override any key: key=value)\n")
    print(OmegaConf.to_yaml(config).rstrip())
    print("\n" + FOOTER)
    return 0
