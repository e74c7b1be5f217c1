"""docs/plugins.md's example plugin as the page shows it: registered, configured, run, its metrics where it says."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from conftest import REPO, read_hparams, read_metrics, run_dirs, run_in_process

PAGE = REPO / "docs" / "plugins.md"


def blocks(language: str) -> list[str]:
    """The ``language`` code blocks of the page's complete example."""
    example = PAGE.read_text().split("### A complete example", 1)[1].split("\n### ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", example, flags=re.S)


@pytest.fixture(scope="module")
def searchpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The page's plugin.py imported (its classes registered) and its YAML files in a config directory."""
    root = tmp_path_factory.mktemp("docs_plugin")
    (module,) = blocks("python")
    if "docs_line_fit_plugin" not in sys.modules:  # registering twice in one process would be refused
        (root / "docs_line_fit_plugin.py").write_text(module)
        spec = importlib.util.spec_from_file_location("docs_line_fit_plugin", root / "docs_line_fit_plugin.py")
        sys.modules["docs_line_fit_plugin"] = plugin = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(plugin)
    model, data, experiment = blocks("yaml")
    for group, text in (("model/line_fit", model), ("data/noisy_line", data), ("experiment/line_fit", experiment)):
        (root / "conf" / group).parent.mkdir(parents=True, exist_ok=True)
        (root / "conf" / f"{group}.yaml").write_text(text)
    return f"hydra.searchpath=[file://{root / 'conf'}]"


def test_the_pages_example_runs_and_reports_what_the_page_says(searchpath: str, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    result = run_in_process("experiment=line_fit", searchpath, output_dir=outputs)
    assert result.returncode == 0, result.stderr
    (run,) = run_dirs(outputs)
    assert run.parent.name == "line_fit"  # the preset's name, though it sets no name:
    metrics = read_metrics(run)["metrics"]
    assert {"train/loss", "val/loss", "val/mae", "test/mae", "best/val/mae", "slope", "intercept"} <= set(metrics)
    assert metrics["best/val/mae"] <= metrics["val/mae"] + 1e-9 and abs(metrics["slope"] - 2) < 0.5
    assert (run / "checkpoints" / "best.ckpt").is_file()
    hparams = read_hparams(run)  # the HParams dashboard shows its settings
    assert hparams["model/name"] == "line_fit" and hparams["optimizer/lr"] == 0.05 and "model/bias" in hparams


def test_a_misspelt_monitor_is_refused_with_the_models_metrics(searchpath: str, tmp_path: Path) -> None:
    result = run_in_process("experiment=line_fit", searchpath, "callbacks.checkpoint.monitor=val/mea",
                            output_dir=tmp_path / "outputs")
    assert result.returncode == 2
    assert "callbacks.checkpoint.monitor='val/mea' is not a metric this run logs during fit (did you mean val/mae?)" \
        in result.stderr
