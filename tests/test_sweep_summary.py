"""The sweep summary: repeats over seeds as n / mean / sd / 95% CI, grouping by other keys, the picture, and a
printed table that shows what differs, each metric once, within 120 characters."""

from __future__ import annotations

import csv
import json
import math
import statistics
from pathlib import Path

import pytest

from conftest import read_events
from glossary_exp.sweep.summary import main as summary_main
from glossary_exp.sweep.summary import summarize

# The classifier's metrics (val/best_acc and best/val/acc are the same number), as mnist_mlp jobs record them.
T_975_DF1, T_975_DF3 = 12.706, 3.182  # Student's t quantiles from any table


def write_job(sweep_dir: Path, num: int, overrides: list[str], metrics: dict[str, float], status: str = "completed",
              error: str | None = None) -> None:
    job = sweep_dir / f"{num}_job"
    job.mkdir(parents=True)
    record = {"status": status, "overrides": overrides, "monitor": ["val/acc", "max"], "metrics": metrics,
              "duration_s": 12.5 + num, "error": error}
    (job / "metrics.json").write_text(json.dumps(record))


def classifier_metrics(acc: float) -> dict[str, float]:
    return {"val/acc": acc - 0.01, "val/best_acc": acc, "best/val/acc": acc, "val/loss": 1 - acc,
            "test/acc": acc - 0.02,
            "test/loss": 1.1 - acc, "train/acc": acc + 0.01, "train/loss": 0.9 - acc, "lr": 0.001}


# acc of each (optimizer, lr, seed): the numbers the statistics are checked against.
ACC = {("sgd", "0.1", 1): 0.91, ("sgd", "0.1", 2): 0.93, ("sgd", "0.01", 1): 0.95, ("sgd", "0.01", 2): 0.96,
       ("adam", "0.1", 1): 0.80, ("adam", "0.1", 2): 0.86, ("adam", "0.01", 1): 0.97, ("adam", "0.01", 2): 0.98}


@pytest.fixture
def repeated_sweep(tmp_path: Path) -> Path:
    for num, ((opt, lr, seed), acc) in enumerate(ACC.items()):
        overrides = ["experiment=mnist_mlp", f"optimizer={opt}", f"optimizer.lr={lr}", f"seed={seed}"]
        write_job(tmp_path, num, overrides, classifier_metrics(acc))
    write_job(tmp_path, len(ACC), ["experiment=mnist_mlp", "optimizer=adam", "optimizer.lr=0.01", "seed=3"], {},
              status="failed", error="NonFiniteLossError: " + "training loss became nan at step 7 " * 5)
    return tmp_path


def groups_csv(sweep_dir: Path) -> dict[str, dict[str, str]]:
    with open(sweep_dir / "summary_groups.csv", newline="") as handle:
        return {row["group"]: row for row in csv.DictReader(handle)}


def test_jobs_that_differ_only_in_seed_become_statistics(repeated_sweep: Path) -> None:
    text = summarize(repeated_sweep)
    groups = groups_csv(repeated_sweep)
    assert len(groups) == 4
    for (opt, lr) in {(o, r) for o, r, _ in ACC}:
        values = [acc for (o, r, _), acc in ACC.items() if (o, r) == (opt, lr)]
        row = groups[f"optimizer={opt} optimizer.lr={lr}"]
        mean, sd = statistics.fmean(values), statistics.stdev(values)
        half = T_975_DF1 * sd / math.sqrt(2)
        assert int(row["best/val/acc n"]) == 2  # the failed seed=3 job is no value
        assert float(row["best/val/acc mean"]) == pytest.approx(mean)
        assert float(row["best/val/acc sd"]) == pytest.approx(sd)
        assert float(row["best/val/acc ci_low"]) == pytest.approx(mean - half, rel=1e-3)
        assert float(row["best/val/acc ci_high"]) == pytest.approx(mean + half, rel=1e-3)
    printed_groups = [line.split("|")[1].strip() for line in text.split("Groups (")[1].splitlines()
                      if line.startswith("| ") and "optimizer" in line]
    assert printed_groups == ["optimizer=adam optimizer.lr=0.01", "optimizer=sgd optimizer.lr=0.01",
                              "optimizer=sgd optimizer.lr=0.1", "optimizer=adam optimizer.lr=0.1"]  # by mean, best 1st
    assert "Student's t" in text

    # The objective against each swept parameter, as a PNG and as a TensorBoard image in the sweep directory.
    assert (repeated_sweep / "summary.png").read_bytes().startswith(b"\x89PNG")
    assert read_events(repeated_sweep).Tags()["images"] == ["sweep/best/val/acc"]
    summarize(repeated_sweep)  # a second summary replaces the picture rather than adding one
    assert len(read_events(repeated_sweep).Images("sweep/best/val/acc")) == 1


def test_summary_by_another_key(repeated_sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert summary_main([str(repeated_sweep), "--by", "optimizer"]) == 0
    printed = capsys.readouterr().out
    assert "Groups (by optimizer)" in printed
    groups = groups_csv(repeated_sweep)
    assert set(groups) == {"optimizer=sgd", "optimizer=adam"}
    sgd = [acc for (o, _, _), acc in ACC.items() if o == "sgd"]
    assert int(groups["optimizer=sgd"]["best/val/acc n"]) == 4
    assert float(groups["optimizer=sgd"]["best/val/acc ci_high"]) == pytest.approx(
        statistics.fmean(sgd) + T_975_DF3 * statistics.stdev(sgd) / 2, rel=1e-3)


def test_the_printed_table_shows_what_differs_and_each_metric_once_within_120_characters(
        repeated_sweep: Path) -> None:
    text = summarize(repeated_sweep)
    assert max(len(line) for line in text.splitlines()) <= 120, text
    header = next(line for line in text.splitlines() if line.startswith("| job"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells[:3] == ["job", "status", "overrides"] and "best/val/acc" in cells
    assert "val/best_acc" not in cells and "lr" not in cells  # the same numbers as best/val/acc; the lr override
    assert len(cells) == len(set(cells))
    row = next(line for line in text.splitlines() if line.startswith("| 8 "))
    assert "failed" in row and "optimizer=adam optimizer.lr=0.01 seed=3" in row
    assert "  job 8: NonFiniteLossError: training loss became nan" in text  # below the table, not a wide column
    assert "experiment=mnist_mlp" not in header + row and "Every job: experiment=mnist_mlp" in text
    with open(repeated_sweep / "summary.csv", newline="") as handle:
        full = list(csv.DictReader(handle))
    assert {"val/best_acc", "lr", "run_dir"} <= set(full[0])  # the CSV keeps everything


def test_a_real_sweep_over_seeds_gives_the_computable_minimum(cli, capsys: pytest.CaptureFixture[str]) -> None:
    # x_{t+1} = (1 - 2 lr) x_t from x_0 = 10 for 100 steps: the seed changes nothing, so sd is 0.
    done = cli("-m", "experiment=quadratic_gd", "optimizer.lr=0.1,0.2", "seed=1,2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert max(len(line) for line in done.stdout[done.stdout.index("\n| job"):].splitlines()) <= 120
    (sweep_dir,) = cli.output_dir.glob("quadratic_gd/multirun_*")
    groups = groups_csv(sweep_dir)
    for lr in (0.1, 0.2):
        row = groups[f"optimizer.lr={lr}"]
        assert int(row["x n"]) == 2 and float(row["x sd"]) == 0
        assert float(row["x mean"]) == pytest.approx(10 * (1 - 2 * lr) ** 100, rel=1e-4)
    assert (sweep_dir / "summary.png").is_file()
