"""``hydra/sweeper=glossary_grid`` (the default): Hydra's basic grid, and a rerun skips the jobs that completed."""

from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore

from glossary_exp.sweep.settings import GridConf

ConfigStore.instance().store(group="hydra/sweeper", name="glossary_grid", node=GridConf, provider="glossary_exp")


class GlossaryGridSweeper(BasicSweeper):
    """Hydra's grid expansion; which jobs run, and in which directories, is :mod:`glossary_exp.sweep.grid`'s."""

    def __init__(self, max_batch_size: int | None, params: dict[str, str] | None = None,
                 stop_on_failure: bool = False) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.stop_on_failure = stop_on_failure  # glossary_exp.sweep.grid reads it from the config

    def sweep(self, arguments: list[str]) -> Any:
        from glossary_exp.sweep.grid import run_grid

        return run_grid(self, arguments)
