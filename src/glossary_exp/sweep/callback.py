"""Hydra callback (``conf/hydra/callbacks/sweep.yaml``): the summary of every multirun, each job's share.

Hydra calls ``on_multirun_end`` only when the sweeper returns; after a Ctrl-C or a crash the
summary is written at interpreter exit instead, from whatever jobs finished.
"""

from __future__ import annotations

import atexit
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class SweepCallback(Callback):
    """Writes ``summary.{csv,md}`` into the sweep directory and prints the table at the end of a multirun."""

    def __init__(self) -> None:
        self.sweep_dir: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep_dir = Path(config.hydra.sweep.dir)
        atexit.register(self._summarize_at_exit)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        atexit.unregister(self._summarize_at_exit)
        self._summarize(interrupted=False)
        self._exit_if_jobs_failed(config)

    def _exit_if_jobs_failed(self, config: DictConfig) -> None:
        """A grid with failed jobs exits 1 (after every job ran), so scripts notice.

        A search does not: failed and pruned trials are part of searching.
        """
        from glossary_exp.sweep.summary import statuses

        if self.sweep_dir is None or "glossary_optuna" in str(config.hydra.sweeper.get("_target_", "")):
            return
        failed = statuses(self.sweep_dir).count("failed")
        if failed:
            print(f"error: {failed} job(s) of the sweep failed; their errors are in the summary above",
                  file=sys.stderr, flush=True)
            sys.exit(1)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        from glossary_exp.sweep.share import share_machine

        shared = share_machine(config.hydra)
        if shared:
            log.info("This job's share of the machine: %s", shared)

    def _summarize_at_exit(self) -> None:
        self._summarize(interrupted=True)

    def _summarize(self, interrupted: bool) -> None:
        from glossary_exp.sweep.summary import summarize

        if self.sweep_dir is not None and self.sweep_dir.is_dir():
            print(summarize(self.sweep_dir, note="the sweep was interrupted" if interrupted else None), flush=True)

    def __getstate__(self) -> dict[str, Any]:
        return {"sweep_dir": None}  # workers (joblib, Ray) run jobs; only the sweeping process summarizes
