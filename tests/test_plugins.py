"""A real third-party package adds a model, data and an experiment: pip install, then use it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, read_hparams, read_metrics, run_dirs

PACKAGE = REPO / "tests" / "plugin_package"


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    build = tmp_path_factory.mktemp("plugin_build")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # A copy, so building leaves no egg-info in the repo; no index: the test stays offline.
    subprocess.run(["cp", "-r", str(PACKAGE), str(build / "pkg")], check=True)
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "--no-index", str(build / "pkg")],
                   check=True)
    try:
        yield
    finally:
        subprocess.run([*pip, "uninstall", "-y", "tiny-glossary-plugin"], check=True)


def test_plugin_names_are_unknown_without_the_package(cli) -> None:
    # First in the file: it must run before the module fixture installs the package.
    result = cli("model=tiny_affine")
    assert result.returncode == 2 and "error: model=tiny_affine is not an option" in result.stderr


def test_installed_plugin_is_listed(installed_plugin: None, cli) -> None:
    result = subprocess.run([sys.executable, "-m", "glossary_exp", "list"], capture_output=True, text=True,
                            check=True)
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert "tiny_affine" in lines["models"].split(", ")
    assert "tiny_points" in lines["datasets"].split(", ")
    assert "tiny" in lines["experiments"].split(", ")
    assert "tiny = tiny_glossary_plugin.plugin" in lines["plugins"]


def test_installed_plugin_runs_through_the_cli(installed_plugin: None, cli) -> None:
    for choice in (["model=tiny_affine", "data=tiny_points"], ["experiment=tiny"]):
        result = cli(*choice)
        assert result.returncode == 0, result.stderr[-3000:]
    runs = run_dirs(cli.output_dir)
    assert len(runs) == 2
    for run_dir in runs:
        record = read_metrics(run_dir)
        assert record["status"] == "completed", record
        assert {"val/loss", "test/loss"} <= set(record["metrics"])
    assert read_hparams(runs[-1])["model/name"] == "tiny_affine"

