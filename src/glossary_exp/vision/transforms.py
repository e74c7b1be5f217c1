"""Resize, flip, rotate and normalize whole uint8 batches on their device, one random draw per image.

torchvision's transforms on a batch draw one flip or angle for all of it; here every image
gets its own (a flip mask, one rotation matrix per image). Evaluation batches are only
resized and normalized, never augmented.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.nn import functional as F

from glossary_exp.errors import ConfigError

# The pipeline's steps, always applied in this order (the Transforms entry's order).
STEPS = ("resize", "hflip", "rotate", "normalize")
IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


class BatchTransform:
    """``(B, C, H, W)`` uint8 -> float32, augmented when training, then normalized."""

    def __init__(self, resize: int | Sequence[int] | None = None, hflip: float = 0.0, rotate: float = 0.0,
                 normalize: Mapping[str, Sequence[float]] | str | None = None) -> None:
        self.size = _size(resize)
        self.hflip, self.rotate = float(hflip), float(rotate)
        if isinstance(normalize, str):
            if normalize != "imagenet":
                raise ConfigError(f"data.transforms.normalize must be imagenet or {{mean: [...], std: [...]}}, "
                                  f"got {normalize!r}")
            stats: Mapping[str, Sequence[float]] = IMAGENET
        else:
            stats = normalize or {"mean": [0.0], "std": [1.0]}
        mean, std = torch.tensor(stats["mean"], dtype=torch.float32), torch.tensor(stats["std"], dtype=torch.float32)
        # One fused multiply-add: (x / 255 - mean) / std = x * scale + shift.
        self.scale, self.shift = (1 / (255 * std)).view(-1, 1, 1), (-mean / std).view(-1, 1, 1)
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None, key: str = "data.transforms") -> BatchTransform:
        """Build from a ``{step: setting}`` mapping; unknown steps or bad values raise ConfigError."""
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - set(STEPS))
        if unknown:
            raise ConfigError(f"{key}.{unknown[0]} is not a transform; choose from: {', '.join(STEPS)}")
        hflip, rotate = (cfg.get(step) or 0 for step in ("hflip", "rotate"))
        if not isinstance(hflip, (int, float)) or not 0 <= hflip <= 1:
            raise ConfigError(f"{key}.hflip is a probability in [0, 1], got {hflip!r}")
        if not isinstance(rotate, (int, float)) or rotate < 0:
            raise ConfigError(f"{key}.rotate is the largest angle in degrees (>= 0), got {rotate!r}")
        normalize = cfg.get("normalize")
        if isinstance(normalize, str) and normalize != "imagenet":
            raise ConfigError(f"{key}.normalize must be 'imagenet' or {{mean: [...], std: [...]}}, got {normalize!r}")
        if isinstance(normalize, Mapping) and (set(normalize) != {"mean", "std"} or min(normalize["std"]) <= 0):
            raise ConfigError(f"{key}.normalize needs mean and std lists with std > 0, got {dict(normalize)!r}")
        return cls(resize=cfg.get("resize"), hflip=hflip, rotate=rotate, normalize=normalize)

    def __call__(self, x: torch.Tensor, train: bool) -> torch.Tensor:
        x = x.float()  # (B, C, H, W), still 0..255
        if self.size is not None and tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", antialias=True, align_corners=False)
        if train and self.hflip > 0:
            flip = torch.rand(len(x), device=x.device) < self.hflip  # (B,)
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
        if train and self.rotate > 0:
            x = rotate(x, self.rotate)
        scale, shift = self._stats(x.device)
        return torch.addcmul(shift, x, scale)

    def undo(self, x: torch.Tensor) -> torch.Tensor:
        """Normalized images back in the 0..255 range, for display."""
        scale, shift = self._stats(x.device)
        return (x - shift) / scale

    def _stats(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """``scale`` and ``shift`` on ``device``, copied there once rather than every batch."""
        if device not in self._on_device:
            self._on_device[device] = (self.scale.to(device), self.shift.to(device))
        return self._on_device[device]


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate each image by its own angle drawn from [-degrees, degrees]; corners filled with 0.

    Nearest-neighbour sampling and zero fill, as torchvision's RandomRotation does by default.
    """
    batch, _, height, width = x.shape
    angle = (torch.rand(batch, device=x.device) * 2 - 1) * math.radians(degrees)  # (B,)
    cos, sin = torch.cos(angle), torch.sin(angle)
    aspect = height / width  # affine_grid works in [-1, 1] on both axes; keep the rotation rigid
    theta = torch.stack([torch.stack([cos, -sin * aspect, torch.zeros_like(cos)], 1),
                         torch.stack([sin / aspect, cos, torch.zeros_like(cos)], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def _size(resize: int | Sequence[int] | None) -> tuple[int, int] | None:
    """``224`` or ``[224, 224]`` -> ``(224, 224)``."""
    if resize is None:
        return None
    try:
        size = (int(resize), int(resize)) if isinstance(resize, (int, float)) else tuple(int(s) for s in resize)
    except (TypeError, ValueError):
        size = ()
    if len(size) != 2 or min(size) < 1:
        raise ConfigError(f"data.transforms.resize must be a size >= 1 or [height, width], got {resize!r}")
    return size
