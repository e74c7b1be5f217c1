"""What a user sees in TensorBoard, read through its own server's HTTP data API over a tiny sweep."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from conftest import get_json, run_cli, tensorboard_server


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output_dir = tmp_path_factory.mktemp("tensorboard") / "outputs"
    output_dir.mkdir()
    done = run_cli("-m", "experiment=random_images", "optimizer=sgd,adam", "trainer.max_epochs=1",
                   output_dir=output_dir)
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = output_dir.glob("random_images/multirun_*")
    return path


def test_tensorboard_shows_each_job_its_scalars_images_and_what_the_sweep_varied_first(sweep_dir: Path) -> None:
    jobs = sorted(p.name for p in sweep_dir.iterdir() if (p / "metrics.json").is_file())
    with tensorboard_server(sweep_dir) as url:
        # One run per job, named by its overrides, and "." for the sweep's own picture of its objective.
        assert sorted(get_json(f"{url}/data/runs")) == [".", *jobs]
        assert list(get_json(f"{url}/data/plugin/images/tags")["."]) == ["sweep/best/val/acc"]
        for job in jobs:
            query = urllib.parse.urlencode({"run": job, "tag": "train/loss"})
            points = get_json(f"{url}/data/plugin/scalars/scalars?{query}")
            steps = [step for _, step, _ in points]
            assert steps and steps == sorted(set(steps))
            scalar_tags = get_json(f"{url}/data/plugin/scalars/tags")[job]
            assert {"lr", "val/acc", "test/acc"} <= set(scalar_tags)
            assert not any(tag.startswith("lr-") for tag in scalar_tags)  # one lr tag, whatever the optimizer
            assert {"test/predictions", "test/confusion_matrix"} <= set(get_json(f"{url}/data/plugin/images/tags")[job])
        experiment = get_json(f"{url}/data/plugin/hparams/experiment", {"experimentName": ""})
    columns = [(info["name"], info.get("differs", False)) for info in experiment["hparamInfos"]]
    differing = [name for name, differs in columns if differs]
    assert "optimizer/name" in differing  # what the sweep chose
    assert columns[:len(differing)] == [(name, True) for name in differing]  # what varied comes first
    assert "accelerator/accelerator" in [name for name, differs in columns if not differs]
    metrics = {info["name"]["tag"] for info in experiment["metricInfos"]}
    assert {"val/acc", "test/acc", "val/loss"} <= metrics
