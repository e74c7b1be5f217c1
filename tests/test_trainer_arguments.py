"""``trainer.<name>=<value>`` for every argument of Lightning's Trainer, as LightningCLI's ``--trainer.<name>``."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig, OmegaConf

from conftest import run_dirs, run_in_process
from glossary_exp.trainer_arguments import OWN_TRAINER_ARGUMENTS, TRAINER_ARGUMENTS, settable
from glossary_exp.validate import check_values


def composed(*overrides: str) -> DictConfig:
    """The config these overrides compose to, as Hydra composes it for a run."""
    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        return compose("config", overrides=list(overrides))


def test_the_static_list_is_the_installed_lightnings_signature() -> None:
    import lightning.pytorch as pl

    live = {name: p.default for name, p in inspect.signature(pl.Trainer.__init__).parameters.items() if name != "self"}
    assert live == TRAINER_ARGUMENTS, f"update TRAINER_ARGUMENTS in trainer_arguments.py to: {live!r}"
    assert set(OWN_TRAINER_ARGUMENTS) <= set(live)


def test_every_trainer_argument_is_a_setting_without_plus() -> None:
    overrides = [f"trainer.{name}={'null' if default is None else default}" for name, default in
                 ((n, TRAINER_ARGUMENTS[n]) for n in settable()) if name not in ("max_epochs",)]
    cfg: DictConfig = composed(*overrides)
    check_values(cfg)  # names, before torch: none refused
    assert set(settable()) - {"max_epochs"} <= set(cfg.trainer)
    assert cfg.trainer.num_nodes == 1 and cfg.trainer.devices == "auto"


@pytest.mark.parametrize("overrides,expected", [
    (("accelerator=ddp",), {"accelerator": "auto", "devices": 2, "strategy": "ddp_spawn"}),
    (("accelerator=ddp", "trainer.devices=4"), {"accelerator": "auto", "devices": 4, "strategy": "ddp_spawn"}),
    (("accelerator=cpu",), {"accelerator": "cpu", "devices": "auto", "strategy": "auto"}),
    (("trainer.accelerator=cpu", "trainer.devices=2", "trainer.strategy=ddp_spawn"),
     {"accelerator": "cpu", "devices": 2, "strategy": "ddp_spawn"}),
], ids=["ddp", "ddp-4", "cpu", "lightning-names"])
def test_accelerator_presets_are_shorthands_for_the_trainers_own_settings(overrides, expected) -> None:
    cfg = composed(*overrides)
    assert {k: cfg.trainer[k] for k in expected} == expected
    assert "accelerator" not in cfg  # one place holds each value: the trainer's


def test_a_run_passes_trainer_arguments_to_lightning(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    result = run_in_process("experiment=quadratic_gd", "trainer.accelerator=cpu", "trainer.max_time=00:00:05:00",
                            "trainer.check_val_every_n_epoch=2", output_dir=outputs)
    assert result.returncode == 0, result.stderr
    (run,) = run_dirs(outputs)
    saved = OmegaConf.load(run / "config.yaml").trainer
    assert (saved.accelerator, saved.max_time, saved.check_val_every_n_epoch) == ("cpu", "00:00:05:00", 2)
    assert "accelerator: cpu" in (run / "hparams.yaml").read_text()


def test_a_run_saved_before_the_move_resumes_with_its_accelerator_under_trainer(tmp_path: Path) -> None:
    from glossary_exp.resume import saved_config

    (tmp_path / "config.yaml").write_text("trainer:\n  max_epochs: 3\naccelerator:\n  name: ddp\n"
                                          "  accelerator: cpu\n  devices: 2\n  strategy: ddp_spawn\n")
    cfg = saved_config(tmp_path, "resume=old")
    assert "accelerator" not in cfg
    assert (cfg.trainer.accelerator, cfg.trainer.devices, cfg.trainer.strategy) == ("cpu", 2, "ddp_spawn")
