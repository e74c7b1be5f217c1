"""Pictures for TensorBoard at the end of testing: test images with their labels, the confusion matrix."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # no display needed; imported only when a test ends
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from torchmetrics.classification import MulticlassConfusionMatrix


def prediction_grid(images: torch.Tensor, predicted: torch.Tensor, true: torch.Tensor, classes: list[str]) -> Figure:
    """Images ``(N, C, H, W)`` in [0, 1], each titled ``predicted / true`` (red when wrong)."""
    columns = min(8, len(images))
    rows = math.ceil(len(images) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    # The grid may have more cells than there are images: those stay blank.
    for ax, image, p, t in zip(axes.flat, images, predicted.tolist(), true.tolist(), strict=False):
        picture = image.permute(1, 2, 0).numpy()  # (H, W, C) for imshow
        ax.imshow(picture.squeeze(-1) if picture.shape[-1] == 1 else picture, cmap="gray")
        ax.set_title(f"{classes[p]} / {classes[t]}", fontsize=8, color="black" if p == t else "red")
    figure.suptitle("predicted / true")
    figure.tight_layout()
    return figure


def confusion_figure(confusion: MulticlassConfusionMatrix, classes: list[str]) -> Figure:
    """The accumulated confusion matrix (rows: true class, columns: predicted), with class names."""
    figure, _ = confusion.plot(labels=classes)
    figure.set_size_inches(max(5, 0.6 * len(classes)), max(5, 0.6 * len(classes)))
    return figure
