"""Pruning across the process boundary: the job reports its curve to the study by storage URL + trial number."""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from glossary_exp.sweep.study import open_storage, search_settings, storage_url


class PruneTrial(pl.Callback):
    """After every training epoch (so after its validation, if any) report ``metric``; stop if Optuna prunes."""

    def __init__(self, trial: Any, metric: str) -> None:
        self.trial, self.metric = trial, metric

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        import optuna

        value = trainer.callback_metrics.get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return  # not logged (yet); a NaN loss fails the job on its own
        epoch = trainer.current_epoch
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            # Told here, not by the sweeper: the job knows it was pruned, the sweeper only sees no result.
            self.trial.study.tell(self.trial, state=optuna.trial.TrialState.PRUNED)
            raise optuna.TrialPruned(f"trial {self.trial.number} pruned at epoch {epoch}: "
                                     f"{self.metric} = {float(value):.6g}")


def search_callbacks() -> list[pl.Callback]:
    """A :class:`PruneTrial` when this job is a trial of a ``glossary_optuna`` search with a pruner, else none."""
    hydra_cfg = HydraConfig.get()
    settings = search_settings(hydra_cfg)
    if hydra_cfg.mode != RunMode.MULTIRUN or settings is None or settings.pruner is None:
        return []
    import optuna
    from hydra.utils import instantiate

    storage = open_storage(storage_url(settings.storage, hydra_cfg.sweep.dir))
    study = optuna.load_study(study_name=settings.study_name, storage=storage, pruner=instantiate(settings.pruner))
    study_id = storage.get_study_id_from_name(settings.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, hydra_cfg.job.num)
    metric = settings.prune_on or settings.objective.removeprefix("best/")
    return [PruneTrial(optuna.Trial(study, trial_id), metric)]
