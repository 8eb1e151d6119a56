"""Batch augmentations on uint8 image tensors, run on the training device inside the step."""

from __future__ import annotations

import torch
from torch.nn import functional as F

AUGMENTATIONS = ("none", "crop", "crop_flip")


def random_crop(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Pad each side by ``padding`` (zeros) and cut a random window of the original size per image."""
    if padding <= 0:
        return images
    batch, _, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    top = torch.randint(0, 2 * padding + 1, (batch,), device=images.device)
    left = torch.randint(0, 2 * padding + 1, (batch,), device=images.device)
    rows = (top[:, None] + torch.arange(height, device=images.device))[:, :, None]  # (B, H, 1)
    cols = (left[:, None] + torch.arange(width, device=images.device))[:, None, :]  # (B, 1, W)
    index = torch.arange(batch, device=images.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)


def random_flip(images: torch.Tensor) -> torch.Tensor:
    """Mirror a random half of the batch left to right."""
    flip = torch.rand(images.shape[0], device=images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def augment(images: torch.Tensor, name: str | None, padding: int = 2) -> torch.Tensor:
    if name in (None, "none"):
        return images
    if name not in AUGMENTATIONS:
        raise ValueError(f"`augment` must be one of {list(AUGMENTATIONS)}, got {name!r}")
    images = random_crop(images, padding)
    return random_flip(images) if name == "crop_flip" else images
