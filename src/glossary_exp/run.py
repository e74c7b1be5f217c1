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
from typing import TYPE_CHECKING, Any, NoReturn

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from glossary_exp import resume, signals
from glossary_exp.atomic import write_atomically, write_text_atomically
from glossary_exp.diskfull import DiskFull, explain, out_of_space, quiet_in_threads
from glossary_exp.errors import ConfigError, UsageError, full_traceback, printable
from glossary_exp.origin import name_file
from glossary_exp.passwords import check_config
from glossary_exp.provenance import record as provenance
from glossary_exp.provenance.record import Collector
from glossary_exp.redact import redact
from glossary_exp.rundir import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    LAST_CHECKPOINT,
    METRICS_FILE,
    discard_new_run,
    lock_run,
    read_metrics,
    run_id,
    unlock_run,
    write_json,
)
from glossary_exp.runs.reproduce import notice, reproduction_config, verdict
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
        if cfg.reproduce:
            cfg, source = reproduction_config(cfg, overrides)
            record["reproduces"] = str(source)
        check_config(cfg, resolve=True)  # config.yaml is written resolved: no ${oc.env:...} password into it
        resumed = resume.resolve(cfg, overrides) if resuming else None
        if resumed is not None:
            cfg, record = resumed.cfg, _continued_record(resumed.record, overrides)
        lock_run(run_dir, f"resume={resumed.ref}" if resumed else str(run_dir))  # before anything reads the run
        check_values(cfg)
        collector = Collector(exclude=(Path(cfg.paths.output_dir), Path(cfg.paths.data_dir)))  # beside the imports
        from glossary_exp.build import prepare  # torch and Lightning, from here on
        from glossary_exp.noise import quiet_lightning

        quiet_lightning()
        experiment = prepare(cfg, run_dir, resumed)  # reads, never writes: a refusal leaves the files as they were
    except UsageError as err:
        unlock_run(run_dir)
        err = name_file(err, overrides)  # a typo in a preset's YAML: which file
        _refuse(err, run_dir, {**record, "duration_s": time.time() - started}, resuming)
        return None
    try:
        return _start(experiment, run_dir, record, resumed is not None, started, collector)
    except BaseException as err:  # only a full disk is handled here; the rest is raised again
        full = out_of_space(err)
        if full is None or full_traceback():
            raise
        _out_of_space(full, experiment.cfg, run_dir, record, started)
    finally:
        unlock_run(run_dir)


def _start(experiment: Experiment, run_dir: Path, record: dict[str, Any], resumed: bool,
           started: float, collector: Collector) -> dict[str, Any] | None:
    """Write the record and run the task; every ending is recorded."""
    from glossary_exp.report import print_config_tree, print_final, print_resume_hint

    cfg = experiment.cfg
    quiet_in_threads()  # TensorBoard's writer thread would print a traceback before the run's one line
    resume.clear_stale(run_dir)  # what a kill mid-write left: a resume's, a sweep job's run again in its directory
    if not resumed:
        write_text_atomically(run_dir / CONFIG_FILE, OmegaConf.to_yaml(cfg, resolve=True))
    _record_provenance(experiment, run_dir, record, collector.result(), started, resumed)
    record["seed"], record["monitor"] = cfg.seed, list(experiment.monitor)
    if cfg.ckpt_path:  # where its weights came from: a fit's start, or what test / predict evaluated
        record["init_from" if cfg.task == "fit" else "checkpoint"] = str(cfg.ckpt_path)
    earlier = record.get("duration_s", 0.0)  # a resumed run's time before its interruption
    write_json(run_dir / METRICS_FILE, record)  # a killed run still shows up, as "running"
    if cfg.print_config:
        print_config_tree(cfg)
    try:
        metrics = execute(experiment, run_dir)
    except BaseException as err:  # every ending is recorded, then handled below
        interrupted = isinstance(err, (KeyboardInterrupt, SystemExit))
        if not interrupted and out_of_space(err) is not None:
            raise  # recorded by run(), the one place a full disk is handled, wherever it was met
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
            _refuse(err, run_dir, record, resuming=False)  # it never trained: nothing worth keeping
            return None
        write_json(run_dir / METRICS_FILE, record)
        if full_traceback() or not (isinstance(err, UsageError) or _in_sweep()):
            raise
        _report(err, status)
        return None
    record.update(status="completed", metrics={**record.get("metrics", {}), **metrics},
                  duration_s=earlier + time.time() - started)
    if cfg.reproduce:
        return _compare_with_original(Path(cfg.reproduce), metrics, run_dir, record)
    write_json(run_dir / METRICS_FILE, record)
    print_final(metrics, run_dir)
    return metrics


def _compare_with_original(source: Path, metrics: dict[str, Any], run_dir: Path,
                           record: dict[str, Any]) -> dict[str, Any]:
    """A reproduction's end: its metrics against the original's; alone, exit 1 when any differs."""
    from glossary_exp.report import print_final

    lines, same = verdict(source, metrics)
    record["reproduced_exactly"] = same
    write_json(run_dir / METRICS_FILE, record)
    print_final(metrics, run_dir)
    print("\n".join(lines), flush=True)
    if not same and not _in_sweep():
        sys.exit(1)
    return metrics


def _record_provenance(experiment: Experiment, run_dir: Path, record: dict[str, Any], collected: dict[str, Any],
                       started: float, resumed: bool) -> None:
    """``provenance.json`` (a resume's in its own ``.hydra/resumed_*``); its short form into the record."""
    from glossary_exp.report import ProvenanceText

    if resumed:
        directory = run_dir / str(HydraConfig.get().output_subdir)
        directory.mkdir(parents=True, exist_ok=True)
        record["resumed"][-1].update(provenance.write(directory, collected))
        return
    cfg = experiment.cfg
    if cfg.reproduce:  # before write(), which moves each patch's text into its file
        print("\n".join(map(printable, notice(Path(cfg.reproduce), collected))), flush=True)
    short = provenance.write(run_dir, collected)
    record.update(started=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)), name=cfg.name, task=cfg.task,
                  **short)
    experiment.trainer.callbacks.append(ProvenanceText(provenance.markdown(collected)))  # type: ignore[attr-defined]  # set by Lightning's connectors at run time


def execute(experiment: Experiment, run_dir: Path) -> dict[str, Any]:
    """Run the config's task (fit continues ``experiment.checkpoint`` if any); returns the final metrics."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    from lightning.pytorch.callbacks import ModelCheckpoint
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
        checkpoint = trainer.checkpoint_callback
        if isinstance(checkpoint, ModelCheckpoint) and checkpoint.best_model_score is not None:
            metrics[f"best/{experiment.monitor[0]}"] = float(checkpoint.best_model_score)
        if is_overridden("test_dataloader", datamodule):
            # fast_dev_run saves no checkpoint: it tests the weights it ends with, one batch.
            best = experiment.has_val and not trainer.fast_dev_run  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
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
        shutil.rmtree(run_dir / str(HydraConfig.get().output_subdir), ignore_errors=True)
    if full_traceback():
        raise err
    _report(err, "failed")


def _report(err: BaseException, status: str) -> None:
    """In a sweep, log the job's end and go on (the summary lists it); alone, one line on stderr and exit 2."""
    if _in_sweep():
        log.error("job %s: %s", status, err)
        return None
    print(f"error: {printable(str(err))}", file=sys.stderr)
    sys.exit(2)


def _out_of_space(full: OSError, cfg: DictConfig, run_dir: Path, record: dict[str, Any], started: float) -> NoReturn:
    """A full disk or quota: one line saying what to do, the record saying failed; a sweep stops launching jobs."""
    message = explain(full, run_dir)
    if cfg.task != "fit":
        message += "; once space is free, run the command again"
    elif resume.resumable(run_dir, cfg):
        message += (f"; the last whole checkpoint is {run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT}; once space is "
                    f"free, continue with: python -m glossary_exp resume={run_id(run_dir)}")
    else:
        message += "; no checkpoint was written yet: once space is free, run the command again"
    # disk_full: the run is not at fault, so a sweep run again continues it from last.ckpt (sweep/grid.py).
    record.update(status="failed", error=message, disk_full=True,
                  duration_s=record.get("duration_s", 0.0) + time.time() - started)
    try:
        write_json(run_dir / METRICS_FILE, record)
    except OSError as again:
        if out_of_space(again) is None:
            raise
        status = (read_metrics(run_dir) or {}).get("status")
        message += f"; the record ({METRICS_FILE}) could not be written either" + (
            f" and still says {status}" if status else ", and there is none")
    if _in_sweep():
        log.error("job failed: %s", message)
        raise DiskFull(message)
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def _in_sweep() -> bool:
    return HydraConfig.get().mode == RunMode.MULTIRUN


def _continued_record(record: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """The resumed run's record, kept whole: its overrides and metrics stay, the resume is appended."""
    resumes = [*record.get("resumed", []), {"at": time.strftime("%Y-%m-%d %H:%M:%S"), "command": overrides,
                                            "after": record.get("error")}]
    kept = {key: value for key, value in record.items() if key != "disk_full"}  # the resume is its fix
    return {**kept, "status": "running", "error": None, "resumed": resumes}


def _error(err: BaseException) -> str:
    return redact(f"{type(err).__name__}: {err}")  # a URL in an error keeps its password out of the record


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in sorted(metrics.items())}


def _save_predictions(predictions: list[Any] | None, run_dir: Path) -> Path:
    import torch

    path = run_dir / "predictions.pt"
    write_atomically(path, lambda file: torch.save(predictions, file))
    log.info("predictions of %d batches written to %s", len(predictions or []), path)
    return path
