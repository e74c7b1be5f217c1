"""A missing optional extra is one line naming the pip extra, and the refused sweep leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import QUIET

# (what the command asks for, the package it needs, the extra that installs it)
EXTRAS = [
    (("hparams_search=sine_cubic",), "optuna", "optuna"),
    (("hydra/launcher=parallel", "experiment=quadratic_gd", "optimizer.lr=0.1,0.2"), "joblib", "parallel"),
    (("hydra/launcher=ray_local", "experiment=quadratic_gd", "optimizer.lr=0.1,0.2"), "ray", "ray"),
    (("hydra/launcher=slurm", "experiment=quadratic_gd", "optimizer.lr=0.1,0.2"), "submitit", "slurm"),
]


@pytest.mark.parametrize("arguments,package,extra", EXTRAS, ids=[e for _, _, e in EXTRAS])
def test_a_missing_extra_names_the_pip_extra(tmp_path: Path, arguments: tuple[str, ...], package: str,
                                             extra: str) -> None:
    # The package made unimportable, as on a machine that installed only the base package.
    (tmp_path / "hide" / package).mkdir(parents=True)
    (tmp_path / "hide" / package / "__init__.py").write_text(
        f"raise ModuleNotFoundError(\"No module named '{package}'\", name='{package}')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "hide")}
    outputs = tmp_path / "outputs"
    result = subprocess.run([sys.executable, "-m", "glossary_exp", "-m", *arguments, f"paths.output_dir={outputs}",
                             *QUIET], capture_output=True, text=True, env=env)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    expected = f"error: this needs {package}, which is not installed: pip install 'glossary-exp[{extra}]'\n"
    assert result.stderr == expected
    assert not outputs.exists()  # no sweep directory either
