"""What every tinyvision model shares: the ``TinyVisionPreTrainedModel`` base, and the generation API of
the models that map N(0, I) latents to images (the GAN's generator, the VAE's decoder).

This file travels with saved models (``trust_remote_code``), so it imports nothing from ``tinyvision``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import torch
from torch import nn
from transformers import PreTrainedModel

from .layers import init_module


class TinyVisionPreTrainedModel(PreTrainedModel):
    """Base of every tinyvision model: Keras-style initialisation and complete ``auto_map`` entries."""

    main_input_name = "pixel_values"
    # Extra Auto classes written into config.auto_map on save, so a saved folder answers to each of
    # them with trust_remote_code=True (register_for_auto_class records only one per class).
    _extra_auto_classes: tuple[str, ...] = ("AutoModel",)

    def __init__(self, config, *inputs, **kwargs):
        # ``from_pretrained(path, field=value)`` sets such keyword arguments on the loaded config after the config
        # checked itself: check again, so an impossible value fails here naming its field
        type(config)(**config.to_dict())
        super().__init__(config, *inputs, **kwargs)

    def _init_weights(self, module: nn.Module) -> None:
        init_module(module, self.config.initializer)

    def save_pretrained(self, save_directory, *args, **kwargs):
        if self._auto_class is not None:
            module = type(self).__module__.split(".")[-1]
            auto_map = dict(getattr(self.config, "auto_map", None) or {})
            for auto_class in self._extra_auto_classes:
                auto_map[auto_class] = f"{module}.{type(self).__name__}"
            self.config.auto_map = auto_map
        return super().save_pretrained(save_directory, *args, **kwargs)


# ------------------------------------------------------------------------------- images in [0, 1]
def to_unit_range(images: torch.Tensor, pixel_range: Sequence[float]) -> torch.Tensor:
    """Images in ``pixel_range`` (e.g. (-1, 1)) → [0, 1], clamped."""
    low, high = pixel_range
    return ((images - low) / (high - low)).clamp(0.0, 1.0)


def from_unit_range(images: torch.Tensor, pixel_range: Sequence[float]) -> torch.Tensor:
    """Images in [0, 1] → ``pixel_range``."""
    low, high = pixel_range
    return images * (high - low) + low


def interpolate_latents(start: torch.Tensor, end: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """``steps`` latents from ``start`` to ``end`` (both included): linear (the seed's Figure 14) or slerp."""
    if steps < 2:
        raise ValueError(f"`steps` must be at least 2 (the two endpoints), got {steps}")
    if start.shape != end.shape or start.dim() != 1:
        raise ValueError(f"start and end must be latent vectors of one shape, got {tuple(start.shape)} and "
                         f"{tuple(end.shape)}")
    weights = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    start64, end64 = start.double(), end.double()
    if method == "linear":
        path = (1 - weights)[:, None] * start64 + weights[:, None] * end64
    elif method == "slerp":
        cosine = torch.dot(start64, end64) / (start64.norm() * end64.norm()).clamp_min(1e-12)
        omega = torch.arccos(cosine.clamp(-1.0, 1.0))
        if omega.abs() < 1e-6:  # (anti)parallel directions: slerp degenerates to the line
            path = (1 - weights)[:, None] * start64 + weights[:, None] * end64
        else:
            path = (torch.sin((1 - weights) * omega)[:, None] * start64
                    + torch.sin(weights * omega)[:, None] * end64) / torch.sin(omega)
    else:
        raise ValueError(f"`method` must be 'linear' or 'slerp', got {method!r}")
    path[0], path[-1] = start64, end64  # exact endpoints
    return path.to(start.dtype)


# ------------------------------------------------------------------------------- generation API
def to_pil(images: torch.Tensor) -> list:
    """Images (N, C, H, W) in [0, 1] → N PIL images (mode L for one channel, RGB for three)."""
    from PIL import Image

    arrays = (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array) for array in arrays]


@contextmanager
def eval_mode(module: nn.Module):
    """Every submodule in eval mode inside the block; each one's own mode restored after it (a training
    loop may have set the players' modes independently of the parent's)."""
    modes = [(child, child.training) for child in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for child, training in modes:
            child.training = training


class LatentImageGeneratorMixin:
    """``sample_latents`` / ``generate`` / ``interpolate`` for models that map N(0, I) latents to images.

    Subclasses implement ``_latents_to_images(latents)`` → images in [0, 1]. Latents are drawn on the CPU
    from a ``torch.Generator`` seeded with ``seed``, so a seed gives the same images on every device.
    """

    def sample_latents(self, num_images: int, *, seed: int | None = None) -> torch.Tensor:
        if num_images < 1:
            raise ValueError(f"`num_images` must be at least 1, got {num_images}")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return torch.randn(num_images, self.config.latent_dim, generator=generator)

    def _as_latents(self, latents) -> torch.Tensor:
        latents = torch.as_tensor(latents, dtype=torch.float32)
        if latents.dim() == 1:
            latents = latents[None]
        if latents.dim() != 2 or latents.shape[1] != self.config.latent_dim:
            raise ValueError(f"latents must have shape (num_images, {self.config.latent_dim}) (config.latent_dim), "
                             f"got {tuple(latents.shape)}")
        return latents

    @torch.no_grad()
    def generate(self, num_images: int | None = None, *, seed: int | None = None, latents=None,
                 return_pil: bool = False, batch_size: int = 256):
        """Images from ``latents`` or from ``num_images`` latents drawn with ``seed``.

        Returns a float tensor (N, C, H, W) in [0, 1] on the model's device, or a list of PIL images
        with ``return_pil=True``. The model runs in eval mode (its training mode is restored).
        """
        if latents is None:
            if num_images is None:
                raise ValueError("give `num_images` (and optionally `seed`) or `latents`")
            latents = self.sample_latents(num_images, seed=seed)
        else:
            latents = self._as_latents(latents)
            if num_images is not None and num_images != len(latents):
                raise ValueError(f"num_images={num_images} but {len(latents)} latents were given")
        with eval_mode(self):
            device = next(self.parameters()).device
            images = torch.cat([
                self._latents_to_images(chunk.to(device)).float() for chunk in latents.split(batch_size)
            ])
        return to_pil(images) if return_pil else images

    def latent_for(self, point) -> torch.Tensor:
        """A seed (int) → the latent ``generate(1, seed=seed)`` uses; a vector → itself."""
        if isinstance(point, int):
            return self.sample_latents(1, seed=point)[0]
        return self._as_latents(point)[0]

    def interpolate(self, start, end, steps: int = 10, *, method: str = "linear", return_pil: bool = False):
        """Images along the path between two latents (vectors) or two seeds (ints), endpoints included.

        ``interpolate(3, 7, 10)[0]`` equals ``generate(1, seed=3)[0]`` and ``[-1]`` equals ``generate(1, seed=7)[0]``.
        """
        path = interpolate_latents(self.latent_for(start), self.latent_for(end), steps, method)
        return self.generate(latents=path, return_pil=return_pil)
