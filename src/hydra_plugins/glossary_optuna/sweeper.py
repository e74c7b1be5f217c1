"""``hydra/sweeper=glossary_optuna``: registers the search's settings and wraps the search, imported when it runs."""

from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from glossary_exp.sweep.settings import search_node

ConfigStore.instance().store(group="hydra/sweeper", name="glossary_optuna", node=search_node(), provider="glossary_exp")


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

    def sweep(self, arguments: list[str]) -> Any:
        return self.search.sweep(arguments)
