"""A real third-party package adds a model, data and an experiment: pip install, then use it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import PLUGIN_PACKAGE, REPO, install_tiny_plugin, read_hparams, read_metrics, run_dirs


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return install_tiny_plugin(tmp_path_factory)


def test_plugin_names_are_unknown_without_the_package(cli) -> None:
    result = cli("model=tiny_affine")
    assert result.returncode == 2 and "error: model=tiny_affine is not an option" in result.stderr


def test_installed_plugin_is_listed(installed_plugin: dict[str, str], cli) -> None:
    result = subprocess.run([sys.executable, "-m", "glossary_exp", "list"], capture_output=True, text=True,
                            check=True, env=installed_plugin)
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert "tiny_affine" in lines["models"].split(", ")
    assert "tiny_points" in lines["datasets"].split(", ")
    assert "tiny" in lines["experiments"].split(", ")
    assert "tiny = tiny_glossary_plugin.plugin" in lines["plugins"]


def test_installed_plugin_runs_through_the_cli(installed_plugin: dict[str, str], cli) -> None:
    for choice in (["model=tiny_affine", "data=tiny_points"], ["experiment=tiny"]):
        result = cli(*choice, env={"PYTHONPATH": installed_plugin["PYTHONPATH"]})
        assert result.returncode == 0, result.stderr[-3000:]
    runs = run_dirs(cli.output_dir)
    assert len(runs) == 2
    for run_dir in runs:
        record = read_metrics(run_dir)
        assert record["status"] == "completed", record
        assert {"val/loss", "test/loss"} <= set(record["metrics"])
    assert read_hparams(runs[-1])["model/name"] == "tiny_affine"



def test_the_plugins_search_preset_from_the_readme_runs(installed_plugin: dict[str, str], cli) -> None:
    done = cli("-m", "hparams_search=tiny", "hydra.sweeper.n_trials=2",
               env={"PYTHONPATH": installed_plugin["PYTHONPATH"]})
    assert done.returncode == 0, done.stderr[-3000:]
    (sweep_dir,) = cli.output_dir.glob("tiny/multirun_*")
    records = [read_metrics(job) for job in sorted(p.parent for p in sweep_dir.glob("*/metrics.json"))]
    assert [r["status"] for r in records] == ["completed", "completed"]
    assert "optimizer.lr=0.05" in records[0]["overrides"]  # the enqueued trial first
    page = (REPO / "docs" / "plugins.md").read_text()
    preset = (PLUGIN_PACKAGE / "src" / "tiny_glossary_plugin" / "conf" / "hparams_search" / "tiny.yaml").read_text()
    assert preset in page  # the plugin page shows this very file
