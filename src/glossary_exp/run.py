"""One run: check the config, build data + model + trainer, fit, test, report."""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities.model_helpers import is_overridden
from omegaconf import DictConfig, OmegaConf

from glossary_exp.errors import UsageError
from glossary_exp.report import hparams_of, log_hparams, print_config_tree, print_final
from glossary_exp.rundir import CONFIG_FILE, METRICS_FILE, load_resumed_config, write_json
from glossary_exp.steps import plan_steps
from glossary_exp.sweep.hparams import same_keys
from glossary_exp.sweep.pruning import search_callbacks
from glossary_exp.trainer import build_callbacks, build_logger, build_trainer, checkpoint_monitor
from glossary_exp.validate import check_checkpoint, check_config

log = logging.getLogger("glossary_exp")


def _route_lightning_logs() -> None:
    """Lightning's messages through Hydra's handlers only (console + run.log), minus its adverts."""
    lightning_log = logging.getLogger("lightning")
    lightning_log.handlers.clear()  # its own console handler would print every line twice
    # Filters apply only where a record starts, so on the logger that rank_zero_info uses.
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(
        lambda record: not str(record.msg).startswith("💡 Tip"))


def run(cfg: DictConfig) -> dict[str, Any] | None:
    """Run one job; user errors become one line on stderr and (outside a sweep) exit code 2."""
    _route_lightning_logs()
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    started = time.time()
    record: dict[str, Any] = {"status": "running", "overrides": list(hydra_cfg.overrides.task)}
    recording = False
    try:
        # A resume runs in the resumed run's directory: one that cannot go on leaves its record as it was.
        cfg, resume_ckpt = load_resumed_config(cfg.resume, cfg.paths.output_dir) if cfg.resume else (cfg, None)
        write_json(run_dir / METRICS_FILE, record)  # a killed run still shows up, as "running"
        recording = True
        metrics = execute(cfg, run_dir, record, resume_ckpt)
    except BaseException as err:  # noqa: BLE001 - every ending is recorded, then handled below
        status = "interrupted" if isinstance(err, (KeyboardInterrupt, SystemExit)) else "failed"
        status = "pruned" if type(err).__name__ == "TrialPruned" else status  # an Optuna search stopped it
        # Lightning turns Ctrl-C into SystemExit(1); "SystemExit: 1" would say nothing to a reader.
        error = "interrupted (Ctrl-C or a signal)" if status == "interrupted" else f"{type(err).__name__}: {err}"
        record.update(status=status, error=error, duration_s=time.time() - started)
        if recording:
            write_json(run_dir / METRICS_FILE, record)
        if status == "interrupted" or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        if in_sweep:
            log.error("job failed: %s", err)  # the sweep goes on; the summary lists it as failed
            return None
        if isinstance(err, UsageError):
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        raise
    record.update(status="completed", metrics=metrics, duration_s=time.time() - started)
    write_json(run_dir / METRICS_FILE, record)
    print_final(metrics, run_dir)
    return metrics


def execute(cfg: DictConfig, run_dir: Path, record: dict[str, Any], resume_ckpt: str | None) -> dict[str, Any]:
    """Build everything from ``cfg`` and run its task (fit continues ``resume_ckpt``); returns the final metrics."""
    if cfg.seed is None:
        cfg.seed = random.SystemRandom().randrange(2**31)  # recorded below, so the run can be repeated
    record["seed"] = cfg.seed
    model_cls, data_cls = check_config(cfg)
    OmegaConf.save(cfg, run_dir / CONFIG_FILE, resolve=True)
    if cfg.print_config:
        print_config_tree(cfg)

    has_val = is_overridden("val_dataloader", data_cls, pl.LightningDataModule)
    monitor = checkpoint_monitor(cfg, model_cls, has_val)
    record["monitor"] = list(monitor)  # a sweep's summary sorts by best/<metric> in this direction
    logger = build_logger(cfg, run_dir)
    callbacks = build_callbacks(cfg, run_dir, monitor) + search_callbacks()
    trainer = build_trainer(cfg, run_dir, callbacks, logger)

    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    model = model_cls(**_kwargs(cfg.model))
    model.use_optimization(_kwargs(cfg.optimizer, keep_name=True), _kwargs(cfg.scheduler, keep_name=True))
    data_kwargs = _kwargs(cfg.data)
    plan = plan_steps(cfg, trainer, model)
    if plan is not None:
        model.use_step_plan(plan)
        data_kwargs["batch_size"] *= plan.steps  # each training batch holds the samples of plan.steps steps
    datamodule = data_cls(**data_kwargs)
    if cfg.task == "fit" and not cfg.resume and trainer.is_global_zero:  # other processes have no logger
        log_hparams(logger, same_keys(hparams_of(cfg)), model.hparam_metrics)

    metrics: dict[str, Any] = {}
    if cfg.task == "fit":
        trainer.fit(model, datamodule=datamodule, ckpt_path=resume_ckpt)
        metrics.update(_numbers(trainer.callback_metrics))
        metrics.update(model.results())
        best = trainer.checkpoint_callback
        if best is not None and best.best_model_score is not None:
            metrics[f"best/{monitor[0]}"] = float(best.best_model_score)
        if is_overridden("test_dataloader", datamodule) and not trainer.fast_dev_run:
            trainer.test(model, datamodule=datamodule, ckpt_path="best" if has_val else None, verbose=False)
            metrics.update(_numbers(trainer.callback_metrics))
    elif cfg.task == "test":
        check_checkpoint(cfg.ckpt_path)
        trainer.test(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path, verbose=False)
        metrics.update(_numbers(trainer.callback_metrics))
    else:
        check_checkpoint(cfg.ckpt_path)
        predictions = trainer.predict(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
        metrics["predictions"] = str(_save_predictions(predictions, run_dir))
    return metrics


def _kwargs(node: DictConfig | None, keep_name: bool = False) -> dict[str, Any]:
    """A plugin's constructor arguments: its config minus the registry ``name``."""
    if node is None:
        return {}
    data: dict[str, Any] = OmegaConf.to_container(node, resolve=True)  # type: ignore[assignment]
    return data if keep_name else {k: v for k, v in data.items() if k != "name"}


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in sorted(metrics.items())}


def _save_predictions(predictions: list[Any] | None, run_dir: Path) -> Path:
    import torch

    path = run_dir / "predictions.pt"
    torch.save(predictions, path)
    log.info("predictions of %d batches written to %s", len(predictions or []), path)
    return path
