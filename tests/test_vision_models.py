"""Every registered vision model: output shape, it learns, and clear errors when data and model disagree."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from torch.nn import functional as F

from glossary_exp import registry
from glossary_exp.errors import ConfigError
from glossary_exp.vision.classifier import EpochPredictions, ImageClassifier
from glossary_exp.vision.random_images import RandomImages

VISION_MODELS = [n for n in registry.names("model") if issubclass(registry.get("model", n), ImageClassifier)]


def inputs(model: ImageClassifier, batch: int) -> torch.Tensor:
    """A normalized-looking batch of the shape the model takes: ``(features,)`` models get 1x28x28."""
    shape = model.input_shape if len(model.input_shape) == 3 else (1, 28, 28)
    return torch.randn(batch, *shape)


def test_the_glossary_models_are_registered() -> None:
    assert {"simple_nn", "simple_net", "mnist_cnn", "cifar_cnn"} <= set(VISION_MODELS)


@pytest.mark.parametrize("name", VISION_MODELS)
def test_logits_have_one_column_per_class(name: str) -> None:
    model = registry.get("model", name)()
    assert model(inputs(model, 5)).shape == (5, model.num_classes)


@pytest.mark.parametrize("name", VISION_MODELS)
def test_a_few_steps_fit_a_small_batch(name: str) -> None:
    torch.manual_seed(0)
    model = registry.get("model", name)()
    x, y = inputs(model, 16), torch.arange(16) % model.num_classes
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_parameter_counts_match_the_glossary_shapes() -> None:
    count = {n: sum(p.numel() for p in registry.get("model", n)().parameters()) for n in VISION_MODELS}
    assert count["simple_nn"] == 784 * 500 + 500 + 500 * 10 + 10
    assert count["simple_net"] == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    convs = lambda c: 32 * c * 9 + 32 + 64 * 32 * 9 + 64  # noqa: E731
    assert count["mnist_cnn"] == convs(1) + 64 * 7 * 7 * 128 + 128 + 128 * 10 + 10
    assert count["cifar_cnn"] == convs(3) + 64 * 8 * 8 * 128 + 128 + 128 * 10 + 10


def fit_briefly(model: ImageClassifier, data: RandomImages) -> None:
    trainer = pl.Trainer(fast_dev_run=True, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False)
    trainer.fit(model, datamodule=data)


def test_a_class_count_mismatch_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"model\.num_classes=10 but the data has 4 classes"):
        fit_briefly(registry.get("model", "cifar_cnn")(), RandomImages(num_classes=4))


def test_an_image_shape_mismatch_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="the model takes 1x28x28 inputs but the data gives 3x32x32 images"):
        fit_briefly(registry.get("model", "mnist_cnn")(), RandomImages())


def test_resize_makes_other_images_fit() -> None:
    fit_briefly(registry.get("model", "mnist_cnn")(), RandomImages(channels=1, transforms={"resize": 28}))


def test_epoch_predictions_keep_every_step_across_growth_and_start_over_each_epoch() -> None:
    kept = EpochPredictions()
    batches = [(torch.randint(0, 10, (n,)), torch.randint(0, 10, (n,))) for n in (700, 700, 5)]
    for predictions, labels in batches:
        kept.add(predictions, labels)
    predictions, labels = kept.take()
    assert torch.equal(predictions, torch.cat([b[0] for b in batches]))
    assert torch.equal(labels, torch.cat([b[1] for b in batches]))
    kept.add(*batches[2])
    assert torch.equal(kept.take()[1], batches[2][1])


def test_train_accuracy_is_that_of_the_epochs_training_predictions() -> None:
    class Recording(registry.get("model", "cifar_cnn")):  # type: ignore[misc]
        def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            if batch_idx == 0:
                self.seen = []
            with torch.no_grad():
                self.seen.append((self(batch[0]).argmax(1) == batch[1]).float())
            return super().training_step(batch, batch_idx)

    torch.manual_seed(0)
    model = Recording()
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, limit_val_batches=0)
    trainer.fit(model, datamodule=RandomImages(batch_size=16))
    expected = torch.cat(model.seen).mean()
    assert 0 < float(expected) < 1
    torch.testing.assert_close(trainer.callback_metrics["train/acc"], expected)


def test_the_prediction_grid_samples_every_class_of_a_test_set_sorted_by_class() -> None:
    from glossary_exp.vision.classifier import GridSample

    labels = torch.arange(10).repeat_interleave(100)  # like the class-folder CIFAR copy: 100 airplanes first...
    images = torch.arange(1000, dtype=torch.float32).view(-1, 1, 1, 1)
    grid = GridSample(num_classes=10, size=16)
    for start in range(0, 1000, 64):  # in test batches of 64
        grid.add(images[start:start + 64], labels[start:start + 64], labels[start:start + 64])
    shown_images, predicted, true = grid.take()
    assert true.tolist() == [c for c in range(10) for _ in range(2)]  # two of each class, in class order
    assert shown_images.flatten().tolist() == [float(100 * c + k) for c in range(10) for k in range(2)]
    assert torch.equal(predicted, true) and len(grid.take()[0]) == 0  # taken: the next epoch starts afresh
