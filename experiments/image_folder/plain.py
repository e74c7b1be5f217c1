"""The glossary's Custom Dataset and Transforms entries in plain PyTorch: a PIL folder dataset, a loop.

The baseline the framework's image_folder is measured against (benchmark.py imports it). It reads
train/<class>/* under --folder (default: the mirror's cifar10-jpg), applies the Transforms entry's
pipeline per sample (resize, random flip, ImageNet normalize) and trains the 32x32 CNN.
Run: python experiments/image_folder/plain.py [--epochs 5] [--folder DIR] [--mirror DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from PIL import Image
from torch import nn, optim
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

PIPELINE = transforms.Compose([
    transforms.Resize((32, 32)),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])


class FolderDataset(Dataset):
    """``root/<class>/<image>``: one sample per file, labelled by its folder, loaded with PIL."""

    def __init__(self, root: str, transform: transforms.Compose | None = None) -> None:
        self.classes = sorted(d.name for d in Path(root).iterdir() if d.is_dir())
        self.samples = [(path, label) for label, name in enumerate(self.classes)
                        for path in sorted((Path(root) / name).iterdir())]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        image = Image.open(path).convert("RGB")
        return (self.transform(image) if self.transform else image), label


def make_model() -> nn.Module:
    """The Sequential entry's CNN for 3x32x32 images."""
    return nn.Sequential(
        nn.Conv2d(3, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def train_loader(data_dir: str, mirror: str | None, num_workers: int) -> DataLoader:
    """``data_dir`` is unused: the folder is read in place (the mirror's cifar10-jpg/train)."""
    folder = Path(mirror or "") / "cifar10-jpg" / "train"
    return DataLoader(FolderDataset(str(folder), PIPELINE), batch_size=32, shuffle=True, num_workers=num_workers)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--mirror", default=os.environ.get("GLOSSARY_EXP_DATASET_MIRROR"))
    parser.add_argument("--num-workers", type=int, default=2)
    args = parser.parse_args()
    train = train_loader("", args.mirror, args.num_workers)
    model = make_model()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    for epoch in range(args.epochs):
        start = time.perf_counter()
        loss = train_epoch(model, train, optimizer)
        print(f"Epoch {epoch + 1}, Loss: {loss:.4f} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
