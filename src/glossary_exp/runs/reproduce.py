"""``python -m glossary_exp reproduce RUN``: run a recorded run again from its own record, and say whether it matched.

The run's saved ``config.yaml`` (its composed config with the seed it used) is run in a new
directory named after it (``<stamp>_reproduce_of_<id>``, beside the original under its experiment),
as ``task=test`` runs are named after the run they read. Before it runs, it says what differs from
then (code, versions, device); at the end it compares every final metric with the original's:
"reproduced exactly" (exit 0), or each metric that differs with both values (exit 1). The same as
the override ``reproduce=<run>``, which also takes a list in a multirun.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from glossary_exp.errors import ConfigError, UsageError, printable
from glossary_exp.resume import RESUME_SETTINGS, override_key, saved_config
from glossary_exp.rundir import read_metrics
from glossary_exp.runs.compare import code_changes, environment_changes, metric_table, read_provenance

# What a reproduction may be given besides the run: where files are and how output looks, as for a resume.
REPRODUCE_SETTINGS = ("reproduce", *RESUME_SETTINGS)


def reproduction_config(command: DictConfig, overrides: list[str]) -> tuple[DictConfig, Path]:
    """The recorded run's own config (with the command's :data:`REPRODUCE_SETTINGS`), and its directory."""
    ref = str(command.reproduce)
    if command.resume:
        raise ConfigError(f"reproduce={ref} runs a recorded run again in a new directory; resume= continues one: "
                          "give one of them")
    from glossary_exp.runs.index import resolve_run

    try:
        found = resolve_run(ref, [Path(command.paths.output_dir)])
    except ConfigError as err:
        raise ConfigError(f"reproduce={err}") from None
    run = found.path
    if found.status != "completed":
        raise ConfigError(f"reproduce={found.id}: the run did not complete ({found.status}), so it has no final "
                          "metrics to compare; " + (f"continue it with resume={found.id}"
                                                    if found.status == "interrupted" else "run its command again"))
    changed = [o for o in overrides if override_key(o) not in REPRODUCE_SETTINGS and not o.startswith("hydra.")]
    if changed:
        given = " ".join((read_metrics(run) or {}).get("overrides") or [])
        raise ConfigError(f"reproduce={ref} runs the recorded config as it was, so {' '.join(changed)} cannot apply; "
                          f"for a new run with changes, give its overrides: python -m glossary_exp {given} "
                          f"{' '.join(changed)}")
    saved = saved_config(run, f"reproduce={ref}")
    for key in RESUME_SETTINGS:
        OmegaConf.update(saved, key, OmegaConf.select(command, key), merge=False)
    saved.resume, saved.reproduce = None, str(run)
    return saved, run


def notice(source: Path, now: dict[str, Any]) -> list[str]:
    """What differs between the recorded run's provenance and ``now`` (collected, patches still inline)."""
    then = read_provenance(source)
    if not then:
        return [f"Reproducing {source}: it recorded no provenance, so what changed since cannot be said."]
    patches = {label: state.get("patch") or "" for label, state in now.get("code", {}).items()}
    changes = code_changes(then, now, source, None, patch_b=patches) + environment_changes(then, now)
    if not changes:
        return [f"Reproducing {source}: the same code, versions and device as then."]
    return [f"Reproducing {source}; differs from then:", *(f"  {line}" for line in changes)]


def verdict(source: Path, metrics: dict[str, Any]) -> tuple[list[str], bool]:
    """(lines that compare the final metrics with the original's, whether every one is identical)."""
    original = (read_metrics(source) or {}).get("metrics") or {}
    table, differ = metric_table(original, metrics)
    if not differ:
        return [f"Reproduced exactly: {len(table) - 1} metric(s) identical to {source}'s."], True
    return [f"Not reproduced: {len(differ)} of {len(table) - 1} metric(s) differ from {source}'s "
            "(A: the original, B: now):", *(line for line in table if line.endswith("differs") or line is table[0])], \
        False


def main(argv: list[str], run_hydra: Callable[[list[str]], int]) -> int:
    """``reproduce RUN [--dir DIR] [settings...]``: find the run (ids as ``runs`` shows them), then run it."""
    from glossary_exp.runs.command import DEFAULT_ROOT, OneLineParser
    from glossary_exp.runs.index import resolve_run

    p = OneLineParser(prog="python -m glossary_exp reproduce",
                                description="Run a recorded run again from its own config and seed; "
                                            "exit 0 when every final metric is identical, 1 when any differs.")
    p.add_argument("run", metavar="RUN", help="a run id (as `runs` lists it, sweep jobs too) or a run directory")
    p.add_argument("settings", nargs="*", metavar="SETTING=VALUE", help=f"only {', '.join(RESUME_SETTINGS[1:])}")
    p.add_argument("--dir", type=Path, action="append", help=f"where to look for ids (default {DEFAULT_ROOT}/)")
    args = p.parse_args(argv)
    extra = [s for s in args.settings if "=" not in s]
    if extra:
        p.error(f"one run at a time, then SETTING=VALUE; got {' '.join(extra)} too "
                "(for several runs: python -m glossary_exp -m reproduce=<a>,<b>)")
    output = next((s.split("=", 1)[1] for s in args.settings if s.startswith("paths.output_dir=")), None)
    try:  # ids are looked for where the runs are: --dir, else the output directory given and the default one
        run = resolve_run(args.run, args.dir or [*([Path(output)] if output else []), DEFAULT_ROOT])
    except UsageError as err:
        print(f"error: {printable(str(err))}", file=sys.stderr)
        return 2
    # Quoted for Hydra's override grammar: a path may hold , ' ( ) = or spaces.
    path = str(run.path.resolve()).replace("'", "\\'")
    return run_hydra([f"reproduce='{path}'", *args.settings])
