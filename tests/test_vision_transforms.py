"""Batched transforms: per-image random draws, determinism under a seed, nothing random at evaluation."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from glossary_exp.errors import ConfigError
from glossary_exp.vision.random_images import RandomImages
from glossary_exp.vision.transforms import BatchTransform, rotate

CIFAR = {"hflip": 0.5, "rotate": 15, "normalize": {"mean": [0.5] * 3, "std": [0.5] * 3}}


def same_images(count: int = 64) -> torch.Tensor:
    """``count`` copies of one asymmetric 3x16x16 image: augmentation alone makes them differ."""
    image = torch.arange(3 * 16 * 16, dtype=torch.int64).reshape(3, 16, 16) % 251
    return image.to(torch.uint8).expand(count, -1, -1, -1).contiguous()


def distinct(batch: torch.Tensor) -> int:
    return len({tuple(image.flatten().tolist()) for image in batch})


def test_normalize_maps_0_and_255_to_the_configured_range() -> None:
    transform = BatchTransform.from_config({"normalize": {"mean": [0.5], "std": [0.25]}})
    x = torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1)
    assert transform(x, train=True).flatten().tolist() == pytest.approx([-2.0, 2.0])
    assert transform.undo(transform(x, train=False)).flatten().tolist() == pytest.approx([0.0, 255.0], abs=1e-4)


def test_imagenet_statistics_by_name() -> None:
    transform = BatchTransform.from_config({"normalize": "imagenet"})
    x = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    expected = [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]
    assert transform(x, train=False)[0, :, 0, 0].tolist() == pytest.approx(expected, rel=1e-5)


def test_flip_draws_per_image_and_each_result_is_the_image_or_its_mirror() -> None:
    torch.manual_seed(0)
    x = same_images()
    out = BatchTransform.from_config({"hflip": 0.5})(x, train=True)
    plain = x[0].float() / 255  # no normalize step: scaled to [0, 1]
    mirrored = plain.flip(-1)
    flipped = [torch.allclose(o, mirrored) for o in out]
    assert all(torch.allclose(o, plain) or f for o, f in zip(out, flipped, strict=True))
    assert 10 < sum(flipped) < 54  # one draw for the whole batch would give 0 or 64


def test_rotation_draws_an_angle_per_image() -> None:
    torch.manual_seed(0)
    out = BatchTransform.from_config({"rotate": 15})(same_images(), train=True)
    assert distinct(out) > 32


def test_a_tiny_rotation_leaves_the_image_unchanged() -> None:
    x = same_images(4).float()
    assert torch.equal(rotate(x, 1e-6), x)


def test_same_seed_same_augmentation_other_seed_other() -> None:
    transform = BatchTransform.from_config(CIFAR)
    x = same_images()
    outputs = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        outputs.append(transform(x, train=True))
    assert torch.equal(outputs[0], outputs[1])
    assert not torch.equal(outputs[0], outputs[2])


def test_evaluation_is_never_augmented() -> None:
    torch.manual_seed(0)
    transform = BatchTransform.from_config(CIFAR)
    x = same_images()
    out = transform(x, train=False)
    assert distinct(out) == 1
    assert torch.equal(out[0], BatchTransform.from_config({"normalize": CIFAR["normalize"]})(x[:1], train=True)[0])


def test_the_datamodule_augments_only_while_training() -> None:
    data = RandomImages(samples=64, transforms=CIFAR)
    batch = (same_images(), torch.zeros(64, dtype=torch.long))
    for stage, expect_augmented in (("validating", False), ("testing", False), ("training", True)):
        data.trainer = SimpleNamespace(training=stage == "training")
        images, labels = data.on_after_batch_transfer(batch, 0)
        assert images.dtype == torch.float32 and labels is batch[1]
        assert (distinct(images) > 1) == expect_augmented, stage


def test_resize_changes_the_size_of_train_and_evaluation_batches() -> None:
    transform = BatchTransform.from_config({"resize": [8, 4]})
    for train in (True, False):
        assert transform(same_images(2), train=train).shape == (2, 3, 8, 4)


@pytest.mark.parametrize("cfg,message", [
    ({"blur": 1}, "data.transforms.blur is not a transform"),
    ({"hflip": 1.5}, "hflip is a probability"),
    ({"hflip": "often"}, "hflip is a probability"),
    ({"rotate": -1}, "largest angle"),
    ({"normalize": "cifar"}, "'imagenet' or"),
    ({"normalize": {"mean": [0.5], "std": [0.0]}}, "std > 0"),
    ({"resize": [1, 2, 3]}, "resize must be"),
    ({"resize": "big"}, "resize must be"),
])
def test_bad_pipeline_settings_name_the_key(cfg: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BatchTransform.from_config(cfg)
