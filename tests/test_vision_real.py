"""The real datasets, when the mirror is there (CI points GLOSSARY_EXP_DATASET_MIRROR at shared/datasets)."""

from __future__ import annotations

import pytest

from conftest import DATASET_MIRROR, data_cache, read_metrics, run_dirs
from glossary_exp.vision.cifar10 import CIFAR10Data
from glossary_exp.vision.mnist import MNISTData

pytestmark = pytest.mark.skipif(not DATASET_MIRROR.is_dir(), reason=f"no dataset mirror at {DATASET_MIRROR}; "
                                "set GLOSSARY_EXP_DATASET_MIRROR to a copy of shared/datasets")


def split_sizes(data: MNISTData | CIFAR10Data) -> tuple[int, int]:
    data.setup()
    return len(data.splits["train"][0]) + len(data.splits["val"][0]), len(data.splits["test"][0])


def test_mnist_loads_60000_and_10000() -> None:
    data = MNISTData(root=str(data_cache()), mirror=str(DATASET_MIRROR))
    assert split_sizes(data) == (60_000, 10_000)
    assert data.splits["test"][0].shape[1:] == (1, 28, 28)


def test_cifar10_copy_loads_50000_and_10000_in_10_classes() -> None:
    data = CIFAR10Data(root=str(data_cache()), mirror=str(DATASET_MIRROR))
    assert split_sizes(data) == (50_000, 10_000)
    assert data.source == "jpeg" and len(data.classes) == 10
    assert set(data.splits["test"][1].tolist()) == set(range(10))
    assert data.splits["test"][0].shape[1:] == (3, 32, 32)


def test_one_mnist_mlp_epoch_passes_90_percent(cli) -> None:
    env = {"GLOSSARY_EXP_DATASET_MIRROR": str(DATASET_MIRROR), "GLOSSARY_EXP_DATA_DIR": str(data_cache())}
    result = cli("experiment=mnist_mlp", "trainer.max_epochs=1", "seed=0", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = run_dirs(cli.output_dir)
    assert read_metrics(run)["metrics"]["test/acc"] > 0.90
