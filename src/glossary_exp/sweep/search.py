"""Bayesian search behind ``hydra/sweeper=glossary_optuna``: Optuna ask/tell, one Hydra job per trial.

Each of ``n_jobs`` workers (threads of this process) asks for a trial, launches it as one job through
the configured launcher (whose ``launch`` blocks) and asks for the next as soon as it returns, so no
worker waits for a batch's slowest trial. Trial number == Hydra job number: trial ``n`` runs in
``<sweep dir>/<n>_<overrides>`` and its pruning callback finds the trial by ``hydra.job.num``. Other
processes may work on the same study (:mod:`glossary_exp.sweep.trials`): numbers then interleave,
each trial still has its own directory, and ``n_trials`` counts every process's trials.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import Any, Literal, cast

import optuna
from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution

from glossary_exp.errors import ConfigError
from glossary_exp.passwords import refusal
from glossary_exp.provenance.record import write_sweep
from glossary_exp.redact import has_password, redact
from glossary_exp.sweep import dry_run
from glossary_exp.sweep.share import jobs_at_once
from glossary_exp.sweep.space import check_same_space, search_space
from glossary_exp.sweep.study import INTERRUPTED, check_storage, open_storage, storage_url
from glossary_exp.sweep.targets import build
from glossary_exp.sweep.trials import FINISHED, Heartbeat, claim, counted, fail_stale, fail_uncounted, foreign_running

log = logging.getLogger(__name__)


class Search:
    """Keeps ``n_jobs`` trials running through the configured launcher until the study has ``n_trials``."""

    def __init__(self, objective: str, direction: str, n_trials: int, n_jobs: int, study_name: str,
                 storage: str | None, heartbeat_interval: int, grace_period: int, sampler: Any, pruner: Any,
                 prune_on: str | None, params: Any, enqueue: Any, accept_space_change: bool = False) -> None:
        self.n_jobs = jobs_at_once(n_jobs)  # -1: one trial per core
        self.objective, self.direction, self.n_trials = objective, direction, n_trials
        self.study_name, self.storage = study_name, storage
        self.sampler, self.pruner = build("hydra.sweeper.sampler", sampler), build("hydra.sweeper.pruner", pruner)
        self.heartbeat_interval, self.grace_period = heartbeat_interval, grace_period
        self.accept_space_change = accept_space_change
        self.params = {str(k): str(v) for k, v in (params or {}).items()}
        self.enqueue: list[dict[str, Any]] = [
            cast(dict[str, Any], OmegaConf.to_container(p)) if isinstance(p, DictConfig) else dict(p)
            for p in enqueue or []]
        if storage:
            if has_password(storage):  # resolved (${oc.env:...}): each job's overrides would carry it into its files
                raise refusal("hydra.sweeper.storage", storage)
            check_storage(storage_url(storage, "."))  # before the sweep starts: one line for a storage that cannot work
        self.lock = threading.Lock()  # the sampler and this process's view of the study: one worker at a time
        self.stopping = False
        self.errors: list[BaseException] = []

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> list[list[JobReturn]]:
        sweep_dir = Path(self.config.hydra.sweep.dir)
        space, fixed = search_space([f"{k}={v}" for k, v in self.params.items()] + list(arguments))
        if not space:
            raise ConfigError("the search space is empty: set hydra.sweeper.params or pass e.g. "
                              "'optimizer.lr=tag(log, interval(1e-4, 1e-1))'")
        if dry_run.requested():
            print(dry_run.search_plan(sweep_dir, space, fixed, self.n_trials, self.objective, self.direction),
                  flush=True)
            return []
        sweep_dir.mkdir(parents=True, exist_ok=True)
        url = storage_url(self.storage, sweep_dir)
        direction = cast(Literal["minimize", "maximize"], self.direction)  # checked by the sweeper's settings
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # its "Using an existing study": ours below says more
        try:
            study = optuna.create_study(storage=open_storage(url), study_name=self.study_name, direction=direction,
                                        sampler=self.sampler, pruner=self.pruner, load_if_exists=True)
        finally:
            optuna.logging.set_verbosity(verbosity)
        check_same_space(study, space, self.accept_space_change)  # before this run writes anything of its own
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        paths = self.config.paths
        write_sweep(sweep_dir, exclude=(Path(paths.output_dir), Path(paths.data_dir)))
        # Jobs reach the study through this URL (the job's own sweep dir may be elsewhere, e.g. on Ray).
        fixed.append(f"hydra.sweeper.storage='{url}'")
        with self.lock:
            self._recover(study)
            done = counted(study.get_trials(deepcopy=False))
        workers = self.n_jobs
        if isinstance(self.launcher, BasicLauncher) and workers > 1:
            log.warning("hydra.sweeper.n_jobs=%d, but the basic launcher runs one job at a time in this process; "
                        "choose e.g. hydra/launcher=parallel to run trials at once", workers)
            workers = 1
        log.info("Optuna study '%s' in %s: %d of %d trials, objective %s (%s), %d worker(s)",
                 self.study_name, redact(url), done, self.n_trials, self.objective, self.direction, workers)
        self.heartbeat = Heartbeat(self.heartbeat_interval)
        returns: list[list[JobReturn]] = []
        try:
            self._run_workers(workers, study, space, fixed, returns)
        finally:
            self.heartbeat.stop.set()
        self._log_best(study)
        return returns

    def _run_workers(self, workers: int, study: optuna.Study, space: dict[str, BaseDistribution],
                     fixed: list[str], returns: list[list[JobReturn]]) -> None:
        """The workers: this thread alone for one (so Ctrl-C stops its job as before), else one thread each."""
        threads: list[threading.Thread] = []
        try:
            if workers == 1:
                self._work(study, space, fixed, returns)
                return
            threads = [threading.Thread(target=self._work, args=(study, space, fixed, returns), daemon=True,
                                        name=f"search-worker-{i}") for i in range(workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)  # in slices: a Ctrl-C reaches this thread while workers run
            if self.errors:
                raise self.errors[0]
        except BaseException:  # Ctrl-C or a launcher crash: the resumed search runs these trials again
            self.stopping = True
            with self.lock:
                for trial in self.heartbeat.running():
                    fail_uncounted(study, study.get_trials(deepcopy=False)[trial.number], "the sweep stopped", True)
            deadline = time.time() + 10
            for thread in threads:  # their jobs got the Ctrl-C too: let each launch end and clean up its own files
                thread.join(max(0.0, deadline - time.time()))
            raise

    def _work(self, study: optuna.Study, space: dict[str, BaseDistribution], fixed: list[str],
              returns: list[list[JobReturn]]) -> None:
        """Run trials, one at a time, until the study has enough (or the sweep stops)."""
        try:
            while (trial := self._next_trial(study, space)) is not None:
                self.heartbeat.add(trial)
                overrides = fixed + [f"{k}={v}" for k, v in trial.params.items()]
                result = self.launcher.launch([overrides], initial_job_idx=trial.number)[0]
                with self.lock:
                    self.heartbeat.discard(trial)
                    if self.stopping:  # stopped while it ran: the main thread has failed it for a rerun
                        return
                    self._tell(study, trial, result)
                    returns.append([result])
        except BaseException as err:  # handed to the main thread, which stops the sweep
            self.stopping = True
            if threading.current_thread() is threading.main_thread():
                raise
            self.errors.append(err)

    def _next_trial(self, study: optuna.Study, space: dict[str, BaseDistribution]) -> optuna.Trial | None:
        """A new trial of this process, or None once the study has ``n_trials`` that count and none may fail."""
        while not self.stopping:
            with self.lock:
                fail_stale(study, self.grace_period)
                trials = study.get_trials(deepcopy=False)
                if counted(trials) < self.n_trials:
                    trial = study.ask(space)
                    claim(trial)
                    # Another process may have asked at the same moment: the trials numbered first are the ones
                    # that run.
                    if counted(study.get_trials(deepcopy=False), below=trial.number) < self.n_trials:
                        return trial
                    fail_uncounted(study, study.get_trials(deepcopy=False)[trial.number],
                                   "asked after the study had n_trials", rerun=False)
                    continue
                if not foreign_running(trials):
                    return None
            # Other processes' trials still run: if one's worker dies, its parameters need a worker here.
            time.sleep(min(2.0, self.heartbeat_interval))
        return None

    def _tell(self, study: optuna.Study, trial: optuna.Trial, result: JobReturn) -> None:
        """The objective of a completed job; a failed job (or missing / NaN objective) is a failed trial."""
        state = study.get_trials(deepcopy=False)[trial.number].state
        if state in FINISHED:
            return  # pruned: its job told the study itself (or a worker took it for dead and failed it)
        metrics = result.return_value if result.status == JobStatus.COMPLETED else None
        value = metrics.get(self.objective) if isinstance(metrics, dict) else None
        if isinstance(metrics, dict) and value is None:
            log.warning("trial %d: objective %r is not among its metrics (%s)", trial.number, self.objective,
                        ", ".join(sorted(metrics)))
        if isinstance(value, (int, float)) and math.isfinite(value):
            study.tell(trial, float(value), skip_if_finished=True)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)

    def _recover(self, study: optuna.Study) -> None:
        """On a new study the configured first trials; trials whose workers died (a killed sweep) run again."""
        if not study.trials:
            for params in self.enqueue:
                study.enqueue_trial(params, skip_if_exists=True)  # another process may be starting the study too
        fail_stale(study, self.grace_period)

    def _log_best(self, study: optuna.Study) -> None:
        states = [t.state.name.lower() for t in study.trials if not t.user_attrs.get(INTERRUPTED)]
        counts = ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states)))
        try:
            best = study.best_trial
        except ValueError:
            log.warning("no trial completed (%s)", counts)
            return
        params = " ".join(f"{k}={v}" for k, v in best.params.items())
        log.info("Best trial %d: %s = %.6g with %s (%s)", best.number, self.objective, best.value, params, counts)
