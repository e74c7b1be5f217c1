"""Every experiment preset composes and passes the checks (bad values: test_bad_input.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from conftest import CONF, config_names
from glossary_exp.rundir import register_resolvers
from glossary_exp.validate import check_config


def compose_config(*overrides: str) -> DictConfig:
    register_resolvers()
    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        return compose("config", overrides=["seed=0", *overrides])


@pytest.mark.parametrize("experiment", sorted(config_names("experiment")))
def test_every_experiment_preset_composes_and_validates(experiment: str) -> None:
    cfg = compose_config(f"experiment={experiment}")
    model_cls, data_cls = check_config(cfg)
    assert cfg.name == experiment
    assert model_cls.__name__ and data_cls.__name__


DEBUG_PRESETS = sorted(config_names("debug"))


def debug_settings(debug: str) -> dict:
    return yaml.safe_load((CONF / "debug" / f"{debug}.yaml").read_text())["trainer"]


@pytest.mark.parametrize("debug", DEBUG_PRESETS)
@pytest.mark.parametrize("experiment", sorted(config_names("experiment")))
def test_a_debug_preset_wins_over_the_experiment_preset(experiment: str, debug: str) -> None:
    cfg = compose_config(f"experiment={experiment}", f"debug={debug}")
    for key, value in debug_settings(debug).items():
        assert cfg.trainer[key] == value, f"experiment={experiment} debug={debug}: trainer.{key}"


def test_the_composed_job_shows_the_debug_preset_winning() -> None:
    result = subprocess.run([sys.executable, "-m", "glossary_exp", "experiment=mnist_mlp", "debug=profiler",
                             "--cfg", "job"], capture_output=True, text=True, check=True)
    trainer = yaml.safe_load(result.stdout)["trainer"]
    assert trainer["max_epochs"] == 1 and trainer["profiler"] == "simple"  # the preset alone says 10 epochs
