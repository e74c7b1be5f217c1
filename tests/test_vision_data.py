"""Vision data plugins on tiny synthetic files: shapes, labels, splits, the cache, the mirror, error messages."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from glossary_exp.errors import ConfigError, DataError
from glossary_exp.vision import mnist
from glossary_exp.vision.cifar10 import CIFAR10Data
from glossary_exp.vision.folder import ImageFolderData
from glossary_exp.vision.mnist import MNISTData
from glossary_exp.vision.random_images import RandomImages


def write_idx(path: Path, array: np.ndarray) -> None:
    """An idx file as MNIST ships it: big-endian magic (0x800 + dims), one int32 per dimension, bytes."""
    header = np.array([0x800 + array.ndim, *array.shape], dtype=">i4").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


def fake_mnist(base: Path, train: int = 50, test: int = 20) -> Path:
    """``base/MNIST/raw`` with ``train`` and ``test`` images whose pixels encode their label."""
    for split, count in (("train", train), ("test", test)):
        labels = np.arange(count) % 10
        images = np.broadcast_to(labels[:, None, None] * 20, (count, 28, 28))
        image_file, label_file = mnist.FILES[split]
        write_idx(base / mnist.RAW / image_file, images)
        write_idx(base / mnist.RAW / label_file, labels)
    return base / mnist.RAW


def class_tree(base: Path, splits: dict[str, int], size: tuple[int, int] = (8, 8),
               classes: tuple[str, ...] = ("ant", "bee", "cat")) -> Path:
    """``base/<split>/<class>/<n>.png``, each image filled with its class index."""
    for split, per_class in splits.items():
        for index, name in enumerate(classes):
            (base / split / name).mkdir(parents=True, exist_ok=True)
            for n in range(per_class):
                pixels = np.full((*size[::-1], 3), 40 * index + n, dtype=np.uint8)
                Image.fromarray(pixels).save(base / split / name / f"{n}.png")
    return base


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(directory.rglob("*"))}


def test_mnist_from_the_mirror_shapes_labels_split_and_a_mirror_left_untouched(tmp_path: Path) -> None:
    mirror, root = tmp_path / "mirror", tmp_path / "data"
    fake_mnist(mirror)
    before = snapshot(mirror)
    data = MNISTData(root=str(root), mirror=str(mirror), val_fraction=0.2)
    data.setup()
    train, val, test = (data.splits[s] for s in ("train", "val", "test"))
    assert (len(train[0]), len(val[0]), len(test[0])) == (40, 10, 20)
    assert train[0].shape[1:] == (1, 28, 28) and train[0].dtype == torch.uint8 and train[1].dtype == torch.long
    for images, labels in (train, val, test):
        assert torch.equal(images[:, 0, 0, 0].long(), labels * 20)  # each image still beside its label
    assert data.classes == [str(d) for d in range(10)]
    assert snapshot(mirror) == before
    assert list((root / "cache").glob("mnist-*.pt"))  # the decoded copy lives under root


def test_mnist_second_load_reads_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_mnist(tmp_path / "data")
    first = MNISTData(root=str(tmp_path / "data"))
    first.setup()

    def no_decoding(*args: object) -> None:
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(mnist, "read_split", no_decoding)
    second = MNISTData(root=str(tmp_path / "data"))
    second.setup()
    assert all(torch.equal(a, b) for s in first.splits for a, b in zip(first.splits[s], second.splits[s], strict=True))


def test_validation_split_is_seeded_disjoint_and_complete() -> None:
    def val_labels(split_seed: int) -> list[int]:
        data = RandomImages(samples=100, val_fraction=0.2, test_fraction=0.1, split_seed=split_seed)
        data.setup()
        train, val = data.splits["train"], data.splits["val"]
        assert len(train[0]) + len(val[0]) == 90 and len(val[0]) == 18
        all_images = {tuple(x.flatten().tolist()) for x in torch.cat([train[0], val[0], data.splits["test"][0]])}
        assert len(all_images) == 100  # nothing lost, nothing twice
        return [*val[1].tolist(), int(val[0].float().sum())]

    assert val_labels(0) == val_labels(0)
    assert val_labels(0) != val_labels(1)


def test_random_images_are_the_dataset_entry() -> None:
    data = RandomImages()
    data.setup()
    images = torch.cat([data.splits[s][0] for s in ("train", "val", "test")])
    labels = torch.cat([data.splits[s][1] for s in ("train", "val", "test")])
    assert images.shape == (100, 3, 32, 32) and labels.min() >= 0 and labels.max() <= 9
    assert len(data.classes) == 10


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_a_split_fraction_that_leaves_nothing_is_a_config_error(fraction: float) -> None:
    with pytest.raises(ConfigError, match=r"data\.val_fraction"):
        RandomImages(val_fraction=fraction).setup()


def test_missing_mnist_names_the_files_the_places_and_the_mirror_setting(tmp_path: Path) -> None:
    data = MNISTData(root=str(tmp_path / "data"), mirror=str(tmp_path / "mirror"), download=False)
    (tmp_path / "mirror").mkdir()
    with pytest.raises(DataError) as err:
        data.setup()
    message = str(err.value)
    for expected in ("MNIST/raw/train-images-idx3-ubyte.gz", str(tmp_path / "mirror"), str(tmp_path / "data"),
                     "GLOSSARY_EXP_DATASET_MIRROR", "paths.dataset_mirror"):
        assert expected in message


def test_no_network_says_the_download_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    def offline(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried https://...")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DataError, match=r"downloading failed \(Error downloading train-images-idx3-ubyte.gz:\)"):
        MNISTData(root=str(tmp_path / "data")).setup()


@pytest.mark.parametrize("damage", ["truncate", "flip_a_byte"])
def test_a_damaged_archive_is_reported_with_its_checksum(tmp_path: Path, damage: str) -> None:
    raw = fake_mnist(tmp_path / "data")
    path = raw / "train-images-idx3-ubyte.gz"
    content = bytearray(path.read_bytes())
    if damage == "truncate":
        content = content[: len(content) // 2]
    else:
        content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz is truncated or corrupt .*md5 [0-9a-f]{32}, "
                                        r"the official file has f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        MNISTData(root=str(tmp_path / "data"), cache=False).setup()


def test_an_unofficial_but_readable_archive_is_used_with_a_warning(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    fake_mnist(tmp_path / "data")
    with caplog.at_level(logging.WARNING):
        MNISTData(root=str(tmp_path / "data"), cache=False).setup()
    assert "is not the official archive" in caplog.text


def test_image_folder_classes_labels_resize_and_carved_splits(tmp_path: Path) -> None:
    class_tree(tmp_path / "images", {"train": 10, "test": 2}, size=(12, 6))
    data = ImageFolderData(path=str(tmp_path / "images"), root=str(tmp_path / "data"), val_fraction=0.2,
                           transforms={"resize": [4, 4]}, num_workers=2)
    data.setup()
    assert data.classes == ["ant", "bee", "cat"]
    assert [len(data.splits[s][0]) for s in ("train", "val", "test")] == [24, 6, 6]  # no val/: carved from train
    images, labels = data.splits["test"]
    assert images.shape == (6, 3, 4, 4) and images.dtype == torch.uint8
    assert labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert images[:, 0, 0, 0].tolist() == [0, 1, 40, 41, 80, 81]  # pixel value = 40 * class + n


def test_image_folder_uses_its_own_val_and_carves_a_missing_test(tmp_path: Path) -> None:
    class_tree(tmp_path / "images", {"train": 10, "val": 3})
    data = ImageFolderData(path=str(tmp_path / "images"), root=str(tmp_path / "data"), test_fraction=0.1,
                           transforms={})
    data.setup()
    assert [len(data.splits[s][0]) for s in ("train", "val", "test")] == [27, 9, 3]


@pytest.mark.parametrize("problem,message", [
    ("no_train", "has no train/ folder; expected"),
    ("mixed_sizes", "set data.transforms.resize"),
    ("not_an_image", "is not a readable image"),
    ("unknown_class", "class 'dog' is not among train/'s classes"),
])
def test_image_folder_problems_are_data_errors(tmp_path: Path, problem: str, message: str) -> None:
    base = tmp_path / "images"
    if problem == "no_train":
        base.mkdir()
    else:
        class_tree(base, {"train": 2, "test": 1})
    if problem == "mixed_sizes":
        Image.fromarray(np.zeros((5, 7, 3), dtype=np.uint8)).save(base / "train" / "bee" / "odd.png")
    if problem == "not_an_image":
        (base / "train" / "ant" / "broken.jpg").write_bytes(b"not a jpeg")
    if problem == "unknown_class":
        class_tree(base, {"test": 1}, classes=("dog",))
    with pytest.raises(DataError, match=message):
        ImageFolderData(path=str(base), root=str(tmp_path / "data"), transforms={}, cache=False).setup()


def test_image_folder_needs_a_path() -> None:
    with pytest.raises(ConfigError, match=r"data\.path is not set"):
        ImageFolderData()


def test_cifar10_reads_the_class_folder_copy_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class_tree(tmp_path / "mirror" / "cifar10-jpg", {"train": 4, "test": 2}, size=(32, 32))
    data = CIFAR10Data(root=str(tmp_path / "data"), mirror=str(tmp_path / "mirror"), val_fraction=0.25)
    with caplog.at_level(logging.INFO):
        data.setup()
    assert data.source == "jpeg" and "class-folder JPEG copy" in caplog.text
    assert [len(data.splits[s][0]) for s in ("train", "val", "test")] == [9, 3, 6]
    assert data.splits["train"][0].shape[1:] == (3, 32, 32)


def test_cifar10_and_image_folder_over_the_class_folder_copy_decode_it_once(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The image_folder preset reads the mirror's CIFAR-10 folders at 32x32: the cache cifar10 wrote serves it."""
    from glossary_exp.vision import folder

    copy = class_tree(tmp_path / "mirror" / "cifar10-jpg", {"train": 4, "test": 2}, size=(32, 32))
    data_dir = tmp_path / "data"
    cifar = CIFAR10Data(root=str(data_dir), mirror=str(copy.parent))
    cifar.setup()

    def no_decoding(*args: object) -> None:
        raise AssertionError("decoded again despite the cache")

    monkeypatch.setattr(folder, "decode_images", no_decoding)
    images = ImageFolderData(path=str(copy), root=str(data_dir), transforms={"resize": [32, 32]})
    images.setup()
    assert len(list((data_dir / "cache").iterdir())) == 1
    assert torch.equal(images.splits["test"][0], cifar.splits["test"][0])


def test_cifar10_prefers_the_official_archive_and_checks_it(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    class_tree(mirror / "cifar10-jpg", {"train": 1, "test": 1}, size=(32, 32))
    (mirror / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b" + b"\0" * 100)  # a truncated download
    with pytest.raises(DataError, match=r"cifar-10-python.tar.gz is truncated or corrupt \(checksum mismatch; md5 "):
        CIFAR10Data(root=str(tmp_path / "data"), mirror=str(mirror)).setup()
    assert not (tmp_path / "data" / "cifar-10-batches-py").exists()


def test_missing_cifar10_lists_both_copies(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"CIFAR-10 not found: expected cifar-10-python.tar.gz .*cifar10-jpg/"):
        CIFAR10Data(root=str(tmp_path / "data"), download=False).setup()


def test_batches_are_pinned_only_when_asked() -> None:
    from glossary_exp.data.batches import TensorBatches

    x = torch.arange(10)
    assert not any(t.is_pinned() for batch in TensorBatches(x, batch_size=4) for t in batch)
    if not torch.cuda.is_available():
        pytest.skip("pinning page-locked memory needs a CUDA device")
    assert all(t.is_pinned() for batch in TensorBatches(x, batch_size=4, pin_memory=True) for t in batch)


def test_a_cpu_run_does_not_pin() -> None:
    import lightning.pytorch as pl

    data = RandomImages()
    assert data.pin_memory() is False  # no trainer yet
    data.trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
    assert data.pin_memory() is False


def test_a_writable_dataset_mirror_is_only_read(tmp_path: Path) -> None:
    """The mirror is read from and never written, even when the user running could write it."""
    from PIL import Image

    from conftest import run_cli, snapshot

    mirror = tmp_path / "mirror"
    for split, count in (("train", 3), ("test", 1)):
        for k, name in enumerate(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                  "truck"]):
            folder = mirror / "cifar10-jpg" / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (32, 32), (25 * k, 10 * i, 128)).save(folder / f"{i:04d}.jpg")
    before = snapshot(mirror)
    data_dir = tmp_path / "data"
    result = run_cli("experiment=cifar10_cnn", f"paths.dataset_mirror={mirror}", f"paths.data_dir={data_dir}",
                     "trainer.max_epochs=1", "data.batch_size=4", "data.val_fraction=0.2",
                     output_dir=tmp_path / "outputs")
    assert result.returncode == 0, result.stderr[-2000:]
    assert snapshot(mirror) == before  # nothing written, nothing added
    assert list((data_dir / "cache").glob("folder-cifar10-jpg-*.pt"))  # the decoded cache went to data_dir
