"""``python -m glossary_exp list [group]`` and ``--help``: what can be chosen.

The groups' options come from the config files (ours and those installed plugins contribute), so
``--help`` and ``list`` of a machine without third-party plugins never import torch. Hydra's own
``--help`` asks for the options of every group, Hydra's included, rebuilding its config repository
each time (over 2 s once launcher plugins are installed); this asks one repository for the groups
users choose from. With third-party plugins installed, ``list`` imports them to say which load
(that imports torch): a broken one is listed with its error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.resources import files

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.object_type import ObjectType
from omegaconf import OmegaConf

from glossary_exp.errors import nearest
from glossary_exp.registry import config_entry_points, installed_plugins
from glossary_exp.trainer_arguments import TRAINER_ARGUMENTS, settable

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
TRAINER = "trainer"  # not a config group: Lightning's Trainer arguments, listed on request
USAGE = """\
glossary_exp: the PyTorch glossary's examples as Lightning + Hydra experiments.

Usage:
  python -m glossary_exp experiment=<name> [group=option] [key=value ...]
  python -m glossary_exp -m experiment=<name> optimizer.lr=0.1,0.01     (a sweep)
  python -m glossary_exp -m ... --dry-run                              (the jobs it would launch; writes nothing)
  python -m glossary_exp list [experiments|models|datasets|...]        (what exists)
  python -m glossary_exp list trainer                                  (trainer.<name>=<value>: Lightning's)
  python -m glossary_exp summary <sweep dir> [--by key]                (a sweep's table, rebuilt)
  python -m glossary_exp experiment=<name> task=test ckpt_path=<run>/checkpoints/best.ckpt
  python -m glossary_exp resume=<run id or run dir>                    (continue an interrupted run)
  python -m glossary_exp runs [dir] [--experiment E] [--where 'val/acc>=0.9']   (every run, newest first)
  python -m glossary_exp diff <run> <run>                              (what differs between two runs)
  python -m glossary_exp reproduce <run>                               (run it again; are the metrics identical?)
  python -m glossary_exp --cfg job [overrides]                         (the composed config)
  python -m glossary_exp --hydra-help                                  (Hydra's own options)
"""
FOOTER = """\
Runs are written to paths.output_dir (default ./outputs); view them with
  tensorboard --logdir outputs
Set HYDRA_FULL_ERROR=1 to see a full traceback for an error."""
LIST_USAGE = f"""\
usage: python -m glossary_exp list [{'|'.join([*GROUPS, 'plugins', TRAINER])} ...]

Prints the options of each config group (or of the groups named), then the installed plugins:
those that failed to load are listed under "broken plugins" with their error. `list trainer`:
the arguments of Lightning's Trainer a trainer.<name>=<value> setting can give, with Lightning's defaults
(config.yaml and presets set some: --cfg job shows a run's)."""
PACKAGE_DATA_HINT = ('add to its pyproject.toml: [tool.setuptools.package-data] {package} = ["conf/**/*.yaml"] '
                     "(a regular install leaves out files that are not Python)")


def group_options() -> dict[str, list[str]]:
    """Options of every listed config group, by heading."""
    repository = GlobalHydra.instance().config_loader().repository  # type: ignore[attr-defined]
    return {heading: sorted(repository.get_group_options(group, ObjectType.CONFIG))
            for heading, group in GROUPS.items()}


def plugin_report() -> tuple[list[str], list[str], list[str]]:
    """(installed plugins, broken plugins, warnings about plugins' config packages)."""
    installed = installed_plugins()
    broken: list[str] = []
    if installed:  # only then does listing import anything of torch's
        from glossary_exp.registry import broken_plugins

        broken = [str(plugin) for plugin in broken_plugins()]
    warnings = []
    for ep in config_entry_points():
        try:
            has_yaml = any(_yaml_files(files(ep.value)))
        except (ImportError, TypeError) as err:
            broken.append(f"{ep.name} = {ep.value} (configs): {type(err).__name__}: {err}")
            continue
        if not has_yaml:
            package = ep.value.split(".")[0]
            warnings.append(f"warning: plugin {ep.name}'s config package {ep.value} holds no YAML files; "
                            + PACKAGE_DATA_HINT.format(package=package))
    return installed, broken, warnings


def _from_broken_plugins(options: dict[str, list[str]]) -> dict[str, set[str]]:
    """By heading, the options whose YAML a plugin that failed to load ships: not available, so not listed."""
    from glossary_exp.registry import KINDS, broken_plugins, names, provides

    broken = broken_plugins()
    kept = {kind: set(names(kind)) for kind in KINDS}  # a name a healthy plugin registered stays
    return {heading: {o for o in found if o not in kept.get(GROUPS[heading], ())
                      and any(provides(p, GROUPS[heading], o) for p in broken)}
            for heading, found in options.items()}


def _yaml_files(directory) -> list[object]:  # a Traversable
    found = []
    for entry in directory.iterdir():
        if entry.is_dir():
            found += _yaml_files(entry)
        elif entry.name.endswith(".yaml"):
            found.append(entry)
    return found


def list_main(argv: list[str]) -> int:
    """Print the options of each group (or of the groups named in ``argv``)."""
    if any(arg in ("-h", "--help") for arg in argv):
        return _print(lambda: print(LIST_USAGE))
    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        options = group_options()
    wanted = argv or [*options, "plugins"]
    listable = [*options, "plugins", TRAINER]
    unknown = [name for name in wanted if name not in listable]
    if unknown:
        print(f"error: cannot list {', '.join(unknown)}{nearest(unknown[0], listable)}; choose from: "
              f"{', '.join(listable)}", file=sys.stderr)
        return 2

    withdrawn = _from_broken_plugins(options) if installed_plugins() else {}

    def show() -> None:
        for heading in wanted:
            if heading == TRAINER:
                print(f"{TRAINER}: {', '.join(f'{n}={_as_yaml(TRAINER_ARGUMENTS[n])}' for n in settable())}")
            elif heading != "plugins":
                shown = [o for o in options[heading] if o not in withdrawn.get(heading, ())]
                print(f"{heading}: {', '.join(shown) or '(none)'}")
        if "plugins" in wanted:
            installed, broken, warnings = plugin_report()
            print(f"plugins: {', '.join(installed) or '(none)'}")
            if broken:
                print(f"broken plugins: {'; '.join(broken)}")
            for warning in warnings:
                print(warning, file=sys.stderr)

    return _print(show)


def help_main() -> int:
    """Usage, the config groups and their options, and the default config."""
    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        options = group_options()
        config = compose("config")

    def show() -> None:
        print(USAGE)
        print("== Configuration groups ==  (group=option)")
        for heading, group in GROUPS.items():
            print(f"  {group}: {', '.join(options[heading]) or '(none)'}")
        print("\n== Default config ==  (override any key: key=value)\n")
        print(OmegaConf.to_yaml(config).rstrip())
        print("\n" + FOOTER)

    return _print(show)


def _as_yaml(value: object) -> str:
    """A default as it is typed on the command line: null, true, 0.0."""
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _print(show: Callable[[], None]) -> int:
    show()  # a closed pipe (``| head``) is the CLI's to end quietly
    return 0
