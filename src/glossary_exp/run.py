"""One run: check the config and build everything, then fit, test or predict, and keep its record.

A command refused before it did anything (bad input, missing data, an unusable checkpoint) prints
one line, exits 2 and leaves nothing behind: Hydra's fresh run directory is removed again. Once a
run has started, its ``metrics.json`` always says how it ended (completed, failed, interrupted,
pruned); an interrupted fit says how to continue it.

torch and Lightning are imported only once the checks that need neither have passed
(:func:`glossary_exp.validate.check_values`, the resume's run and its lock): most bad input is
answered in about a second instead of after Lightning's import (8 s on a slow machine).
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from glossary_exp import resume, signals
from glossary_exp.atomic import remove_stale, write_atomically, write_text_atomically
from glossary_exp.errors import ConfigError, UsageError, full_traceback
from glossary_exp.origin import name_file
from glossary_exp.rundir import CONFIG_FILE, METRICS_FILE, discard_new_run, lock_run, unlock_run, write_json
from glossary_exp.validate import check_command_line, check_values

if TYPE_CHECKING:
    from glossary_exp.build import Experiment

log = logging.getLogger("glossary_exp")


def run(cfg: DictConfig) -> dict[str, Any] | None:
    """Run one job; returns its final metrics (None for a failed job of a sweep, which goes on)."""
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = list(hydra_cfg.overrides.task)
    started = time.time()
    record: dict[str, Any] = {"status": "running", "overrides": overrides}
    resuming = bool(cfg.resume)
    try:
        check_command_line(overrides)
        resumed = resume.resolve(cfg, overrides) if resuming else None
        if resumed is not None:
            cfg, record = resumed.cfg, _continued_record(resumed.record, overrides)
        lock_run(run_dir, f"resume={resumed.ref}" if resumed else str(run_dir))  # before anything reads the run
        check_values(cfg)
        from glossary_exp.build import prepare  # torch and Lightning, from here on
        from glossary_exp.noise import quiet_lightning

        quiet_lightning()
        experiment = prepare(cfg, run_dir, resumed)  # reads, never writes: a refusal leaves the files as they were
    except UsageError as err:
        unlock_run(run_dir)
        err = name_file(err, overrides)  # a typo in a preset's YAML: which file
        return _refuse(err, run_dir, {**record, "duration_s": time.time() - started}, resuming)
    try:
        return _start(experiment, run_dir, record, resumed is not None, started)
    finally:
        unlock_run(run_dir)


def _start(experiment: Experiment, run_dir: Path, record: dict[str, Any], resumed: bool,
           started: float) -> dict[str, Any] | None:
    """Write the record and run the task; every ending is recorded."""
    from glossary_exp.report import print_config_tree, print_final, print_resume_hint

    cfg = experiment.cfg
    if resumed:
        removed = remove_stale(run_dir)  # what a kill mid-write left behind
        if removed:
            log.info("removed %d partial file(s) an earlier kill left: %s", len(removed), ", ".join(map(str, removed)))
    else:
        write_text_atomically(run_dir / CONFIG_FILE, OmegaConf.to_yaml(cfg, resolve=True))
    record["seed"], record["monitor"] = cfg.seed, list(experiment.monitor)
    if cfg.ckpt_path:  # where its weights came from: a fit's start, or what test / predict evaluated
        record["init_from" if cfg.task == "fit" else "checkpoint"] = str(cfg.ckpt_path)
    earlier = record.get("duration_s", 0.0)  # a resumed run's time before its interruption
    write_json(run_dir / METRICS_FILE, record)  # a killed run still shows up, as "running"
    if cfg.print_config:
        print_config_tree(cfg)
    try:
        metrics = execute(experiment, run_dir)
    except BaseException as err:  # noqa: BLE001 - every ending is recorded, then handled below
        interrupted = isinstance(err, (KeyboardInterrupt, SystemExit))
        status = "pruned" if type(err).__name__ == "TrialPruned" else "interrupted" if interrupted else "failed"
        record.update(status=status, error=signals.describe() if interrupted else _error(err),
                      duration_s=earlier + time.time() - started)
        if interrupted:
            write_json(run_dir / METRICS_FILE, record)
            if resume.resumable(run_dir, cfg) and not cfg.trainer.fast_dev_run and not _in_sweep():
                # A sweep's jobs continue with the sweep (its callback says how).
                print_resume_hint(run_dir, cfg.paths.output_dir)
            raise KeyboardInterrupt from err  # the CLI exits 128 + the signal; a sweep stops here
        if isinstance(err, UsageError) and not resumed and experiment.trainer.global_step == 0:
            return _refuse(err, run_dir, record, resuming=False)  # it never trained: nothing worth keeping
        write_json(run_dir / METRICS_FILE, record)
        if full_traceback() or not (isinstance(err, UsageError) or _in_sweep()):
            raise
        return _report(err, status)
    record.update(status="completed", metrics={**record.get("metrics", {}), **metrics},
                  duration_s=earlier + time.time() - started)
    write_json(run_dir / METRICS_FILE, record)
    print_final(metrics, run_dir)
    return metrics


def execute(experiment: Experiment, run_dir: Path) -> dict[str, Any]:
    """Run the config's task (fit continues ``experiment.checkpoint`` if any); returns the final metrics."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from lightning.pytorch.utilities.model_helpers import is_overridden

    cfg, model, datamodule, trainer = experiment.cfg, experiment.model, experiment.datamodule, experiment.trainer
    metrics: dict[str, Any] = {}
    if cfg.task == "fit":
        try:
            trainer.fit(model, datamodule=datamodule, ckpt_path=experiment.checkpoint)
        except MisconfigurationException as err:  # e.g. a monitored metric the model never logged
            raise ConfigError(str(err).splitlines()[0]) from err
        metrics.update(_numbers(trainer.callback_metrics))
        metrics.update(model.results())
        best = trainer.checkpoint_callback
        if best is not None and best.best_model_score is not None:
            metrics[f"best/{experiment.monitor[0]}"] = float(best.best_model_score)
        if is_overridden("test_dataloader", datamodule):
            # fast_dev_run saves no checkpoint: it tests the weights it ends with, one batch.
            best = experiment.has_val and not trainer.fast_dev_run
            trainer.test(model, datamodule=datamodule, ckpt_path="best" if best else None, verbose=False)
            metrics.update(_numbers(trainer.callback_metrics))
    elif cfg.task == "test":
        trainer.test(model, datamodule=datamodule, ckpt_path=experiment.checkpoint, verbose=False)
        metrics.update(_numbers(trainer.callback_metrics))
    else:
        predictions = trainer.predict(model, datamodule=datamodule, ckpt_path=experiment.checkpoint)
        metrics["predictions"] = str(_save_predictions(predictions, run_dir))
    return metrics


def _refuse(err: UsageError, run_dir: Path, record: dict[str, Any], resuming: bool) -> None:
    """A job that could not start. In a sweep its record says why; alone, nothing it made is left behind."""
    if _in_sweep():
        write_json(run_dir / METRICS_FILE, {**record, "status": "failed", "error": _error(err)})
    elif not full_traceback() and not discard_new_run(run_dir) and resuming:
        # Not a new directory: the run the resume named, where Hydra wrote this command's files.
        shutil.rmtree(run_dir / HydraConfig.get().output_subdir, ignore_errors=True)
    if full_traceback():
        raise err
    return _report(err, "failed")


def _report(err: BaseException, status: str) -> None:
    """In a sweep, log the job's end and go on (the summary lists it); alone, one line on stderr and exit 2."""
    if _in_sweep():
        log.error("job %s: %s", status, err)
        return None
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)


def _in_sweep() -> bool:
    return HydraConfig.get().mode == RunMode.MULTIRUN


def _continued_record(record: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """The resumed run's record, kept whole: its overrides and metrics stay, the resume is appended."""
    resumes = [*record.get("resumed", []), {"at": time.strftime("%Y-%m-%d %H:%M:%S"), "command": overrides,
                                            "after": record.get("error")}]
    return {**record, "status": "running", "error": None, "resumed": resumes}


def _error(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in sorted(metrics.items())}


def _save_predictions(predictions: list[Any] | None, run_dir: Path) -> Path:
    import torch

    path = run_dir / "predictions.pt"
    write_atomically(path, lambda file: torch.save(predictions, file))
    log.info("predictions of %d batches written to %s", len(predictions or []), path)
    return path
