"""Everything a run needs, built from its config and checked before any file is written."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities.model_helpers import is_overridden
from omegaconf import DictConfig, OmegaConf

from glossary_exp.checkpoints import SafeCheckpointIO, check_fits, load_checkpoint, saved_by
from glossary_exp.module import GlossaryModule
from glossary_exp.report import HParamsAtTrainStart, hparams_of
from glossary_exp.resume import Resumed
from glossary_exp.steps import plan_steps
from glossary_exp.sweep.hparams import same_keys
from glossary_exp.sweep.pruning import search_callbacks
from glossary_exp.trainer import build_callbacks, build_logger, build_trainer, checkpoint_monitor
from glossary_exp.validate import check_config, construct


@dataclass
class Experiment:
    cfg: DictConfig
    model: GlossaryModule
    datamodule: pl.LightningDataModule
    trainer: pl.Trainer
    monitor: tuple[str, str]  # (metric, mode) choosing the best checkpoint
    has_val: bool
    checkpoint: str | None  # what fit continues from (a resume) or test / predict evaluate


def prepare(cfg: DictConfig, run_dir: Path, resumed: Resumed | None) -> Experiment:
    """Check ``cfg`` and build the model, data and trainer; raises a UsageError for anything that cannot work."""
    if cfg.seed is None:
        cfg.seed = random.SystemRandom().randrange(2**31)  # recorded, so the run can be repeated
    model_cls, data_cls = check_config(cfg)
    has_val = is_overridden("val_dataloader", data_cls, pl.LightningDataModule)
    monitor = checkpoint_monitor(cfg, model_cls, has_val)
    source = str(resumed.checkpoint) if resumed else cfg.ckpt_path
    label = f"resume={resumed.ref}: its {Path(source).name}" if resumed else f"ckpt_path={source}"
    checkpoint = load_checkpoint(source, label, cfg.trust_checkpoint) if source else None
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = construct("model", model_cls, _kwargs(cfg.model))
    model.use_optimization(_kwargs(cfg.optimizer, keep_name=True), _kwargs(cfg.scheduler, keep_name=True))
    io = SafeCheckpointIO(trust=cfg.trust_checkpoint)
    if checkpoint is not None:
        check_fits(checkpoint, model, label, saved_by(source))
        if cfg.task == "fit" and not resumed:  # ckpt_path with fit: a new run that starts from those weights
            model.load_state_dict(checkpoint["state_dict"])
            source = None
        else:
            io.remember(source, checkpoint)  # Lightning's restore reads it from here, not from disk again

    # A resumed run's TensorBoard events after its checkpoint are the interrupted epoch's: hidden, then redone.
    purge_step = _logger_step(checkpoint) if resumed and checkpoint else None
    logger = build_logger(cfg, run_dir, purge_step)
    callbacks = build_callbacks(cfg, run_dir, monitor) + search_callbacks()
    if cfg.task == "fit" and not resumed:  # a resumed run's hyperparameters are in its first events file
        callbacks.append(HParamsAtTrainStart(same_keys(hparams_of(cfg))))
    trainer = build_trainer(cfg, run_dir, callbacks, logger, io)
    data_kwargs = _kwargs(cfg.data)
    plan = plan_steps(cfg, trainer, model)
    if plan is not None:
        model.use_step_plan(plan)
        data_kwargs["batch_size"] *= plan.steps  # each training batch holds the samples of plan.steps steps
    datamodule = construct("data", data_cls, data_kwargs)
    return Experiment(cfg, model, datamodule, trainer, monitor, has_val, source)


def _logger_step(checkpoint: dict[str, Any]) -> int:
    """The loggers' step when the checkpoint was saved (Lightning's count of batches that stepped)."""
    loop = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.state_dict", {})
    return int(loop.get("_batches_that_stepped", checkpoint.get("global_step", 0)))


def _kwargs(node: DictConfig | None, keep_name: bool = False) -> dict[str, Any]:
    """A plugin's constructor arguments: its config minus the registry ``name``."""
    if node is None:
        return {}
    data: dict[str, Any] = OmegaConf.to_container(node, resolve=True)  # type: ignore[assignment]
    return data if keep_name else {k: v for k, v in data.items() if k != "name"}
