"""Command line: ``python -m glossary_exp [overrides]`` (a Hydra app), ``... list`` and ``... summary <sweep_dir>``."""

from __future__ import annotations

import sys
from typing import Any

import hydra
from omegaconf import DictConfig

from glossary_exp.rundir import register_resolvers

# Before Hydra composes: hydra.run.dir uses these resolvers.
register_resolvers()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def hydra_main(cfg: DictConfig) -> Any:
    """One run (or one job of a multirun): the only place that imports torch."""
    from glossary_exp.run import run

    return run(cfg)


# Hydra's modes, of which a command takes one; Hydra itself answers two with a traceback.
MODES = (("--run", "-r"), ("--multirun", "-m"), ("--cfg", "-c"), ("--info", "-i"), ("--shell-completion", "-sc"))


def _modes(args: list[str]) -> list[str]:
    """The mode flags among ``args`` (``--cfg job``, ``--cfg=job`` and ``-c job`` alike)."""
    return [flag for flag, short in MODES
            if any(a in (flag, short) or a.startswith((f"{flag}=", f"{short}=")) for a in args)]


def main() -> None:
    """Console entry point (``glossary-exp`` and ``python -m glossary_exp``)."""
    if len(modes := _modes(sys.argv[1:])) > 1:
        print(f"error: {' and '.join(modes)} exclude each other; give one of: "
              f"{', '.join(flag for flag, _ in MODES)}", file=sys.stderr)
        sys.exit(2)
    if len(sys.argv) > 1 and sys.argv[1] == "list":
        from glossary_exp.listing import list_main

        sys.exit(list_main(sys.argv[2:]))
    if len(sys.argv) == 2 and sys.argv[1] in ("--help", "-h"):
        from glossary_exp.listing import help_main

        sys.exit(help_main())
    if len(sys.argv) > 1 and sys.argv[1] == "summary":
        from glossary_exp.sweep.summary import main as summary_main

        sys.exit(summary_main(sys.argv[2:]))
    hydra_main()
