"""The registry and the config groups agree, and every plugin's config is valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import CONF, config_names
from glossary_exp import registry
from glossary_exp.errors import UnknownPluginError
from glossary_exp.validate import check_arguments

assert Path(registry.__file__).parent / "conf" == CONF  # the tests read the configs of the installed package


def builtin_names(kind: str) -> set[str]:
    return {name for name in registry.names(kind)
            if registry.get(kind, name).__module__.startswith("glossary_exp.")}


@pytest.mark.parametrize("kind", registry.KINDS)
def test_config_files_and_registry_agree_both_ways(kind: str) -> None:
    assert config_names(kind) == builtin_names(kind)


@pytest.mark.parametrize("kind,name", [(k, n) for k in registry.KINDS for n in sorted(config_names(k))])
def test_every_plugin_config_names_its_plugin_and_fits_its_signature(kind: str, name: str) -> None:
    cfg = yaml.safe_load((CONF / kind / f"{name}.yaml").read_text())
    assert cfg["name"] == name
    kwargs = {k: v for k, v in cfg.items() if k != "name" and not str(v).startswith("${")}
    check_arguments(kind, registry.get(kind, name), kwargs)


def test_duplicate_name_raises() -> None:
    cls = registry.get("model", "linear_regression")

    with pytest.raises(ValueError, match=r"registers model .linear_regression., which .*LinearRegression already has"):
        @registry.register("model", "linear_regression")
        class Impostor:
            pass

    assert registry.get("model", "linear_regression") is cls


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownPluginError) as err:
        registry.get("model", "no_such_model")
    assert "model.name='no_such_model'" in str(err.value)
    assert "linear_regression" in str(err.value) and "sine_cubic" in str(err.value)


def test_unknown_kind_raises() -> None:
    with pytest.raises(ValueError, match="choose one of: model, data"):
        registry.register("optimizer", "x")


def test_every_builtin_plugin_is_used_by_an_experiment_preset() -> None:
    """So the fast_dev_run of every preset (test_runs.py) runs every built-in plugin."""
    used: dict[str, set[str]] = {kind: set() for kind in registry.KINDS}
    for path in (CONF / "experiment").glob("*.yaml"):
        for entry in yaml.safe_load(path.read_text())["defaults"]:
            for kind in registry.KINDS:
                if f"override /{kind}" in entry:
                    used[kind].add(entry[f"override /{kind}"])
    for kind in registry.KINDS:
        assert builtin_names(kind) - used[kind] == set(), kind
