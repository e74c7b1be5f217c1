"""Command line: ``python -m glossary_exp [overrides]`` (a Hydra app), ``... list`` and ``... summary <sweep_dir>``."""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Any

import hydra
from omegaconf import DictConfig

import glossary_exp.conf  # noqa: F401 - the schema and resolvers, also in launcher workers that unpickle hydra_main
from glossary_exp import signals
from glossary_exp.errors import TRACEBACK_ENV, UsageError, full_traceback
from glossary_exp.rundir import renew_stamp
from glossary_exp.spellings import check_spellings


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def hydra_main(cfg: DictConfig) -> Any:
    """One run (or one job of a multirun): the only place that imports torch."""
    from glossary_exp.run import run

    return run(cfg)


# Hydra's modes, of which a command takes one; Hydra itself answers two with a traceback.
MODES = (("--run", "-r"), ("--multirun", "-m"), ("--cfg", "-c"), ("--info", "-i"), ("--shell-completion", "-sc"))
INFO_TOPICS = ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath")


def _modes(args: list[str]) -> list[str]:
    """The mode flags among ``args`` (``--cfg job``, ``--cfg=job`` and ``-c job`` alike)."""
    return [flag for flag, short in MODES
            if any(a in (flag, short) or a.startswith((f"{flag}=", f"{short}=")) for a in args)]


def _info_first(args: list[str]) -> list[str]:
    """``--info experiment=x`` as ``--info all experiment=x``: Hydra would read the override as the topic."""
    out = list(args)
    for i, arg in enumerate(out):
        if arg in ("--info", "-i") and i + 1 < len(out) and out[i + 1] not in INFO_TOPICS and "=" in out[i + 1]:
            out.insert(i + 1, "all")
            break
    return out


def main() -> None:
    """Console entry point (``glossary-exp`` and ``python -m glossary_exp``)."""
    try:
        code = _main(sys.argv[1:])
        sys.stdout.flush()  # here, so a closed pipe is seen below and not at exit
    except BrokenPipeError:
        # The reader stopped early (``--help | head -1``): end quietly, as a Unix command does on SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 128 + signal.SIGPIPE
    sys.exit(code)


def _main(args: list[str]) -> int:
    if len(modes := _modes(args)) > 1:
        print(f"error: {' and '.join(modes)} exclude each other; give one of: "
              f"{', '.join(flag for flag, _ in MODES)}", file=sys.stderr)
        return 2
    if args[:1] == ["list"]:
        from glossary_exp.listing import list_main

        return list_main(args[1:])
    if args in (["--help"], ["-h"]):
        from glossary_exp.listing import help_main

        return help_main()
    if args[:1] == ["summary"]:
        from glossary_exp.sweep.summary import main as summary_main

        return summary_main(args[1:])
    try:
        check_spellings(args)  # before Hydra, whose own answer would be its usage or a paragraph about struct mode
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    sys.argv[1:] = _info_first(args)
    if {"--info", "--cfg", "--shell-completion"} & set(_modes(args)):
        # Hydra prints these through logging, which reports a closed pipe (| head) once per line.
        logging.raiseExceptions = False
    renew_stamp()  # a command run again in this process names new directories
    # Hydra prints its own errors as tracebacks unless HYDRA_FULL_ERROR is set, in which case it raises
    # them to us; what the user asked for is kept for our own errors, in this process and in jobs' ones.
    os.environ.setdefault(TRACEBACK_ENV, "1" if os.environ.get("HYDRA_FULL_ERROR") == "1" else "0")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    with signals.stop_on_signals():
        try:
            hydra_main()
        except KeyboardInterrupt:
            return signals.exit_status()
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
        except BrokenPipeError:
            raise
        except Exception as err:
            from glossary_exp.composition import explain

            message = None if full_traceback() else explain(err)
            if message is None:
                raise
            print(f"error: {message}", file=sys.stderr)
            return 2
    return 0
