"""Hydra callback (``conf/hydra/callbacks/sweep.yaml``): the summary of every multirun, each job's share.

Hydra calls ``on_multirun_end`` only when the sweeper returns; after a Ctrl-C or a crash the
summary is written at interpreter exit instead, from whatever jobs finished.
"""

from __future__ import annotations

import atexit
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from glossary_exp.rundir import METRICS_FILE, discard_new_run

log = logging.getLogger(__name__)


class SweepCallback(Callback):
    """Writes ``summary.{csv,md}`` into the sweep directory and prints the table at the end of a multirun."""

    def __init__(self) -> None:
        self.sweep_dir: Path | None = None
        self.jobs_at_start: dict[str, int] = {}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep_dir = Path(config.hydra.sweep.dir)
        self.jobs_at_start = self._jobs()
        atexit.register(self._summarize_at_exit)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        atexit.unregister(self._summarize_at_exit)
        rows = self._summarize(interrupted=False)
        self._exit_if_jobs_failed(config, rows)

    @staticmethod
    def _exit_if_jobs_failed(config: DictConfig, rows: list[dict[str, Any]]) -> None:
        """A grid with failed jobs exits 1 (after every job ran), so scripts notice.

        A search exits 1 only when no trial completed: failed and pruned trials are part of searching.
        """
        from glossary_exp.sweep.study import search_settings

        failed = sum(row["status"] == "failed" for row in rows)
        if search_settings(config.hydra) is not None:
            if rows and not any(row["status"] == "completed" for row in rows):
                print(f"error: no trial of the search completed ({len(rows)} ran); their errors are in the summary "
                      "above", file=sys.stderr, flush=True)
                sys.exit(1)
        elif failed:
            print(f"error: {failed} job(s) of the sweep failed; their errors are in the summary above",
                  file=sys.stderr, flush=True)
            sys.exit(1)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        from glossary_exp.sweep.share import share_machine

        shared = share_machine(config.hydra)
        if shared:
            log.info("This job's share of the machine: %s", shared)

    def _summarize_at_exit(self) -> None:
        from glossary_exp.sweep.summary import job_dirs

        if self.sweep_dir is None or not self.sweep_dir.is_dir():
            return
        if self._jobs() == self.jobs_at_start:  # refused before any job started: leave nothing behind
            if not job_dirs(self.sweep_dir) and {p.name for p in self.sweep_dir.iterdir()} <= {"multirun.yaml"}:
                discard_new_run(self.sweep_dir)  # only if this command created it
            return
        self._summarize(interrupted=True)
        if self.sweep_dir is not None:
            again = [a for a in sys.argv[1:] if not a.startswith("hydra.sweep.dir=")]
            where = shlex.quote(f"hydra.sweep.dir={self.sweep_dir.resolve()}")  # from any directory
            print(f"Continue it with: python -m glossary_exp {shlex.join(again)} {where}", flush=True)

    def _jobs(self) -> dict[str, int]:
        """Each job directory with when its record last changed: what this command's jobs have done, seen at exit."""
        from glossary_exp.sweep.summary import job_dirs

        if self.sweep_dir is None or not self.sweep_dir.is_dir():
            return {}
        return {job.name: (job / METRICS_FILE).stat().st_mtime_ns if (job / METRICS_FILE).is_file() else 0
                for job in job_dirs(self.sweep_dir)}

    def _summarize(self, interrupted: bool) -> list[dict[str, Any]]:
        """Print and write the summary; the jobs' rows it was made from."""
        from glossary_exp.sweep.summary import job_rows, summarize

        if self.sweep_dir is None or not self.sweep_dir.is_dir():
            return []
        rows = job_rows(self.sweep_dir)
        note = "the sweep was interrupted" if interrupted else None
        print(summarize(self.sweep_dir, note=note, rows=rows), flush=True)
        return rows

    def __getstate__(self) -> dict[str, Any]:
        return {"sweep_dir": None}  # workers (joblib, Ray) run jobs; only the sweeping process summarizes
