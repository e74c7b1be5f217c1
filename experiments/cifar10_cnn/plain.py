"""The glossary's CNN on CIFAR-10 in plain PyTorch: per-sample PIL augmentation in a DataLoader, a loop.

The baseline the framework's cifar10_cnn is measured against (benchmark.py imports it). Without
the official archive it reads the class-folder JPEG copy (the mirror's cifar10-jpg) via ImageFolder.
Run: python experiments/cifar10_cnn/plain.py [--epochs 15] [--data-dir data] [--mirror DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from torch import nn, optim
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms

NORMALIZE = transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def make_model() -> nn.Module:
    """conv32-pool-conv64-pool-flatten-128-10, as the Sequential entry builds it."""
    return nn.Sequential(
        nn.Conv2d(3, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def cifar10(data_dir: str, mirror: str | None, train: bool, transform: transforms.Compose) -> Dataset:
    """torchvision's CIFAR-10, or the JPEG class-folder copy when only that is at hand."""
    jpeg = Path(mirror or "") / "cifar10-jpg" / ("train" if train else "test")
    if mirror and jpeg.is_dir() and not (Path(data_dir) / "cifar-10-batches-py").is_dir():
        return datasets.ImageFolder(str(jpeg), transform=transform)
    return datasets.CIFAR10(root=data_dir, train=train, download=True, transform=transform)


def train_loader(data_dir: str, mirror: str | None, num_workers: int) -> DataLoader:
    """The document's augmentation, applied per sample with PIL: flip, rotate up to 15 degrees, normalize."""
    augment = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.RandomRotation(15),
                                  transforms.ToTensor(), NORMALIZE])
    return DataLoader(cifar10(data_dir, mirror, True, augment), batch_size=32, shuffle=True, num_workers=num_workers)


def train_epoch(model: nn.Module, loader: DataLoader, optimizer: optim.Optimizer) -> float:
    """One pass over ``loader``; returns the last batch's loss."""
    criterion = nn.CrossEntropyLoss()
    model.train()
    for images, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    return loss.item()


def accuracy(model: nn.Module, loader: DataLoader) -> float:
    """Fraction of ``loader``'s images classified correctly."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
            total += len(labels)
    return correct / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--mirror", default=os.environ.get("GLOSSARY_EXP_DATASET_MIRROR"))
    parser.add_argument("--num-workers", type=int, default=2)
    args = parser.parse_args()
    train = train_loader(args.data_dir, args.mirror, args.num_workers)
    test_set = cifar10(args.data_dir, args.mirror, False, transforms.Compose([transforms.ToTensor(), NORMALIZE]))
    model = make_model()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    for epoch in range(args.epochs):
        start = time.perf_counter()
        loss = train_epoch(model, train, optimizer)
        print(f"Epoch {epoch + 1}, Loss: {loss:.4f} ({time.perf_counter() - start:.1f} s)")
    print(f"Test accuracy: {accuracy(model, DataLoader(test_set, batch_size=256)):.4f}")


if __name__ == "__main__":
    main()
