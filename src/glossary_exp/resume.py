"""``resume=<run>``: continue an interrupted fit in its own directory, from its ``last.ckpt``, with its own config.

What a resume may change is only where files are and how the run is shown (:data:`RESUME_SETTINGS`);
anything else would make the record describe a run that never happened, so it is refused, as is a
completed run (start a new run from its weights instead: ``ckpt_path=<run>/checkpoints/last.ckpt``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from glossary_exp.atomic import remove_stale
from glossary_exp.errors import ConfigError
from glossary_exp.rundir import CHECKPOINT_DIR, LAST_CHECKPOINT, find_run, read_config, read_metrics
from glossary_exp.schema import schema_node
from glossary_exp.trainer_arguments import MOVED

# Settings a resume takes from its own command line; the run's saved config keeps everything else.
log = logging.getLogger("glossary_exp")

RESUME_SETTINGS = ("resume", "paths.output_dir", "paths.data_dir", "paths.dataset_mirror", "callbacks.progress_bar",
                   "callbacks.progress_refresh_rate", "print_config", "trust_checkpoint")
# Of those, how the run is shown: the run's own choice (print_config=false) holds unless the command gives another.
SHOWN_SETTINGS = ("callbacks.progress_bar", "callbacks.progress_refresh_rate", "print_config")


@dataclass
class Resumed:
    ref: str  # as the command gave it
    run_dir: Path
    cfg: DictConfig  # the run's own config, with the command's RESUME_SETTINGS
    checkpoint: Path  # its last.ckpt
    record: dict[str, Any]  # its metrics.json as it was


def override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def resolve(command: DictConfig, overrides: list[str]) -> Resumed:
    """The run ``command.resume`` names, checked that it can go on; raises ConfigError saying why not."""
    ref = str(command.resume)
    label = f"resume={ref}"
    run = find_run(command.paths.output_dir, ref)
    if run is None:
        raise ConfigError(f"{label}: not a run directory or the id of one run under {command.paths.output_dir}")
    clear_stale(run)  # a resume refused below would otherwise leave them for good
    record = read_metrics(run) or {}
    saved = saved_config(run, label)
    weights = run / CHECKPOINT_DIR / LAST_CHECKPOINT
    # The run's own overrides are no change: a requeued sweep job resumes with the overrides it started with.
    changed = [o for o in overrides if override_key(o) not in RESUME_SETTINGS and not o.startswith("hydra.")
               and o not in record.get("overrides", [])]
    if changed:
        raise ConfigError(f"{label} continues the run with its own config, so {' '.join(changed)} cannot apply; "
                          f"to start a new run from its weights, give them with ckpt_path={weights}")
    if record.get("status") == "completed":
        raise ConfigError(f"{label}: the run completed; to train it further, run its command again with "
                          f"ckpt_path={weights} and e.g. a larger trainer.max_epochs (a new run from its weights)")
    if saved.task != "fit":
        raise ConfigError(f"{label}: a task={saved.task} run has nothing to continue; run it again instead")
    if not weights.is_file():
        raise ConfigError(f"{label}: the run saved no checkpoint yet ({weights} is missing); start it again")
    given = {override_key(o) for o in overrides}
    for key in RESUME_SETTINGS:
        if key not in SHOWN_SETTINGS or key in given:
            OmegaConf.update(saved, key, OmegaConf.select(command, key), merge=False)
    saved.resume = str(run)
    return Resumed(ref, run, saved, weights, record)


def clear_stale(run: Path) -> None:
    """Remove the partial files a killed writer left in ``run`` (a SIGKILL mid-checkpoint), saying so."""
    removed = remove_stale(run)
    if removed:
        log.info("removed %d partial file(s) an earlier kill left: %s", len(removed), ", ".join(map(str, removed)))


def saved_config(run: Path, label: str) -> DictConfig:
    """The run's config.yaml under the schema; one saved before ``accelerator.*`` became ``trainer.*`` is moved over.

    A file glossary_exp did not write (one with interpolations) is refused: :func:`glossary_exp.rundir.read_config`.
    """
    saved = read_config(run, label)
    old = saved.pop("accelerator", None) or {}
    for key, new in MOVED.items():
        name = key.split(".", 1)[1]
        if name in old and name not in saved.trainer:
            saved.trainer[new.split(".", 1)[1]] = old[name]
    return OmegaConf.merge(schema_node(), saved)  # type: ignore[return-value]


def resumable(run: Path, cfg: Any) -> bool:
    """Whether ``resume=`` can continue ``run``: a fit that saved a last checkpoint (fast_dev_run saves none)."""
    return cfg.task == "fit" and (run / CHECKPOINT_DIR / LAST_CHECKPOINT).is_file()
