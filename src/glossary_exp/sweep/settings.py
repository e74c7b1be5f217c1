"""The sweepers' settings (``hydra/sweeper=glossary_grid``, ``hydra/sweeper=glossary_optuna``) as config schemas.

The Hydra plugins in ``hydra_plugins/`` register these and import nothing else of ours at start,
so this module imports only the standard library and OmegaConf (which Hydra has imported already).
"""

# No ``from __future__ import annotations``: OmegaConf reads these annotations as types.
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import DictConfig, OmegaConf

GRID_TARGET = "hydra_plugins.glossary_grid.grid.GlossaryGridSweeper"
SEARCH_TARGET = "hydra_plugins.glossary_optuna.sweeper.GlossaryOptunaSweeper"


@dataclass
class GridConf:
    """Hydra's basic sweeper (a cartesian grid) that skips jobs a previous run of the sweep completed."""

    _target_: str = GRID_TARGET
    # Jobs handed to the launcher at once (null: all of them), as in Hydra's basic sweeper.
    max_batch_size: Optional[int] = None
    params: Optional[Dict[str, str]] = None
    # true: the first failed job stops the sweep: nothing more is launched (a local launcher's jobs
    # already running at once finish; SLURM's are cancelled), the summary is written, exit status 1.
    # The same command with hydra.sweep.dir=<sweep dir> continues it. false: every job runs.
    stop_on_failure: bool = False


@dataclass
class SearchConf:
    _target_: str = SEARCH_TARGET
    # The search builds its sampler and pruner itself, after checking their arguments (sweep/targets.py).
    _recursive_: bool = False
    # A key of the job's final metrics (metrics.json), e.g. val/loss or best/val/acc.
    objective: str = "val/loss"
    direction: str = "minimize"
    # Trials the study should hold when the sweep ends, counted over every process working on it;
    # a resumed sweep runs only the rest.
    n_trials: int = 20
    # Trials running at once in this process, each started as soon as a worker is free: the
    # launcher's parallelism (joblib's n_jobs when it has one).
    n_jobs: int = "${oc.select:hydra.launcher.n_jobs,1}"  # type: ignore[assignment]
    study_name: str = "search"
    # null: SQLite in the sweep directory, so rerunning with hydra.sweep.dir=<it> resumes.
    # journal: an Optuna journal file in the sweep directory; journal:<path> one elsewhere (shared
    # filesystem). postgresql://user@host/db (pip install 'glossary-exp[postgres]'), sqlite:///<file>.
    storage: Optional[str] = None
    # Seconds between the heartbeats of a running trial; one silent for grace_period seconds
    # (its worker died) is failed and its parameters run again.
    heartbeat_interval: int = 10
    grace_period: int = 60
    # Any argument of the _target_ is a key here (hydra.sweeper.sampler.n_startup_trials=5), and of the pruner's.
    sampler: Dict[str, Any] = field(default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": None})
    # null: no pruning. Jobs report prune_on after every validation (else training) epoch.
    pruner: Optional[Dict[str, Any]] = field(default_factory=lambda: {
        "_target_": "optuna.pruners.MedianPruner", "n_startup_trials": 3, "n_warmup_steps": 1})
    # null: the objective without its "best/" prefix.
    prune_on: Optional[str] = None
    # The search space, in Hydra's override syntax: interval(1e-4, 1e-1), tag(log, interval(...)),
    # tag(int, interval(2, 64)), choice(a, b), range(1, 8). Sweep overrides on the command line join it.
    params: Dict[str, str] = field(default_factory=dict)
    # Tried first (each a dict of param -> value), e.g. the experiment's default settings.
    enqueue: List[Dict[str, Any]] = field(default_factory=list)
    # A study resumed (hydra.sweep.dir=<it>, or a shared storage) with another search space is refused, naming
    # what changed; true: go on in it, its trials asked in both spaces (n_trials still counts them all).
    accept_space_change: bool = False


def search_node() -> DictConfig:
    """:class:`SearchConf` with open ``sampler`` and ``pruner`` nodes: their keys are their target's arguments."""
    node = OmegaConf.structured(SearchConf)
    for key in ("sampler", "pruner"):
        OmegaConf.set_struct(node[key], False)
    return node


SLURM_TARGET = "hydra_plugins.glossary_slurm.launcher.SlurmLauncher"


@dataclass
class SlurmConf:
    """``hydra/launcher=slurm``: the sweep's jobs as a SLURM job array (through submitit), sbatch's settings by name."""

    _target_: str = SLURM_TARGET
    # submitit's files of each SLURM job (its pickles, stdout and stderr): %j is the job id.
    submitit_folder: str = "${hydra.sweep.dir}/.submitit/%j"
    # null: the cluster's default partition.
    partition: Optional[str] = None
    # Per SLURM job (a task of the array). A request that no node of the partition can hold is
    # refused before anything is submitted.
    timeout_min: int = 60
    nodes: int = 1
    tasks_per_node: int = 1
    cpus_per_task: int = 1
    gpus_per_node: int = 0
    mem_gb: Optional[float] = 4.0
    # Sweep jobs run one after another in each SLURM job, in one Python process: the start-up
    # (imports, Hydra) is paid once per K jobs instead of once per job.
    jobs_per_task: int = 1
    # SLURM jobs of the array running at once.
    array_parallelism: int = 16
    # Seconds before the time limit at which SLURM signals the job (USR2); it then saves nothing
    # more, is requeued and continues from its last checkpoint. SLURM may signal up to 60 s early.
    signal_delay_s: int = 120
    # Requeues at the time limit before a job is failed (preemptions do not count).
    max_num_timeout: int = 3
    name: str = "${hydra.job.name}"
    qos: Optional[str] = None
    account: Optional[str] = None
    constraint: Optional[str] = None
    exclude: Optional[str] = None
    comment: Optional[str] = None
    # Shell lines run in the batch script before the job (module load ..., source venv/bin/activate).
    setup: Optional[List[str]] = None
    # Other sbatch options by name, e.g. {mail-user: me@lab.org}.
    additional_parameters: Dict[str, Any] = field(default_factory=dict)
    stderr_to_stdout: bool = False
    # false: the command returns once the array is submitted, printing how to follow it
    # (python -m glossary_exp summary <sweep dir> --watch); the jobs run, record and requeue as ever.
    wait: bool = True
