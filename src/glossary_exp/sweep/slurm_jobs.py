"""The SLURM launcher's work (``hydra_plugins/glossary_slurm``): submit packs of sweep jobs, and run them in SLURM.

Submitting: the request is checked (:func:`glossary_exp.sweep.slurm.check_request`), the jobs go
out as one array of ``ceil(n / jobs_per_task)`` SLURM jobs, and each sweep job's return comes back
in order. A SLURM job that ended without a result (cancelled, out of memory, its node lost) fails
the jobs of its pack that had not completed; their records say so, and the sweep goes on.

In a SLURM job: the pack's jobs run one after another in this one process, as Hydra runs a job.
A job that SLURM requeued (``SLURM_RESTART_COUNT``) decides again, as a resumed grid does
(:func:`glossary_exp.sweep.grid.decide`), from what its directory holds: a completed job is not run
again, an interrupted one continues from its ``last.ckpt`` (``resume=``), anything else starts over
in an emptied directory.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides, run_job, setup_globals
from omegaconf import DictConfig, OmegaConf, open_dict

from glossary_exp import signals
from glossary_exp.errors import ConfigError
from glossary_exp.resume import override_key
from glossary_exp.rundir import METRICS_FILE, read_metrics, write_json
from glossary_exp.sweep.follow import record_submission
from glossary_exp.sweep.grid import RESUME, RUN, SKIP, decide, failed, job_dir
from glossary_exp.sweep.settings import SEARCH_TARGET
from glossary_exp.sweep.slurm import (
    cancel_unfinished,
    check_request,
    collected,
    install_squeue_watcher,
    sbatch_parameters,
    track,
)
from glossary_exp.validate import ABOVE_0, AT_LEAST_0, AT_LEAST_1

log = logging.getLogger(__name__)
# The launcher's own settings that no cluster could run, checked before the cluster is asked.
LIMITS = {"cpus_per_task": AT_LEAST_1, "tasks_per_node": AT_LEAST_1, "nodes": AT_LEAST_1, "timeout_min": AT_LEAST_1,
          "jobs_per_task": AT_LEAST_1, "array_parallelism": AT_LEAST_1, "gpus_per_node": AT_LEAST_0,
          "max_num_timeout": AT_LEAST_0, "signal_delay_s": AT_LEAST_0, "mem_gb": ABOVE_0}
POLL_S = 1.0  # between looks for finished SLURM jobs when the first failure stops the sweep (a file check each)


def check_settings(settings: dict[str, Any]) -> None:
    """Impossible values of the launcher's own settings (``mem_gb: null`` is SLURM's default)."""
    for key, limit in LIMITS.items():
        if settings.get(key) is not None:
            limit.check(f"hydra.launcher.{key}", settings[key])
    # submitit runs the pack in every task: each would run the same jobs in the same run directories
    # (seen on the test cluster: task 1 found the run locked by task 0 and recorded a failure there).
    for key in ("nodes", "tasks_per_node"):
        if int(settings.get(key) or 1) > 1:
            raise ConfigError(f"hydra.launcher.{key}={settings[key]}: every SLURM task would run the same jobs in "
                              "the same run directories; this launcher runs one task per SLURM job (nodes=1, "
                              "tasks_per_node=1): data parallel over several tasks or nodes is not supported yet")


def submit_and_wait(launcher: Any, jobs: list[tuple]) -> list[JobReturn]:
    """Submit ``jobs`` (the launcher's job parameters) in packs; their returns, in order."""
    import submitit

    settings = launcher.settings
    check_settings(settings)
    check_request(settings)
    install_squeue_watcher()
    for overrides, _, num, *_ in jobs:
        log.info("\t#%d : %s", num, " ".join(filter_overrides(overrides)))
    executor = submitit.SlurmExecutor(folder=settings["submitit_folder"], max_num_timeout=settings["max_num_timeout"])
    executor.update_parameters(**sbatch_parameters(settings))
    Path(str(launcher.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
    per_task = settings["jobs_per_task"]
    packs = [jobs[i:i + per_task] for i in range(0, len(jobs), per_task)]
    tasks = executor.map_array(launcher, packs)
    array = tasks[0].job_id.split("_")[0]
    if not settings.get("wait", True):  # nothing to cancel at exit: the jobs go on without this process
        record_submission(Path(str(launcher.config.hydra.sweep.dir)), array, [num for _, _, num, *_ in jobs])
    else:
        track(tasks)
    log.info("%d job(s) submitted as SLURM job array %s: %d SLURM job(s), up to %d job(s) each", len(jobs),
             array, math.ceil(len(jobs) / per_task), per_task)
    if not settings.get("wait", True):
        return []
    if stops_on_failure(launcher):
        return _collect_until_a_failure(launcher, tasks, packs)
    returns: list[JobReturn] = []
    for task, pack in zip(tasks, packs, strict=True):
        returns.extend(_collect(launcher, task, pack))
        collected(task)
    return returns


def check_not_waiting(hydra_cfg: DictConfig) -> None:
    """``wait=false`` suits a grid: a search needs each trial's result, and nothing would see a failure to stop at."""
    if OmegaConf.select(hydra_cfg, "sweeper._target_") == SEARCH_TARGET:
        raise ConfigError("hydra.launcher.wait=false returns right after submitting, but a search needs each "
                          "trial's result to choose the next; use it with a grid, or wait (true)")
    if OmegaConf.select(hydra_cfg, "sweeper.stop_on_failure", default=False):
        raise ConfigError("hydra.launcher.wait=false returns right after submitting, so nothing would see a failure "
                          "to stop at; drop hydra.sweeper.stop_on_failure=true, or wait (true)")


def stops_on_failure(launcher: Any) -> bool:
    """``hydra.sweeper.stop_on_failure``: the grid's setting, which the launcher honours for the array it submitted."""
    return bool(OmegaConf.select(launcher.config, "hydra.sweeper.stop_on_failure", default=False))


def _collect_until_a_failure(launcher: Any, tasks: list[Any], packs: list[list[tuple]]) -> list[JobReturn]:
    """Returns as the SLURM jobs end, in any order; the first failed job cancels the others (they record it)."""
    results: dict[int, list[JobReturn]] = {}
    while len(results) < len(tasks):
        for i, (task, pack) in enumerate(zip(tasks, packs, strict=True)):
            if i in results or not task.done():
                continue
            results[i] = _collect(launcher, task, pack)
            collected(task)
            if any(failed(ret) for ret in results[i]):
                cancel_unfinished()  # scancel, and wait until they have left the queue
                return [ret for j in sorted(results) for ret in results[j]]
        time.sleep(POLL_S)
    return [ret for j in sorted(results) for ret in results[j]]


def _collect(launcher: Any, task: Any, pack: list[tuple]) -> list[JobReturn]:
    """The pack's returns; where its SLURM job ended without them, each job as its directory left it."""
    from submitit.core.utils import FailedJobError, UncompletedJobError

    try:
        return task.results()[0]
    except (UncompletedJobError, FailedJobError) as err:
        state = task.state
        where = task.paths.stderr
        reason = f"SLURM job {task.job_id} ended {state} before this job finished (its log: {where})"
        log.error("%s: %s", reason, str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__)
        return [_as_left(launcher, overrides, num, reason) for overrides, _, num, *_ in pack]


def _as_left(launcher: Any, overrides: list[str], num: int, reason: str) -> JobReturn:
    """A job whose SLURM job died: completed if it had, else failed, its record saying why (unless interrupted)."""
    run_dir = _run_dir(launcher, overrides, num)
    record = read_metrics(run_dir) or {}
    if record.get("status") == "completed":
        return JobReturn(overrides=overrides, working_dir=str(run_dir), status=JobStatus.COMPLETED,
                         _return_value=record.get("metrics", {}))
    if record.get("status") != "interrupted":  # a cancelled job's record already says it was interrupted
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / METRICS_FILE, {**record, "status": "failed", "overrides": overrides, "error": reason})
    return JobReturn(overrides=overrides, working_dir=str(run_dir), status=JobStatus.FAILED,
                     _return_value=RuntimeError(reason))


def _run_dir(launcher: Any, overrides: list[str], num: int) -> Path:
    cfg = launcher.hydra_context.config_loader.load_sweep_config(launcher.config, list(overrides))
    return job_dir(cfg, Path(str(launcher.config.hydra.sweep.dir)), num)


def run_pack(launcher: Any, pack: list[tuple]) -> list[JobReturn]:
    """In the SLURM job: each job of the pack in turn (a signal that stops one stops the pack; SLURM requeues it)."""
    signals.record(signal.SIGUSR2, signal.SIGTERM)  # the records then say which signal stopped a run
    returns: list[JobReturn] = []
    try:
        for params in pack:
            returns.append(_run_one(launcher, *params))
            if stops_on_failure(launcher) and failed(returns[-1]):
                print(f"job {params[2]} failed: the rest of this pack is not run (hydra.sweeper.stop_on_failure)",
                      file=sys.stderr, flush=True)
                break
        return returns
    except KeyboardInterrupt:  # the run recorded it; no traceback in the job's log
        print(f"stopped: {signals.describe()}", file=sys.stderr, flush=True)
        raise SystemExit(signals.exit_status()) from None


def _run_one(launcher: Any, overrides: list[str], job_dir_key: str, num: int, job_id: str,
             singleton_state: dict[Any, Any]) -> JobReturn:
    import submitit

    Singleton.set_state(singleton_state)
    setup_globals()
    loader = launcher.hydra_context.config_loader
    restarts = int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    if restarts:
        given = [o for o in overrides if override_key(o) != "resume"]
        job = decide(loader.load_sweep_config(launcher.config, given), Path(str(launcher.config.hydra.sweep.dir)),
                     num, given)
        print(f"job {num}, requeued (restart {restarts}): {job.action} ({job.why})", file=sys.stderr, flush=True)
        if job.action == SKIP:
            record = read_metrics(job.run_dir) or {}
            return JobReturn(overrides=given, working_dir=str(job.run_dir), status=JobStatus.COMPLETED,
                             _return_value=record.get("metrics", {}))
        if job.action == RUN and job.run_dir.is_dir():
            shutil.rmtree(job.run_dir)  # from scratch: nothing of the attempt before mixes in
        overrides = job.launched_with() if job.action == RESUME else given
    cfg = loader.load_sweep_config(launcher.config, overrides)
    with open_dict(cfg.hydra.job):
        cfg.hydra.job.id = submitit.JobEnvironment().job_id
        cfg.hydra.job.num = num
    return run_job(hydra_context=launcher.hydra_context, task_function=launcher.task_function, config=cfg,
                   job_dir_key=job_dir_key, job_subdir_key="hydra.sweep.subdir")
