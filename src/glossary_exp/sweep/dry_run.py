"""``python -m glossary_exp -m ... --dry-run``: what a multirun would launch, and nothing created (Hydra #2759).

The CLI takes ``--dry-run`` off the command line (Hydra does not know it) and sets :data:`DRY_RUN_ENV`
while Hydra runs; the sweepers then print their plan instead of launching, and the sweep callback
writes nothing. A grid's plan is the resuming grid's own decisions (:func:`glossary_exp.sweep.grid.decide`),
so what it says would be skipped, resumed or rerun is what a real run does. Imports no torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.utils import filter_overrides
from omegaconf import DictConfig, OmegaConf

from glossary_exp.sweep.settings import SLURM_TARGET

if TYPE_CHECKING:
    from glossary_exp.sweep.grid import Job

DRY_RUN_ENV = "GLOSSARY_EXP_DRY_RUN"
FLAG = "--dry-run"


def requested() -> bool:
    """Whether this command is a dry run (the CLI was given ``--dry-run``)."""
    return os.environ.get(DRY_RUN_ENV) == "1"


def action_of(job: Job) -> str:
    """skip, resume, busy, run (a new job) or rerun (one whose directory is emptied and started again)."""
    if job.action == "run":
        return "run" if job.why == "new" else "rerun"
    return job.action


def grid_plan(jobs: list[Job], sweep_dir: Path, hydra_cfg: DictConfig) -> str:
    """A grid's plan: the sweep, each job's action, overrides and run directory, and SLURM's request."""
    exists = "exists: its jobs are decided from what they left" if sweep_dir.is_dir() else "would be created"
    actions = [action_of(job) for job in jobs]
    counts = ", ".join(f"{actions.count(a)} {a}" for a in ("run", "rerun", "resume", "skip", "busy") if a in actions)
    shared = [o for o in jobs[0].overrides if all(o in job.overrides for job in jobs)] if len(jobs) > 1 else []
    lines = ["Dry run: nothing is launched and nothing is written.",
             f"Sweep directory {sweep_dir} ({exists})",
             f"{len(jobs)} job(s): {counts or 'none'}"]
    lines += [f"Every job: {' '.join(filter_overrides(shared))}"] if shared else []
    width = max((len(a) for a in actions), default=0)
    for job, action in zip(jobs, actions, strict=True):
        overrides = " ".join(filter_overrides([o for o in job.overrides if o not in shared])) or "(no overrides)"
        why = f" ({job.why})" if job.why != "new" else ""
        lines += [f"  #{job.num:<3} {action:<{width}}  {overrides}{why}", f"        {job.run_dir}"]
    launched = [job for job in jobs if job.action in ("run", "resume")]
    if is_slurm(hydra_cfg) and launched:
        lines += slurm_plan(hydra_cfg, [job.num for job in launched])
    return "\n".join(lines)


def is_slurm(hydra_cfg: DictConfig) -> bool:
    return OmegaConf.select(hydra_cfg, "launcher._target_") == SLURM_TARGET


def launcher_settings(hydra_cfg: DictConfig) -> dict[str, Any]:
    settings = OmegaConf.to_container(hydra_cfg.launcher, resolve=True)
    assert isinstance(settings, dict)
    return {str(k): v for k, v in settings.items()}


def slurm_plan(hydra_cfg: DictConfig, nums: list[int]) -> list[str]:
    """The SLURM request: checked against the cluster as a real sweep does (a request that can never run is refused)."""
    from glossary_exp.sweep.slurm import check_request, sbatch_parameters
    from glossary_exp.sweep.slurm_jobs import check_settings

    settings = launcher_settings(hydra_cfg)
    check_settings(settings)  # wait=false's conflicts: the launcher's setup refused them already
    check_request(settings)
    per_task = int(settings["jobs_per_task"])
    packs = [nums[i:i + per_task] for i in range(0, len(nums), per_task)]
    lines = [f"SLURM: {len(nums)} job(s) as one job array of {len(packs)} SLURM job(s), "
             f"up to {per_task} job(s) each, each SLURM job asking for:",
             "  sbatch " + " ".join(sbatch_options(sbatch_parameters(settings), len(packs)))]
    for extra in ("setup", "additional_parameters"):
        if settings.get(extra):
            lines.append(f"  {extra}: {settings[extra]}")
    lines += [f"  array task {i}: job(s) {', '.join(f'#{n}' for n in pack)}" for i, pack in enumerate(packs)]
    if not settings.get("wait", True):
        lines.append("hydra.launcher.wait=false: the command would return once the array is submitted")
    return lines


def sbatch_options(parameters: Mapping[str, Any], tasks: int) -> list[str]:
    """submitit's parameters as the sbatch options they become (``setup`` and the extra options are shown apart)."""
    options = []
    for key, value in parameters.items():
        if key == "array_parallelism":
            options.append(f"--array=0-{tasks - 1}%{value}")
        elif key == "signal_delay_s":
            options.append(f"--signal=USR2@{value}")
        elif key not in ("setup", "additional_parameters", "stderr_to_stdout"):
            options.append(f"--{key.replace('_', '-')}={value}")
    return options


def search_plan(sweep_dir: Path, space: Mapping[str, Any], fixed: list[str], n_trials: int, objective: str,
                direction: str) -> str:
    """A search's dry run: its trials are chosen as it runs, so the space and the budget are what can be shown."""
    exists = "exists: the study there is continued" if sweep_dir.is_dir() else "would be created"
    lines = ["Dry run: nothing is launched and nothing is written.",
             f"Sweep directory {sweep_dir} ({exists})",
             f"An Optuna search of up to {n_trials} trial(s), {direction} {objective}; the sampler picks each "
             "trial's values as the search runs, over:"]
    lines += [f"  {name}: {distribution}" for name, distribution in space.items()]
    if fixed:
        lines.append(f"Every trial: {' '.join(filter_overrides(fixed))}")
    return "\n".join(lines)
