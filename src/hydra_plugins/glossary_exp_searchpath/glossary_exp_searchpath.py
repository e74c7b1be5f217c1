"""Adds the config directories of installed glossary_exp plugins to Hydra's search path.

A plugin package declares, in its pyproject.toml::

    [project.entry-points."glossary_exp.configs"]
    my_plugin = "my_plugin.conf"

and its ``conf/model/*.yaml``, ``conf/data/*.yaml``, ``conf/experiment/*.yaml`` join ours.
Hydra imports this module at every start of every Hydra app: it imports only Hydra and
the standard library, and touches only glossary_exp's own search path.
"""

from importlib.metadata import entry_points

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

CONFIG_ENTRY_POINT_GROUP = "glossary_exp.configs"


class GlossaryExpSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        ours = any("glossary_exp" in element.path for element in search_path.get_path())
        if not ours:
            return
        for ep in entry_points(group=CONFIG_ENTRY_POINT_GROUP):
            search_path.append(provider=f"glossary_exp-plugin:{ep.name}", path=f"pkg://{ep.value}")
