"""The one classification LightningModule every vision model shares: CrossEntropy, accuracy, pictures."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics import MaxMetric
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from glossary_exp.data.tensors import Split
from glossary_exp.errors import ConfigError
from glossary_exp.module import GlossaryModule
from glossary_exp.vision.transforms import BatchTransform


class ImageClassifier(GlossaryModule):
    """Wraps a backbone mapping ``(B, C, H, W)`` images to ``(B, num_classes)`` logits.

    Logs ``{train,val,test}/{loss,acc}`` and ``val/best_acc``; at the end of testing, a grid of
    test images titled with predicted/true labels and the confusion matrix go to TensorBoard.
    """

    hparam_metrics = ("train/loss", "train/acc", "val/loss", "val/acc", "val/best_acc", "test/loss", "test/acc")
    monitor = ("val/acc", "max")
    grid_images = 16  # test images shown in the prediction grid, at least one per class (of the first 16)

    def __init__(self, net: nn.Module, num_classes: int, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.net, self.num_classes = net, num_classes
        self.input_shape = input_shape  # (C, H, W), or (features,) for a model that flattens its input
        # validate_args=False: the per-step input checks cost more than the update itself.
        self.train_acc, self.val_acc, self.test_acc = (
            MulticlassAccuracy(num_classes, average="micro", validate_args=False) for _ in range(3))
        self.best_val_acc = MaxMetric()
        self.confusion = MulticlassConfusionMatrix(num_classes, validate_args=False)
        self.train_predictions = EpochPredictions()
        self.shown = GridSample(num_classes, self.grid_images)  # test images across classes, for the grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def setup(self, stage: str) -> None:
        """Fail with a config message, not a shape error deep in the first step, when data and model disagree."""
        data = self.trainer.datamodule  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
        classes = getattr(data, "classes", None)
        if classes and len(classes) != self.num_classes:
            raise ConfigError(f"model.num_classes={self.num_classes} but the data has {len(classes)} classes; "
                              f"set model.num_classes={len(classes)}")
        shape = getattr(data, "image_shape", None)
        if shape and math.prod(shape) != math.prod(self.input_shape):
            raise ConfigError(f"the model takes {_shape(self.input_shape)} inputs but the data gives "
                              f"{_shape(shape)} images; change the model's input settings or data.transforms.resize")

    def training_step(self, batch: Split, batch_idx: int) -> torch.Tensor:
        images, labels = batch
        logits = self(images)
        loss = F.cross_entropy(logits, labels)
        self.train_predictions.add(logits.detach().argmax(1), labels)
        self.log_loss("train", loss, batch_size=len(labels))
        return loss

    def on_train_epoch_end(self) -> None:
        predictions, labels = self.train_predictions.take()
        if len(labels):
            self.train_acc.update(predictions, labels)
            self._log_accuracy("train", self.train_acc)

    def _evaluate(self, batch: Split, stage: str, accuracy: MulticlassAccuracy) -> torch.Tensor:
        images, labels = batch
        logits = self(images)
        self.log_loss(stage, F.cross_entropy(logits, labels), batch_size=len(labels))
        accuracy.update(logits, labels)  # logged once at the epoch's end: logging a Metric costs per call
        return logits

    def _log_accuracy(self, stage: str, accuracy: MulticlassAccuracy) -> torch.Tensor:
        """Log ``<stage>/acc`` for the epoch and start the next one from zero."""
        value = accuracy.compute()
        accuracy.reset()
        self.log(f"{stage}/acc", value, prog_bar=stage != "train")
        return value

    def validation_step(self, batch: Split, batch_idx: int) -> None:
        self._evaluate(batch, "val", self.val_acc)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self.val_acc.reset()  # sanity batches count towards no epoch
            return
        self.best_val_acc.update(self._log_accuracy("val", self.val_acc))
        self.log("val/best_acc", self.best_val_acc.compute())

    def test_step(self, batch: Split, batch_idx: int) -> None:
        predictions = self._evaluate(batch, "test", self.test_acc).argmax(1)
        self.confusion.update(predictions, batch[1])
        self.shown.add(batch[0], predictions, batch[1])

    def predict_step(self, batch: Split, batch_idx: int) -> torch.Tensor:
        return self(batch[0]).argmax(1)

    def on_test_epoch_end(self) -> None:
        self._log_accuracy("test", self.test_acc)
        experiment = getattr(self.logger, "experiment", None)
        shown = self.shown.take()
        if experiment is not None and hasattr(experiment, "add_figure") and len(shown[0]):
            from glossary_exp.vision.figures import confusion_figure, prediction_grid

            datamodule = self.trainer.datamodule  # type: ignore[attr-defined]  # set by Lightning's connectors at run time
            classes = getattr(datamodule, "classes", None) or [str(k) for k in range(self.num_classes)]
            images = _displayable(shown[0], getattr(datamodule, "transform", None))
            experiment.add_figure("test/predictions", prediction_grid(images, *shown[1:], classes),
                                  self.global_step)
            experiment.add_figure("test/confusion_matrix", confusion_figure(self.confusion, classes),
                                  self.global_step)
        self.confusion.reset()


class GridSample:
    """Test images for the prediction grid, sampled across classes as batches pass.

    Test sets are often sorted by class (a class-folder copy of CIFAR-10 starts with 1,000
    airplanes): the first batch alone would show one class. Keeps ``ceil(size / classes)`` images
    of each of the first ``size`` classes, in class order, copied to the CPU.
    """

    def __init__(self, num_classes: int, size: int) -> None:
        self.classes = list(range(min(num_classes, size)))
        self.per_class = max(1, math.ceil(size / num_classes))
        self.kept: dict[int, list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {c: [] for c in self.classes}

    def add(self, images: torch.Tensor, predictions: torch.Tensor, labels: torch.Tensor) -> None:
        for cls in self.classes:
            need = self.per_class - sum(len(part[2]) for part in self.kept[cls])
            if need > 0:
                index = (labels == cls).nonzero()[:need, 0]
                if len(index):
                    self.kept[cls].append((images[index].cpu(), predictions[index].cpu(), labels[index].cpu()))

    def take(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(images, predictions, labels)`` kept so far, by class; the next :meth:`add` starts afresh."""
        parts = [part for cls in self.classes for part in self.kept[cls]]
        self.kept = {c: [] for c in self.classes}
        if not parts:
            return torch.empty(0), torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long)
        return tuple(torch.cat(column) for column in zip(*parts, strict=True))  # type: ignore[return-value]


class EpochPredictions:
    """An epoch's training predictions and labels, kept for one accuracy update at its end.

    A torchmetrics update costs ~40 us, a few percent of a small model's step; keeping each
    step's tensors in a list fragmented the heap (+470 MB over an MNIST epoch). Steps copy into
    two buffers instead, which double when full and are reused every epoch.
    """

    def __init__(self) -> None:
        self.predictions = self.labels = torch.empty(0, dtype=torch.long)
        self.count = 0

    def add(self, predictions: torch.Tensor, labels: torch.Tensor) -> None:
        end = self.count + len(labels)
        if end > len(self.labels) or self.labels.device != labels.device:
            self._grow(end, labels)
        self.predictions[self.count:end] = predictions
        self.labels[self.count:end] = labels
        self.count = end

    def _grow(self, size: int, like: torch.Tensor) -> None:
        capacity = max(size, 2 * len(self.labels), 1024)
        kept = slice(0, self.count)
        predictions, labels = like.new_empty(capacity), like.new_empty(capacity)
        predictions[kept], labels[kept] = self.predictions[kept], self.labels[kept]
        self.predictions, self.labels = predictions, labels

    def take(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This epoch's ``(predictions, labels)``; the next :meth:`add` starts a new epoch."""
        count, self.count = self.count, 0
        return self.predictions[:count], self.labels[:count]


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _displayable(images: torch.Tensor, transform: BatchTransform | None) -> torch.Tensor:
    """Normalized images back in [0, 1] for display, via the data's transform when it has one."""
    if transform is not None:
        return transform.undo(images).div(255).clamp(0, 1)
    low, high = images.amin((1, 2, 3), keepdim=True), images.amax((1, 2, 3), keepdim=True)
    return (images - low) / (high - low).clamp_min(1e-8)
