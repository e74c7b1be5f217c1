"""The glossary's MNIST MLPs: SimpleNN (torch.nn entry, 784-500-10) and SimpleNet (Forward Method, 784-128-64-10)."""

from __future__ import annotations

import torch
from torch import nn

from glossary_exp.registry import register
from glossary_exp.vision.classifier import ImageClassifier


class SimpleNN(nn.Module):
    """One hidden ReLU layer."""

    def __init__(self, in_features: int = 784, hidden: int = 500, num_classes: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)  # (B, 1, 28, 28) -> (B, 784)
        return self.fc2(self.relu(self.fc1(x)))


class SimpleNet(nn.Module):
    """Two hidden ReLU layers, the activations written out in ``forward``."""

    def __init__(self, in_features: int = 784, hidden: tuple[int, int] = (128, 64), num_classes: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden[0])
        self.fc2 = nn.Linear(hidden[0], hidden[1])
        self.fc3 = nn.Linear(hidden[1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.fc1(x.flatten(1)))  # (B, 784) -> (B, 128)
        x = torch.relu(self.fc2(x))  # (B, 64)
        return self.fc3(x)


@register("model", "simple_nn")
class SimpleNNClassifier(ImageClassifier):
    """SimpleNN trained with CrossEntropy."""

    def __init__(self, in_features: int = 784, hidden: int = 500, num_classes: int = 10) -> None:
        super().__init__(SimpleNN(in_features, hidden, num_classes), num_classes, (in_features,))


@register("model", "simple_net")
class SimpleNetClassifier(ImageClassifier):
    """SimpleNet trained with CrossEntropy."""

    def __init__(self, in_features: int = 784, hidden1: int = 128, hidden2: int = 64, num_classes: int = 10) -> None:
        super().__init__(SimpleNet(in_features, (hidden1, hidden2), num_classes), num_classes, (in_features,))
