"""The vision examples as users run them: the real CLI in a subprocess, on tiny data."""

from __future__ import annotations

from pathlib import Path

from test_vision_data import class_tree

from conftest import read_events, read_metrics, run_dirs


def test_a_classifier_run_logs_accuracy_and_test_pictures(cli) -> None:
    result = cli("model=cifar_cnn", "data=random_images", "trainer.max_epochs=2", "trainer.log_every_n_steps=2",
                 "seed=0")
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = run_dirs(cli.output_dir)
    metrics = read_metrics(run)["metrics"]
    for key in ("train/acc", "val/acc", "val/best_acc", "best/val/acc", "test/acc", "test/loss"):
        assert 0 <= metrics[key] <= (1 if "acc" in key else 100), key
    events = read_events(run)
    assert {"train/loss", "train/acc", "val/acc", "val/best_acc", "test/acc"} <= set(events.Tags()["scalars"])
    assert {"test/predictions", "test/confusion_matrix"} <= set(events.Tags()["images"])


def test_an_image_folder_run(cli, tmp_path: Path) -> None:
    images = class_tree(tmp_path / "images", {"train": 8, "test": 2}, size=(20, 12))
    result = cli("experiment=image_folder", f"data.path={images}", f"paths.data_dir={tmp_path / 'data'}",
                 "data.transforms.resize=[16,16]", "model.image_size=16", "model.num_classes=3",
                 "trainer.max_epochs=1")
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = run_dirs(cli.output_dir)
    assert read_metrics(run)["status"] == "completed"
    assert "ImageFolderData: train 22, val 2, test 6, 3 classes" in (run / "run.log").read_text()


def test_missing_data_is_one_line_saying_what_to_put_where(cli, tmp_path: Path) -> None:
    result = cli("experiment=mnist_mlp", f"paths.data_dir={tmp_path / 'empty'}", "paths.dataset_mirror=null",
                 "data.download=false")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: MNIST not found: expected MNIST/raw/train-images-idx3-ubyte.gz")
    assert str(tmp_path / "empty") in line and "GLOSSARY_EXP_DATASET_MIRROR" in line
