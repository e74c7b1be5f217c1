"""The sweeper's config schema (``hydra/sweeper=glossary_optuna``) and a thin class around the search."""

# No ``from __future__ import annotations``: Hydra executes plugin modules without registering
# them in sys.modules, and dataclasses then cannot resolve string annotations.
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

TARGET = "hydra_plugins.glossary_optuna.sweeper.GlossaryOptunaSweeper"


@dataclass
class GlossaryOptunaConf:
    _target_: str = TARGET
    # A key of the job's final metrics (metrics.json), e.g. val/loss or best/val/acc.
    objective: str = "val/loss"
    direction: str = "minimize"
    # Trials the study should hold when the sweep ends; a resumed sweep runs only the rest.
    n_trials: int = 20
    # Trials launched at once: the launcher's parallelism (joblib's n_jobs when it has one).
    n_jobs: int = "${oc.select:hydra.launcher.n_jobs,1}"  # type: ignore[assignment]
    study_name: str = "search"
    # null: SQLite in the sweep directory, so rerunning with hydra.sweep.dir=<it> resumes.
    storage: Optional[str] = None
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


ConfigStore.instance().store(group="hydra/sweeper", name="glossary_optuna", node=GlossaryOptunaConf,
                             provider="glossary_exp")


class GlossaryOptunaSweeper(Sweeper):
    """Delegates to :class:`glossary_exp.sweep.search.Search`, imported only when a search runs."""

    def __init__(self, **settings: Any) -> None:
        try:
            from glossary_exp.sweep.search import Search
        except ModuleNotFoundError as err:
            raise ImportError(f"{err}: a search needs Optuna; pip install 'glossary-exp[optuna]'") from err
        self.search = Search(**settings)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.search.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> Any:
        return self.search.sweep(arguments)
