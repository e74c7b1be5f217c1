"""The glossary's SimpleNet on MNIST in plain PyTorch: torchvision dataset, per-sample transforms, a loop.

The baseline the framework's mnist_simple_net is measured against (benchmark.py imports it).
Run: python experiments/mnist_simple_net/plain.py [--epochs 10] [--data-dir data] [--mirror DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import torch
from torch import nn, optim
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


class SimpleNet(nn.Module):
    """784-128-64-10, the activations written out in forward, as in the Forward Method entry."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 784)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def make_model() -> nn.Module:
    return SimpleNet()


def mnist(data_dir: str, mirror: str | None, train: bool) -> datasets.MNIST:
    """The document's dataset: torchvision MNIST with ToTensor + Normalize applied per sample."""
    raw = Path(data_dir) / "MNIST" / "raw"
    if mirror and not all((raw / name).exists() for name in MNIST_FILES):
        raw.mkdir(parents=True, exist_ok=True)  # copied out of the read-only mirror; torchvision extracts here
        for name in MNIST_FILES:
            shutil.copy(Path(mirror) / "MNIST" / "raw" / name, raw / name)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    return datasets.MNIST(root=data_dir, train=train, download=True, transform=transform)


def train_loader(data_dir: str, mirror: str | None, num_workers: int) -> DataLoader:
    return DataLoader(mnist(data_dir, mirror, train=True), batch_size=64, shuffle=True, num_workers=num_workers)


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
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--mirror", default=os.environ.get("GLOSSARY_EXP_DATASET_MIRROR"))
    parser.add_argument("--num-workers", type=int, default=2)
    args = parser.parse_args()
    train = train_loader(args.data_dir, args.mirror, args.num_workers)
    test = DataLoader(mnist(args.data_dir, args.mirror, train=False), batch_size=1000)
    model = make_model()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    for epoch in range(args.epochs):
        start = time.perf_counter()
        loss = train_epoch(model, train, optimizer)
        print(f"Epoch {epoch + 1}, Loss: {loss:.4f} ({time.perf_counter() - start:.1f} s)")
    print(f"Test accuracy: {accuracy(model, test):.4f}")


if __name__ == "__main__":
    main()
