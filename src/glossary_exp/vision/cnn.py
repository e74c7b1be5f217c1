"""The glossary's Sequential CNN (conv32-pool-conv64-pool-flatten-128-10) for MNIST and, in the same shape, CIFAR-10."""

from __future__ import annotations

from torch import nn

from glossary_exp.registry import register
from glossary_exp.vision.classifier import ImageClassifier


def small_cnn(in_channels: int, image_size: int, num_classes: int) -> nn.Sequential:
    """Two 3x3 conv + 2x2 max-pool stages, then a 128-unit hidden layer."""
    flat = 64 * (image_size // 4) ** 2  # two poolings halve each side twice
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, S/2, S/2)
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, S/4, S/4)
        nn.Flatten(),
        nn.Linear(flat, 128), nn.ReLU(),
        nn.Linear(128, num_classes),
    )


@register("model", "mnist_cnn")
class MnistCNN(ImageClassifier):
    """The Sequential entry's CNN on 1x28x28 digits."""

    def __init__(self, in_channels: int = 1, image_size: int = 28, num_classes: int = 10) -> None:
        super().__init__(small_cnn(in_channels, image_size, num_classes), num_classes,
                         (in_channels, image_size, image_size))


@register("model", "cifar_cnn")
class CifarCNN(ImageClassifier):
    """The same CNN on 3x32x32 colour images."""

    def __init__(self, in_channels: int = 3, image_size: int = 32, num_classes: int = 10) -> None:
        super().__init__(small_cnn(in_channels, image_size, num_classes), num_classes,
                         (in_channels, image_size, image_size))
