"""The glossary's regression examples, run as a user runs them: the CLI in a subprocess."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from conftest import read_events, read_hparams, read_metrics, run_cli, run_dirs


@pytest.fixture(scope="module")
def sine_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    output_dir = tmp_path_factory.mktemp("sine") / "outputs"
    output_dir.mkdir()
    result = run_cli("experiment=sine_cubic", "seed=1", output_dir=output_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(output_dir)
    return result.stdout, run_dir


def test_sine_cubic_prints_like_the_document(sine_run: tuple[str, Path]) -> None:
    stdout, run_dir = sine_run
    steps = [int(m.group(1)) for m in re.finditer(r"^(\d+) (\d+\.\d+(?:e[-+]\d+)?)$", stdout, re.M)]
    assert steps == list(range(99, 2000, 100))
    result = re.search(r"Result: y = (\S+) \+ (\S+) x \+ (\S+) x\^2 \+ (\S+) x\^3", stdout)
    assert result, stdout[-2000:]
    a, b, c, d = map(float, result.groups())
    # The document's fit: roughly sin(x) ~ x - x^3/6 on [-pi, pi].
    assert abs(a) < 0.1 and 0.7 < b < 0.95 and abs(c) < 0.1 and -0.12 < d < -0.07
    assert f"Run directory: {run_dir}" in stdout


def test_sine_cubic_tensorboard_has_loss_lr_plot_and_hparams(sine_run: tuple[str, Path]) -> None:
    _, run_dir = sine_run
    events = read_events(run_dir)
    tags = events.Tags()
    assert {"train/loss", "lr"} <= set(tags["scalars"])
    assert "fit/sin_vs_cubic" in tags["images"]
    losses = [e.value for e in events.Scalars("train/loss")]
    assert losses[-1] < losses[0]
    hparams = read_hparams(run_dir)
    assert hparams["optimizer/lr"] == pytest.approx(1e-6)
    assert hparams["seed"] == 1 and hparams["name"] == "sine_cubic"
    assert "hp_metric" not in tags["scalars"]


def test_linear_regression_learns_weight_two(cli) -> None:
    result = cli("experiment=linear_regression")
    assert result.returncode == 0, result.stderr[-3000:]
    epochs = re.findall(r"^Epoch (\d+), Loss: \d+\.\d{4}$", result.stdout, re.M)
    assert epochs == [str(e) for e in range(100, 1001, 100)]
    weight, bias = map(float, re.search(r"Learned weight: (\S+), bias: (\S+)", result.stdout).groups())
    metrics = read_metrics(run_dirs(cli.output_dir)[0])["metrics"]
    assert abs(weight - 2) < 0.05 and metrics["weight"] == pytest.approx(weight, abs=1e-4)
    assert metrics["bias"] == pytest.approx(bias, abs=1e-4)


def test_quadratic_gd_ends_where_the_arithmetic_says(cli) -> None:
    result = cli("experiment=quadratic_gd")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = read_metrics(run_dirs(cli.output_dir)[0])["metrics"]
    assert metrics["x"] == pytest.approx(10 * 0.8**100, rel=1e-3)  # about 2.04e-9


def test_random_regression_with_sgd_and_adam_in_one_sweep(cli) -> None:
    result = cli("-m", "experiment=random_regression,random_regression_mlp", "optimizer=sgd,adam",
                 "trainer.max_epochs=3")
    assert result.returncode == 0, result.stderr[-3000:]
    runs = run_dirs(cli.output_dir)
    assert len(runs) == 4
    seen = set()
    for run_dir in runs:
        record = read_metrics(run_dir)
        assert record["status"] == "completed", record
        assert math.isfinite(record["metrics"]["test/loss"])
        hparams = read_hparams(run_dir)
        seen.add((hparams["model/hidden"], hparams["optimizer/name"]))
    assert seen == {(0, "sgd"), (0, "adam"), (5, "sgd"), (5, "adam")}
