"""Batch augmentations run on the training device inside the step: crop/flip on uint8 images (the
classifiers), DiffAugment on float images (the GAN's discriminator)."""

from __future__ import annotations

from functools import partial

import torch
from torch.nn import functional as F

from ..models.configuration_gan import DIFFAUGMENT_OPS

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


# --------------------------------------------------------------------- differentiable augmentation
# DiffAugment (Zhao et al., 2020): the same random transforms applied to real and generated images
# wherever the discriminator sees them (its own step and the generator's), built from differentiable
# tensor operations so the generator's gradients pass through. Images are float (N, C, H, W) in the
# model's pixel range, [0, 1] or [-1, 1]; each op is drawn independently per image.
def random_color(images: torch.Tensor, pixel_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Brightness ±¼ of the pixel range, saturation ×[0, 2], contrast ×[0.5, 1.5], drawn per image."""
    batch = images.shape[0]
    low, high = pixel_range

    def draw():
        return torch.rand(batch, 1, 1, 1, device=images.device, dtype=images.dtype)

    images = images + (draw() - 0.5) * (high - low) / 2
    mean = images.mean(dim=1, keepdim=True)
    images = (images - mean) * (draw() * 2) + mean
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return (images - mean) * (draw() + 0.5) + mean


def random_translation(images: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its side in each direction, zero-filled (a gather: differentiable)."""
    batch, _, height, width = images.shape
    dy, dx = int(height * ratio + 0.5), int(width * ratio + 0.5)
    shift_y = torch.randint(-dy, dy + 1, (batch, 1, 1), device=images.device)
    shift_x = torch.randint(-dx, dx + 1, (batch, 1, 1), device=images.device)
    rows = (torch.arange(height, device=images.device)[None, :, None] + shift_y).clamp(-1, height) + 1
    cols = (torch.arange(width, device=images.device)[None, None, :] + shift_x).clamp(-1, width) + 1
    padded = F.pad(images, (1, 1, 1, 1))  # index 0 and side+1 are the zero border
    index = torch.arange(batch, device=images.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2)


def random_cutout(images: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` × the side at a random place in each image (a mask product)."""
    batch, _, height, width = images.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = torch.randint(0, height + 1 - size_y % 2, (batch, 1, 1), device=images.device) - size_y // 2
    left = torch.randint(0, width + 1 - size_x % 2, (batch, 1, 1), device=images.device) - size_x // 2
    rows = torch.arange(height, device=images.device)[None, :, None]
    cols = torch.arange(width, device=images.device)[None, None, :]
    inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return images * (~inside)[:, None].to(images.dtype)


def diff_augment(images: torch.Tensor, policy: str | list[str] | tuple[str, ...],
                 pixel_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """``images`` through each op of ``policy`` ("color,translation,cutout" or a list; "" = unchanged); the
    names are the GAN config's ``DIFFAUGMENT_OPS``."""
    ops = {"color": partial(random_color, pixel_range=pixel_range), "translation": random_translation,
           "cutout": random_cutout}
    names = [name.strip() for name in policy.split(",")] if isinstance(policy, str) else list(policy)
    for name in filter(None, names):
        if name not in DIFFAUGMENT_OPS:
            raise ValueError(f"unknown DiffAugment op {name!r}; choose from {list(DIFFAUGMENT_OPS)}")
        images = ops[name](images)
    return images
