"""A search's sampler and pruner take every argument of the class their ``_target_`` names, checked by its signature."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from glossary_exp.errors import ConfigError
from glossary_exp.sweep.targets import build

pytest.importorskip("optuna")


def sweeper(*overrides: str) -> DictConfig:
    """``hydra.sweeper`` as Hydra composes it for ``-m hparams_search=sine_cubic <overrides>``."""
    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        cfg = compose("config", overrides=["hparams_search=sine_cubic", *overrides], return_hydra_config=True)
    return cfg.hydra.sweeper


@pytest.mark.parametrize("override", ["hydra.sweeper.sampler.n_startup_trials=5",
                                      "++hydra.sweeper.sampler.n_startup_trials=5"])
def test_an_argument_of_the_sampler_reaches_it_without_plus(override: str) -> None:
    sampler = build("hydra.sweeper.sampler", sweeper(override, "hydra.sweeper.sampler.seed=3").sampler)
    assert type(sampler).__name__ == "TPESampler" and sampler._n_startup_trials == 5


def test_another_target_takes_its_own_arguments() -> None:
    settings = sweeper("hydra.sweeper.pruner._target_=optuna.pruners.PercentilePruner",
                       "hydra.sweeper.pruner.percentile=25.0", "~hydra.sweeper.pruner.n_startup_trials",
                       "~hydra.sweeper.pruner.n_warmup_steps")
    assert type(build("hydra.sweeper.pruner", settings.pruner)).__name__ == "PercentilePruner"
    assert build("hydra.sweeper.pruner", sweeper("hydra.sweeper.pruner=null").pruner) is None


@pytest.mark.parametrize("override,message", [
    ("hydra.sweeper.sampler.n_startup_trial=5", "hydra.sweeper.sampler.n_startup_trial is not a setting of "
     "optuna.samplers.TPESampler (did you mean hydra.sweeper.sampler.n_startup_trials?)"),
    ("hydra.sweeper.sampler.n_startup_trials=abc", "hydra.sweeper.sampler.n_startup_trials must be a whole number"),
    ("hydra.sweeper.pruner.n_warmup_step=1", "(did you mean hydra.sweeper.pruner.n_warmup_steps?)"),
    ("hydra.sweeper.sampler._target_=optuna.samplers.TPESamplr",
     "optuna.samplers has no TPESamplr (did you mean optuna.samplers.TPESampler?)"),
    ("hydra.sweeper.sampler._target_=no_such_module.Sampler", "cannot import no_such_module"),
])
def test_a_wrong_argument_is_named_with_the_nearest(override: str, message: str) -> None:
    settings = sweeper(override)
    with pytest.raises(ConfigError) as refused:
        build("hydra.sweeper.sampler", settings.sampler)
        build("hydra.sweeper.pruner", settings.pruner)
    assert message in str(refused.value)
