"""A grid that resumes: rerun with the same ``hydra.sweep.dir``, it runs only what is not done yet.

Each job is decided before anything is launched, from its directory (the one Hydra would give it):
a completed record with the same overrides and composed config is skipped; an interrupted job, or
one whose process died while it was running (its lock is free), continues from its ``last.ckpt``
with ``resume=`` in its own directory and TensorBoard run; anything else (failed, no checkpoint,
changed config) runs again from scratch in an emptied directory, so no old events mix with the new.
Jobs keep their numbers: Hydra's launchers number a batch from ``initial_job_idx`` on, so the jobs
to run go out in contiguous ranges.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig, OmegaConf, open_dict

from glossary_exp.provenance.record import write_sweep
from glossary_exp.resume import RESUME_SETTINGS, resumable
from glossary_exp.rundir import CONFIG_FILE, held, read_metrics
from glossary_exp.sweep import dry_run
from glossary_exp.sweep.settings import SLURM_TARGET
from glossary_exp.sweep.share import jobs_at_once

log = logging.getLogger(__name__)
SKIP, RESUME, RUN, BUSY = "skip", "resume", "run", "busy"


@dataclass
class Job:
    num: int
    overrides: list[str]
    run_dir: Path
    action: str  # SKIP, RESUME, RUN or BUSY (another live process runs it)
    why: str

    def launched_with(self) -> list[str]:
        return [*self.overrides, f"resume='{self.run_dir}'"] if self.action == RESUME else self.overrides


def run_grid(sweeper: BasicSweeper, arguments: list[str]) -> list[Sequence[JobReturn]]:
    """Expand the grid as Hydra does, decide each job, launch the ones to run in contiguous ranges of numbers."""
    config, context = sweeper.config, sweeper.hydra_context
    assert config is not None and context is not None and sweeper.launcher is not None
    params = [f"{k}={v}" for k, v in (sweeper.params or {}).items()] + list(arguments)
    parsed = OverridesParser.create(config_loader=context.config_loader).parse_overrides(params)
    grid = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    sweep_dir = Path(config.hydra.sweep.dir)
    jobs = [decide(context.config_loader.load_sweep_config(config, list(o)), sweep_dir, n, list(o))
            for n, o in enumerate(grid)]
    if dry_run.requested():
        print(dry_run.grid_plan(jobs, sweep_dir, config.hydra), flush=True)
        return []
    sweep_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(config, sweep_dir / "multirun.yaml")
    write_sweep(sweep_dir, exclude=(Path(config.paths.output_dir), Path(config.paths.data_dir)))
    todo = [job for job in jobs if job.action in (RUN, RESUME)]
    skipped = [job for job in jobs if job.action == SKIP]
    if len(todo) < len(jobs):
        log.info("Sweep %s: %d skipped, %d to run", sweep_dir, len(skipped), len(todo))
    for job in jobs:
        if job.action != RUN or job.why != "new":
            log.info("job %d: %s (%s)", job.num, job.action, job.why)
        if job.action == RUN and job.run_dir.is_dir():
            shutil.rmtree(job.run_dir)  # from scratch: no earlier events, checkpoints or record left to mix in
    stop = bool(config.hydra.sweeper.get("stop_on_failure"))
    returns: list[Sequence[JobReturn]] = []
    batches = ranges(todo, batch_size(config.hydra, sweeper.max_batch_size, stop))
    for i, batch in enumerate(batches):
        returns.append(sweeper.launcher.launch([job.launched_with() for job in batch], initial_job_idx=batch[0].num))
        failures = {run_dir_of(ret).resolve() for ret in returns[-1] if failed(ret)} if stop else set()
        if failures:
            first = next((job.num for job in batch if job.run_dir.resolve() in failures), "?")
            left = sum(len(b) for b in batches[i + 1:]) + len(batch) - len(returns[-1])
            print(f"Stopped at the first failure (hydra.sweeper.stop_on_failure=true): job {first} failed; {left} "
                  f"other job(s) did not run to their end. {continue_command(sweep_dir)}", flush=True)
            break
    return returns


def batch_size(hydra_cfg: DictConfig, most: int | None, stop_on_failure: bool) -> int | None:
    """Jobs per launch. To stop at a failure, as many as the launcher runs at once: a failure is seen after its batch.

    The SLURM launcher takes the whole grid and stops it itself (it cancels the array's other jobs).
    """
    if not stop_on_failure or OmegaConf.select(hydra_cfg, "launcher._target_") == SLURM_TARGET:
        return most
    n_jobs = OmegaConf.select(hydra_cfg, "launcher.n_jobs")
    at_once = jobs_at_once(n_jobs) if isinstance(n_jobs, int) and n_jobs != 0 else 1
    return min(at_once, most) if most and most > 0 else at_once


def run_dir_of(ret: JobReturn) -> Path:
    """The run directory of a launched job (``working_dir`` is the process's, as jobs do not chdir)."""
    if ret.hydra_cfg is not None:
        return Path(ret.hydra_cfg.hydra.runtime.output_dir)
    return Path(ret.working_dir or ".")


def failed(ret: JobReturn) -> bool:
    """Whether a launched job failed: its return says so, or its record does (our jobs record a failure and return)."""
    if ret.status == JobStatus.FAILED:
        return True
    return (read_metrics(run_dir_of(ret)) or {}).get("status") == "failed"


def continue_command(sweep_dir: Path) -> str:
    """The command that continues the sweep in its directory: this one, with ``hydra.sweep.dir``."""
    again = [a for a in sys.argv[1:] if not a.startswith("hydra.sweep.dir=")]
    where = shlex.quote(f"hydra.sweep.dir={sweep_dir.resolve()}")  # works from any directory
    return f"Continue it with: python -m glossary_exp {shlex.join(again)} {where}"


def ranges(jobs: list[Job], most: int | None) -> list[list[Job]]:
    """``jobs`` cut where their numbers skip one, and into pieces of at most ``most``."""
    out: list[list[Job]] = []
    for job in jobs:
        if out and out[-1][-1].num == job.num - 1 and (not most or most < 0 or len(out[-1]) < most):
            out[-1].append(job)
        else:
            out.append([job])
    return out


def decide(job_cfg: DictConfig, sweep_dir: Path, num: int, overrides: list[str]) -> Job:
    """What this rerun does with job ``num``, from what its directory holds."""
    run_dir = job_dir(job_cfg, sweep_dir, num)
    record = read_metrics(run_dir) or {}
    status = record.get("status")

    def job(action: str, why: str) -> Job:
        return Job(num, overrides, run_dir, action, why)

    if not record:
        return job(RUN, "new" if not run_dir.exists() else "no record: started again")
    if record.get("overrides") != overrides:
        return job(RUN, "its directory holds other overrides: started again")
    if status == "running" and held(run_dir):
        return job(BUSY, "another process is running it")
    if not (run_dir / CONFIG_FILE).is_file():  # refused before it started, or killed before it saved its config
        return job(RUN, f"{status}, before it saved its config: started again")
    if not same_config(job_cfg, OmegaConf.load(run_dir / CONFIG_FILE)):
        return job(RUN, f"{status}, but its config differs from the sweep's now: started again")
    if status == "completed":
        return job(SKIP, "completed")
    if status in ("interrupted", "running") and resumable(run_dir, OmegaConf.load(run_dir / CONFIG_FILE)):
        return job(RESUME, f"{'its process died' if status == 'running' else 'interrupted'}: continues from last.ckpt")
    if status == "failed" and record.get("disk_full") and resumable(run_dir, OmegaConf.load(run_dir / CONFIG_FILE)):
        return job(RESUME, "failed on a full disk: continues from last.ckpt")
    return job(RUN, f"{status}: started again")


def job_dir(job_cfg: DictConfig, sweep_dir: Path, num: int) -> Path:
    """The directory Hydra gives job ``num`` of the sweep (``job_cfg``: the job's composed config)."""
    with open_dict(job_cfg):
        job_cfg.hydra.job.num = num
    return sweep_dir / str(job_cfg.hydra.sweep.subdir)


def same_config(composed: DictConfig, saved: Any) -> bool:
    """Whether the job's config now is the one it ran with, apart from where files go and a seed chosen at random."""
    now, then = _comparable(composed), _comparable(saved)
    if now.get("seed") is None:
        then.pop("seed", None)
        now.pop("seed", None)
    return now == then


def _comparable(cfg: Any) -> dict[str, Any]:
    task = OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"])  # Hydra's node resolves only in a job
    name = cfg.name  # resolved beside the hydra node: a job's name can be its experiment choice (rundir.preset_or)
    data: dict[str, Any] = OmegaConf.to_container(task, resolve=True)  # type: ignore[assignment]
    data["name"] = name
    for key in RESUME_SETTINGS:  # settings a resume may change: they do not change what the job computes
        node, _, leaf = key.rpartition(".")
        parent = data.get(node, {}) if node else data
        if isinstance(parent, dict):
            parent.pop(leaf, None)
    return data

