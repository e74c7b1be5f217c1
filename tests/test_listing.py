"""Listing and --help answer from the config files alone, without importing torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # -X importtime lists every module imported, on stderr.
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "glossary_exp", *args],
                          capture_output=True, text=True)


def imported(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


def test_list_shows_every_group_without_torch() -> None:
    result = run("list")
    assert result.returncode == 0
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert {"experiments", "models", "datasets", "optimizers", "schedulers", "accelerators", "plugins"} <= set(lines)
    assert {"linear_regression", "sine_cubic", "quadratic_gd", "random_regression"} <= set(
        lines["experiments"].split(", "))
    assert lines["optimizers"] == "adam, adamw, sgd"
    assert lines["accelerators"] == "auto, cpu, ddp, gpu, mps"
    assert "torch" not in imported(result) and "lightning" not in imported(result)


def test_list_one_group_and_unknown_group() -> None:
    assert run("list", "optimizers").stdout == "optimizers: adam, adamw, sgd\n"
    bad = run("list", "widgets")
    assert bad.returncode == 2 and "cannot list widgets; choose from: experiments" in bad.stderr


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_names_groups_and_usage_without_torch(flag: str) -> None:
    result = run(flag)
    assert result.returncode == 0
    assert "python -m glossary_exp experiment=<name>" in result.stdout
    assert "optimizer: adam, adamw, sgd" in result.stdout
    assert "torch" not in imported(result)


def test_help_read_by_a_pipe_that_closes_early_ends_quietly() -> None:
    result = subprocess.run(f"{sys.executable} -m glossary_exp --help | head -1", shell=True, capture_output=True,
                            text=True)
    assert result.stdout == "glossary_exp: the PyTorch glossary's examples as Lightning + Hydra experiments.\n"
    assert result.stderr == ""  # no BrokenPipeError traceback


def test_help_names_every_command_and_list_has_its_own_help() -> None:
    assert "python -m glossary_exp summary <sweep dir>" in run("--help").stdout
    listed = run("list", "--help")
    assert listed.returncode == 0 and listed.stdout.startswith("usage: python -m glossary_exp list [experiments|")


def test_info_works_before_the_overrides() -> None:
    result = subprocess.run([sys.executable, "-m", "glossary_exp", "--info", "experiment=quadratic_gd"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "name: quadratic_gd" in result.stdout  # the composed config of that experiment


def test_bash_completion_of_glossary_exp_completes_options() -> None:
    script = Path(sys.executable).with_name("glossary-exp")
    line = "glossary-exp experiment=mnist_m"
    bash = (f'eval "$({script} -sc install=bash)"; COMP_LINE="{line}"; COMP_POINT={len(line)}; COMP_CWORD=1; '
            'hydra_bash_completion; printf "%s\\n" "${COMPREPLY[@]}"')
    result = subprocess.run(["bash", "-c", bash], capture_output=True, text=True,
                            env={**os.environ, "PATH": f"{script.parent}:{os.environ['PATH']}"})
    assert result.stdout.split() == ["experiment=mnist_mlp"], result.stdout + result.stderr


def test_list_trainer_shows_lightnings_arguments_without_torch() -> None:
    result = run("list", "trainer")
    assert result.returncode == 0
    heading, names = result.stdout.strip().split(": ", 1)
    assert heading == "trainer"
    arguments = dict(item.split("=", 1) for item in names.split(", "))
    assert arguments["max_epochs"] == "null" and arguments["num_nodes"] == "1" and arguments["devices"] == "auto"
    assert "logger" not in arguments and "callbacks" not in arguments  # glossary_exp's own settings
    assert "torch" not in imported(result) and "lightning" not in imported(result)
