"""Command line: ``python -m glossary_exp [overrides]`` (a Hydra app), ``... list`` and ``... summary <sweep_dir>``."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

import glossary_exp.conf  # noqa: F401 - the schema and resolvers, also in launcher workers that unpickle hydra_main
from glossary_exp import signals
from glossary_exp.diskfull import DiskFull, out_of_space
from glossary_exp.diskfull import explain as disk_full
from glossary_exp.errors import TRACEBACK_ENV, UsageError, full_traceback, printable
from glossary_exp.passwords import check_overrides
from glossary_exp.redact import redact
from glossary_exp.rundir import discard_new_run, named_here, renew_stamp
from glossary_exp.spellings import check_spellings
from glossary_exp.sweep import dry_run


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
    if args[:1] == ["runs"]:
        from glossary_exp.runs.command import main as runs_main

        return runs_main(args[1:])
    if args[:1] == ["diff"]:
        from glossary_exp.runs.diff import main as diff_main

        return diff_main(args[1:])
    if args[:1] == ["reproduce"]:
        from glossary_exp.runs.reproduce import main as reproduce_main

        return reproduce_main(args[1:], _main)
    if args[:1] == ["summary"]:
        from glossary_exp.sweep.summary import main as summary_main

        return summary_main(args[1:])
    try:
        check_spellings(args)  # before Hydra, whose own answer would be its usage or a paragraph about struct mode
        check_overrides(args)  # before Hydra writes them all into the run's files
    except UsageError as err:
        print(f"error: {printable(str(err))}", file=sys.stderr)
        return 2
    if dry_run.FLAG in args:
        if _modes(args) != ["--multirun"]:
            print(f"error: {dry_run.FLAG} shows what a multirun would launch; give it with -m (--multirun)",
                  file=sys.stderr)
            return 2
        args = [a for a in args if a != dry_run.FLAG]
        os.environ[dry_run.DRY_RUN_ENV] = "1"
        try:
            return _hydra(args)
        finally:
            os.environ.pop(dry_run.DRY_RUN_ENV, None)
    return _hydra(args)


def _hydra(args: list[str]) -> int:
    """The Hydra app on ``args``: our errors as one line, Ctrl-C as 128 + the signal."""
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
        except DiskFull as err:  # a sweep's job met a full disk: its line is in the job's log, and here
            print(f"error: {err}; the sweep stopped launching jobs", file=sys.stderr)
            return 1
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
        except BrokenPipeError:
            raise
        except Exception as err:
            from glossary_exp.composition import explain

            full = out_of_space(err)
            if full is not None and not full_traceback():  # before any run could handle it: Hydra's own files
                named = named_here()
                print(f"error: {disk_full(full, named[-1] if named else Path.cwd())}; once space is free, run the "
                      "command again", file=sys.stderr)
                for directory in named:
                    discard_new_run(directory)  # half-written .hydra files, where this command created the directory
                return 1
            message = None if full_traceback() else explain(err)
            if message is None:
                raise
            print(f"error: {printable(redact(message))}", file=sys.stderr)
            return 2
    return 0
