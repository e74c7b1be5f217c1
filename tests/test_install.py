"""A regular (non-editable) install finds its configs and plugins when run from another directory."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import QUIET, REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    src = out / "src"  # build from a copy: building in the repo would leave build/ behind
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(src)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(src)], check=True)
    (path,) = out.glob("glossary_exp-*.whl")
    return path


def test_wheel_carries_configs_and_the_hydra_plugin(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "glossary_exp/conf/config.yaml" in names
    assert "glossary_exp/conf/experiment/sine_cubic.yaml" in names
    assert "glossary_exp/conf/hydra/job_logging/glossary.yaml" in names
    assert "hydra_plugins/glossary_exp_searchpath/glossary_exp_searchpath.py" in names
    assert not any(name.startswith("hydra_plugins/__init__") for name in names)  # a namespace package


def test_installed_wheel_runs_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The installed copy comes first on the path, ahead of the editable checkout.
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import glossary_exp; print(glossary_exp.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(site))
    result = subprocess.run([sys.executable, "-m", "glossary_exp", "experiment=quadratic_gd", *QUIET],
                            cwd=elsewhere, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert list((elsewhere / "outputs" / "quadratic_gd").glob("*/metrics.json"))
