"""The Lightning Trainer of a run: its loggers, callbacks and accelerator, from the config."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch import callbacks as cb
from lightning.pytorch.accelerators import CPUAccelerator, CUDAAccelerator, MPSAccelerator
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from lightning.pytorch.strategies.launchers.multiprocessing import _MultiProcessingLauncher
from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher
from omegaconf import DictConfig, OmegaConf

from glossary_exp import signals
from glossary_exp.errors import ConfigError
from glossary_exp.noise import silence_warnings
from glossary_exp.rundir import CHECKPOINT_DIR, LAST_CHECKPOINT
from glossary_exp.trainer_arguments import TRAINER_ARGUMENTS

silence_warnings()  # here too, for the processes ddp_spawn and launchers start, which import this module


class ModelCheckpoint(cb.ModelCheckpoint):
    """Lightning's, with its ``state_key`` formatted once instead of at every hook call.

    Lightning formats every callback's key for each hook it dispatches, about six times a training
    step; a checkpoint's is built from settings fixed at construction (monitor, mode, intervals).
    The class keeps Lightning's name, so the key written into checkpoints is unchanged.
    """

    @cached_property
    def state_key(self) -> str:
        return super().state_key


class ReleaseProcessGroup(cb.Callback):
    """Destroys a spawned worker's process group when its fit or test ends.

    Lightning destroys only NCCL's group, at exit; a ``ddp_spawn`` worker that exits with gloo's
    still alive sometimes aborts ("terminate called without an active exception") as gloo's threads
    are torn down with the interpreter (pytorch/pytorch#179291), failing the run. Nothing in the
    worker uses the group after the teardown hooks.
    """

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


class StopBetweenBatches(cb.Callback):
    """Ctrl-C and SIGTERM during a fit, test or predict loop stop it at the next batch boundary (signals.py: why)."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        signals.defer()

    on_test_start = on_predict_start = on_fit_start

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        signals.stop_deferring()

    on_test_end = on_predict_end = on_fit_end

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        signals.stop_deferring(drop=True)

    def _boundary(self, *args: Any, **kwargs: Any) -> None:
        signals.act_on_pending()

    # Every batch hook is the same boundary (their signatures differ only in what this ignores).
    on_train_batch_start = on_train_batch_end = _boundary
    on_validation_batch_start = on_validation_batch_end = _boundary
    on_test_batch_start = on_test_batch_end = _boundary
    on_predict_batch_start = on_predict_batch_end = _boundary


class LearningRate(cb.Callback):
    """Logs the learning rate as one tag, ``lr`` (``lr/<i>`` for several parameter groups), whatever the optimizer.

    Lightning's monitor names it after the optimizer class (``lr-Adam``, ``lr-SGD``), so runs of a
    sweep over optimizers cannot share a chart or a summary column. It logs as often as the rate can
    change: each epoch, or each logged step under a per-step scheduler.
    """

    def __init__(self, interval: str) -> None:
        self.interval = interval

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.interval == "epoch":
            self._log(trainer)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        every = trainer.log_every_n_steps  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
        if self.interval == "step" and every > 0 and (trainer.global_step + 1) % every == 0:
            self._log(trainer)

    def _log(self, trainer: pl.Trainer) -> None:
        groups = [group for optimizer in trainer.optimizers for group in optimizer.param_groups]
        rates = {"lr": groups[0]["lr"]} if len(groups) == 1 else {f"lr/{i}": g["lr"] for i, g in enumerate(groups)}
        rates = {name: float(rate) for name, rate in rates.items()}
        step = trainer.fit_loop.epoch_loop._batches_that_stepped  # the x-axis Lightning's own values use
        for logger in trainer.loggers:
            logger.log_metrics(rates, step=step)
        trainer.callback_metrics.update({name: torch.tensor(rate) for name, rate in rates.items()})


def build_logger(cfg: DictConfig, run_dir: Path, purge_step: int | None = None) -> Logger:
    """Events go straight into the run directory, so TensorBoard names the run after it.

    ``purge_step``: TensorBoard hides the run's earlier events from this step on (a resumed run
    redoes the epoch its interruption cut short, and would otherwise show its steps twice).
    """
    if cfg.logger.name == "csv":
        return CSVLogger(save_dir=run_dir, name="", version="")
    # No placeholder hp_metric: the HParams dashboard shows the model's real metrics.
    extra: dict[str, Any] = {"purge_step": purge_step} if purge_step is not None else {}
    return TensorBoardLogger(save_dir=run_dir, name="", version="", default_hp_metric=False, **extra)


def checkpoint_monitor(cfg: DictConfig, model: type[pl.LightningModule], has_val: bool) -> tuple[str, str]:
    """(metric, mode) that picks the best checkpoint."""
    if cfg.callbacks.checkpoint.monitor:
        return cfg.callbacks.checkpoint.monitor, cfg.callbacks.checkpoint.mode
    if has_val:
        return model.monitor  # type: ignore[attr-defined]  # GlossaryModule's, checked by check_config
    return "train/loss", "min"


def build_callbacks(cfg: DictConfig, run_dir: Path, monitor: tuple[str, str]) -> list[cb.Callback]:
    metric, mode = monitor
    checkpoints = run_dir / CHECKPOINT_DIR
    callbacks: list[cb.Callback] = [
        StopBetweenBatches(),
        ModelCheckpoint(dirpath=checkpoints, filename="best", monitor=metric, mode=mode, save_top_k=1,
                        enable_version_counter=False),
        # Not save_last=True: since Lightning 2.6 that writes last.ckpt only when "best" improves, so
        # a run would resume from its best epoch rather than its last one.
        ModelCheckpoint(dirpath=checkpoints, filename=Path(LAST_CHECKPOINT).stem, save_top_k=1,
                        enable_version_counter=False),
    ]
    if cfg.callbacks.lr_monitor and cfg.logger.name:
        # As often as the rate can change: every epoch, or every step under a per-step scheduler.
        interval = cfg.scheduler.get("interval", "epoch") if cfg.scheduler.name != "none" else "epoch"
        callbacks.append(LearningRate(interval))
    if cfg.callbacks.early_stopping_patience:
        callbacks.append(cb.EarlyStopping(monitor=metric, mode=mode, patience=cfg.callbacks.early_stopping_patience))
    if cfg.callbacks.progress_bar:
        callbacks.append(cb.RichProgressBar(refresh_rate=cfg.callbacks.progress_refresh_rate))
    return callbacks


def build_trainer(cfg: DictConfig, run_dir: Path, callbacks: list[cb.Callback], logger: Logger,
                  checkpoint_io: CheckpointIO) -> pl.Trainer:
    trainer = _trainer(cfg, run_dir, callbacks, logger, checkpoint_io)
    if isinstance(trainer.accelerator, CPUAccelerator):
        # Importing Lightning sets this so that asking whether CUDA exists never initializes it;
        # torch then queries NVML on every such question, which Adam asks every step: about
        # 0.1 ms a step on this CPU machine (experiments/mnist_mlp/RESULTS.md). A CPU run
        # asks the cheap, cached way.
        os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
    return trainer


def _trainer(cfg: DictConfig, run_dir: Path, callbacks: list[cb.Callback], logger: Logger,
             checkpoint_io: CheckpointIO) -> pl.Trainer:
    kwargs: dict[str, Any] = OmegaConf.to_container(cfg.trainer, resolve=True)  # type: ignore[assignment]
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    strategy = kwargs.pop("strategy", "auto")
    trainer = _lightning_trainer(cfg, kwargs, run_dir, callbacks, logger, strategy, checkpoint_io)
    if isinstance(trainer.strategy.launcher, _SubprocessScriptLauncher):
        # Lightning's "ddp" starts each process by running the command line again: in a multirun,
        # the whole sweep again (Hydra issue #2070). "ddp_spawn" starts them from this process.
        if strategy == "auto":
            trainer = _lightning_trainer(cfg, kwargs, run_dir, callbacks, logger, "ddp_spawn", checkpoint_io)
        elif HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
            raise ConfigError(f"trainer.strategy={strategy} starts each process by running the command "
                              "again, which in a multirun (-m) runs the whole sweep again; use "
                              "trainer.strategy=ddp_spawn (as accelerator=ddp does)")
    if isinstance(trainer.strategy.launcher, _MultiProcessingLauncher):
        trainer.callbacks.append(ReleaseProcessGroup())  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
    return trainer


def _lightning_trainer(cfg: DictConfig, kwargs: dict[str, Any], run_dir: Path, callbacks: list[cb.Callback],
                       logger: Logger, strategy: str, checkpoint_io: CheckpointIO) -> pl.Trainer:
    """Lightning's Trainer with the ``trainer.*`` settings and what glossary_exp sets itself."""
    try:
        return pl.Trainer(
            **kwargs,
            strategy=strategy,
            deterministic=cfg.deterministic,
            default_root_dir=run_dir,
            logger=logger,
            callbacks=callbacks,
            plugins=[checkpoint_io, *cluster_environment()],  # every checkpoint read or written goes through it
            enable_progress_bar=bool(cfg.callbacks.progress_bar),
            enable_model_summary=False,
        )
    except (MisconfigurationException, ValueError, TypeError, ImportError) as err:  # a device it lacks...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        reason = reason if len(reason) <= 160 else reason[:157] + "..."
        devices = " ".join(f"trainer.{k}={kwargs.get(k, TRAINER_ARGUMENTS[k]) if k != 'strategy' else strategy}"
                           for k in ("accelerator", "devices", "strategy"))
        raise ConfigError(
            f"Lightning refused {devices} or another trainer.* setting: {reason} This machine has: "
            f"{', '.join(available_accelerators())}; `python -m glossary_exp list accelerators` shows the presets"
        ) from err


def cluster_environment() -> list[SLURMEnvironment]:
    """In a SLURM job, Lightning's SLURM environment without its auto-requeue.

    Our SLURM launcher owns the job's signals (hydra_plugins/glossary_slurm): USR2 requeues it
    through submitit and the job continues from its last checkpoint. Lightning's requeue would
    save and requeue the same job a second time.
    """
    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def available_accelerators() -> list[str]:
    """The accelerator kinds this machine can run: cpu, and gpu or mps when torch sees one."""
    kinds = {"cpu": CPUAccelerator, "gpu": CUDAAccelerator, "mps": MPSAccelerator}
    return [name for name, kind in kinds.items() if kind.is_available()]
