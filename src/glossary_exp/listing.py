"""``python -m glossary_exp list [group]``: what can be chosen, read from the config groups.

Answers from YAML files alone (ours and those installed plugins contribute), so it never
imports torch.
"""

from __future__ import annotations

import sys

from hydra import initialize_config_module
from hydra.core.global_hydra import GlobalHydra

from glossary_exp.registry import installed_plugins

GROUPS = {
    "experiments": "experiment",
    "models": "model",
    "datasets": "data",
    "optimizers": "optimizer",
    "schedulers": "scheduler",
    "accelerators": "accelerator",
    "loggers": "logger",
    "debug": "debug",
    "hparams_search": "hparams_search",
}


def group_options() -> dict[str, list[str]]:
    """Options of every listed config group, by heading."""
    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        return {heading: sorted(loader.get_group_options(group)) for heading, group in GROUPS.items()}


def main(argv: list[str]) -> int:
    """Print the options of each group (or of the groups named in ``argv``)."""
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
