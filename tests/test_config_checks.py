"""Bad values are caught before anything is built, with a message naming the key."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from glossary_exp.errors import ConfigError, UnknownPluginError
from glossary_exp.rundir import register_resolvers
from glossary_exp.validate import check_config

from test_registry import config_names


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


@pytest.mark.parametrize("overrides,message", [
    (["optimizer.lr=abc"], "optimizer.lr must be a number, got 'abc'"),
    (["optimizer.lr=0"], "optimizer.lr must be > 0, got 0"),
    (["optimizer.lr=-0.1"], "optimizer.lr must be > 0"),
    (["optimizer.momentum=fast"], "optimizer.momentum must be float"),
    (["experiment=random_regression", "data.batch_size=0"], "data.batch_size must be >= 1, got 0"),
    (["experiment=random_regression", "data.batch_size=2.5"], "data.batch_size must be int"),
    (["trainer.max_epochs=-3"], "trainer.max_epochs must be >= 0"),
    (["steps_per_execution=0"], "steps_per_execution must be a whole number >= 1, got 0"),
    (["steps_per_execution=2.5"], "steps_per_execution must be a whole number >= 1, got 2.5"),
    (["+model.hiden=3"], "model.hiden is not a setting of model; allowed: print_every"),
    (["model.name=nope"], "model.name='nope' is not a registered model; choose one of:"),
    (["data.name=nope"], "data.name='nope' is not a registered data"),
    (["optimizer.fused=yes"], "optimizer.fused must be"),
    (["optimizer.fused=true", "optimizer.foreach=true"], "optimizer.fused=true and optimizer.foreach=true exclude each other"),
    (["optimizer.name=rmsprop"], "optimizer.name='rmsprop' is not allowed; choose one of: sgd, adam, adamw"),
    (["scheduler=step", "scheduler.interval=hour"], "scheduler.interval='hour' is not allowed"),
    (["task=evaluate"], "task='evaluate' is not allowed; choose one of: fit, test, predict"),
    (["task=test"], "task=test needs ckpt_path"),
    (["seed=-1"], "seed must be a whole number >= 0"),
])
def test_bad_value_names_the_key_and_what_is_allowed(overrides: list[str], message: str) -> None:
    with pytest.raises((ConfigError, UnknownPluginError)) as err:
        check_config(compose_config(*overrides))
    assert message in str(err.value)
