"""Listing and --help answer from the config files alone, without importing torch."""

from __future__ import annotations

import subprocess
import sys

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
