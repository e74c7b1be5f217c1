"""Random images (glossary: Dataset): 100 random 3x32x32 images with 10-class labels, for tests and demos."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from glossary_exp.data.tensors import Split
from glossary_exp.registry import register
from glossary_exp.vision.images import ImageDataModule, carve

NORMALIZE = {"normalize": {"mean": [0.5], "std": [0.5]}}


@register("data", "random_images")
class RandomImages(ImageDataModule):
    """Seeded uint8 noise and labels; ``val_fraction`` and ``test_fraction`` of them held out."""

    def __init__(self, samples: int = 100, num_classes: int = 10, channels: int = 3, size: int = 32,
                 batch_size: int = 16, val_fraction: float = 0.1, test_fraction: float = 0.1, split_seed: int = 0,
                 data_seed: int = 0, transforms: Mapping[str, Any] | None = None) -> None:
        super().__init__(batch_size, NORMALIZE if transforms is None else transforms, val_fraction, split_seed)
        self.samples, self.channels, self.size, self.data_seed = samples, channels, size, data_seed
        self.test_fraction = test_fraction
        self.classes = [f"class {k}" for k in range(num_classes)]

    def load(self) -> dict[str, Split]:
        generator = torch.Generator().manual_seed(self.data_seed)  # same data whatever the run's seed
        shape = (self.samples, self.channels, self.size, self.size)
        images = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)  # (N, C, H, W)
        labels = torch.randint(0, len(self.classes), (self.samples,), generator=generator)  # (N,)
        train, test = carve((images, labels), self.test_fraction, self.split_seed + 1, "test_fraction")
        return {"train": train, "test": test}
