"""Bayesian search behind ``hydra/sweeper=glossary_optuna``: Optuna ask/tell, one Hydra job per trial.

Trial number == Hydra job number, so trial ``n`` runs in ``<sweep dir>/<n>_<overrides>`` and its
pruning callback finds the trial by ``hydra.job.num``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, Transformer
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from glossary_exp.sweep.share import jobs_at_once
from glossary_exp.sweep.study import INTERRUPTED, open_storage, storage_url

log = logging.getLogger(__name__)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def distribution(override: Override) -> BaseDistribution | None:
    """Optuna's distribution for a sweep override (interval, range, choice); None for a fixed value.

    ``tag(log, interval(a, b))`` samples on a log scale, ``tag(int, interval(a, b))`` integers.
    """
    if not override.is_sweep_override():
        return None
    sweep = override.value()
    if override.is_interval_sweep():  # Hydra parses interval bounds as floats; tag(int, ...) asks for ints
        log_scale = "log" in sweep.tags
        if "int" in sweep.tags:
            return IntDistribution(int(sweep.start), int(sweep.end), log=log_scale)
        return FloatDistribution(sweep.start, sweep.end, log=log_scale)
    choices = list(override.sweep_iterator(transformer=Transformer.encode))
    if override.is_range_sweep() and not sweep.shuffle:
        # range(a, b, s) stops before b; Optuna's high is inclusive, so it ends at the last element.
        kind = IntDistribution if all(isinstance(c, int) for c in (sweep.start, sweep.step)) else FloatDistribution
        return kind(sweep.start, choices[-1], step=sweep.step)
    return CategoricalDistribution(choices)


def search_space(arguments: list[str]) -> tuple[dict[str, BaseDistribution], list[str]]:
    """(distributions by key, fixed overrides); a later argument for the same key wins."""
    space: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(arguments):
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        dist = distribution(override)
        if dist is None:
            fixed[key] = override.input_line or f"{key}={override.get_value_element_as_str()}"
        else:
            space[key] = dist
    return space, list(fixed.values())


class Search:
    """Runs trials in batches of ``n_jobs`` through the configured launcher until the study has ``n_trials``."""

    def __init__(self, objective: str, direction: str, n_trials: int, n_jobs: int, study_name: str,
                 storage: str | None, sampler: Any, pruner: Any, prune_on: str | None, params: Any,
                 enqueue: Any) -> None:
        self.n_jobs = jobs_at_once(n_jobs)  # -1: one trial per core
        self.objective, self.direction, self.n_trials = objective, direction, n_trials
        self.study_name, self.storage, self.sampler, self.pruner = study_name, storage, sampler, pruner
        self.params = {str(k): str(v) for k, v in (params or {}).items()}
        self.enqueue = [OmegaConf.to_container(p) if isinstance(p, DictConfig) else dict(p) for p in enqueue or []]

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> list[list[JobReturn]]:
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        space, fixed = search_space([f"{k}={v}" for k, v in self.params.items()] + list(arguments))
        if not space:
            raise ValueError("the search space is empty: set hydra.sweeper.params or pass e.g. "
                             "'optimizer.lr=tag(log, interval(1e-4, 1e-1))'")
        url = storage_url(self.storage, sweep_dir)
        study = optuna.create_study(storage=open_storage(url), study_name=self.study_name, direction=self.direction,
                                    sampler=self.sampler, pruner=self.pruner, load_if_exists=True)
        # Jobs reach the study through this URL (the job's own sweep dir may be elsewhere, e.g. on Ray).
        fixed.append(f"hydra.sweeper.storage='{url}'")
        self._recover(study)
        done = self._done(study)
        log.info("Optuna study '%s' in %s: %d of %d trials done, objective %s (%s)",
                 self.study_name, url, done, self.n_trials, self.objective, self.direction)
        returns = []
        while done < self.n_trials:
            trials = [study.ask(space) for _ in range(min(self.n_jobs, self.n_trials - done))]
            numbers = [t.number for t in trials]
            if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
                raise RuntimeError(f"trial numbers {numbers} are not consecutive: another process is adding "
                                   "trials to this study; give each sweep its own hydra.sweeper.study_name")
            overrides = [fixed + [f"{k}={v}" for k, v in t.params.items()] for t in trials]
            try:
                results = self.launcher.launch(overrides, initial_job_idx=numbers[0])
            except BaseException:  # Ctrl-C or a launcher crash: the resumed search runs these again
                for trial in trials:
                    self._mark_interrupted(study, study.trials[trial.number])
                raise
            for trial, result in zip(trials, results):
                self._tell(study, trial, result)
            done += len(trials)
            returns.append(results)
        self._log_best(study)
        return returns

    def _tell(self, study: optuna.Study, trial: optuna.Trial, result: JobReturn) -> None:
        """The objective of a completed job; a failed job (or missing / NaN objective) is a failed trial."""
        if study.get_trials(deepcopy=False)[trial.number].state in FINISHED:
            return  # pruned: its job told the study itself
        metrics = result.return_value if result.status == JobStatus.COMPLETED else None
        value = metrics.get(self.objective) if isinstance(metrics, dict) else None
        if isinstance(metrics, dict) and value is None:
            log.warning("trial %d: objective %r is not among its metrics (%s)", trial.number, self.objective,
                        ", ".join(sorted(metrics)))
        if isinstance(value, (int, float)) and math.isfinite(value):
            study.tell(trial, float(value), skip_if_finished=True)
        else:
            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)

    def _mark_interrupted(self, study: optuna.Study, frozen: FrozenTrial) -> None:
        """Fail an unfinished trial, flagged so it does not count, and queue its params again."""
        if frozen.state in FINISHED:
            return
        trial = optuna.Trial(study, frozen._trial_id)  # a live handle on a stored trial, as Optuna's integrations do
        trial.set_user_attr(INTERRUPTED, True)
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        study.enqueue_trial(frozen.params, user_attrs={"rerun_of": frozen.number})

    def _recover(self, study: optuna.Study) -> None:
        """Trials a killed sweep left running, and on a new study the configured first trials."""
        if not study.trials:
            for params in self.enqueue:
                study.enqueue_trial(params)
        for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            log.warning("trial %d was left running by an earlier sweep; running its params again", frozen.number)
            self._mark_interrupted(study, frozen)

    @staticmethod
    def _done(study: optuna.Study) -> int:
        return sum(1 for t in study.get_trials(deepcopy=False, states=FINISHED) if not t.user_attrs.get(INTERRUPTED))

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
