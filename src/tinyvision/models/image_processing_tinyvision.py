"""The one image processor of tinyvision: any PIL image / array → normalised ``pixel_values``.

Training never goes through PIL: the data layer keeps uint8 tensors and the training step calls
:func:`normalize_uint8` with this processor's ``image_mean`` / ``image_std``. The processor ends in
the same function, so a PIL image and the training path give the same tensor for the same pixels.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch
from PIL import Image
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature

# Refuse images bigger than this many pixels before decoding them fully (decompression bombs).
MAX_IMAGE_PIXELS = 40_000_000


def normalize_uint8(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 (batch, channels, height, width) → float32 ``(x / 255 - mean) / std`` per channel."""
    if images.dtype != torch.uint8:
        raise TypeError(f"expected uint8 images, got {images.dtype}")
    shift, scale = _affine(tuple(mean), tuple(std), images.device)
    return torch.addcmul(shift, images.float(), scale)


@functools.lru_cache(maxsize=32)
def _affine(mean: tuple, std: tuple, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(x / 255 - mean) / std as one fused multiply-add: x * 1/(255 std) + (-mean/std)."""
    scale = torch.tensor([1.0 / (255.0 * s) for s in std], dtype=torch.float32).view(1, -1, 1, 1)
    shift = torch.tensor([-m / s for m, s in zip(mean, std)], dtype=torch.float32).view(1, -1, 1, 1)
    return shift.to(device), scale.to(device)


def to_pil(image) -> Image.Image:
    """Accept a PIL image, encoded bytes, an HxW / HxWxC uint8 array or a CxHxW / HxWxC tensor."""
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, (bytes, bytearray)):
        return Image.open(io.BytesIO(image))
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
        if image.ndim == 3 and image.shape[0] in (1, 3, 4) and image.shape[-1] not in (1, 3, 4):
            image = image.transpose(1, 2, 0)
    if isinstance(image, np.ndarray):
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        if image.ndim not in (2, 3):
            raise ValueError(f"expected an HxW or HxWxC image array, got shape {image.shape}")
        if image.dtype != np.uint8:
            if np.issubdtype(image.dtype, np.floating) and image.size and image.max() <= 1.0:
                image = image * 255.0
            image = np.clip(image, 0, 255).astype(np.uint8)
        return Image.fromarray(image)
    raise TypeError(f"cannot read an image from {type(image).__name__}; pass a PIL image, array or tensor")


def convert_mode(image: Image.Image, num_channels: int) -> Image.Image:
    """Bring any PIL mode (RGBA, P, 16-bit, float, CMYK...) to 'L' or 'RGB'."""
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"image of {image.width}x{image.height} pixels is larger than the {MAX_IMAGE_PIXELS:,}-pixel limit"
        )
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # Rescale wide-range grayscale to 8 bits instead of clipping everything above 255 to white.
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255.0 if high > low else np.zeros_like(array)
        image = Image.fromarray(scaled.round().astype(np.uint8))
    if image.mode in ("RGBA", "LA", "P", "PA"):
        # Transparent pixels show the white page they are drawn on, as in a browser.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("L" if num_channels == 1 else "RGB")


def letterbox_geometry(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """Where a ``width`` × ``height`` image lands when letterboxed into a ``size`` × ``size`` square:
    ``(new_width, new_height, offset_x, offset_y)``. The longer side becomes ``size`` and the image is
    centred; the rest is black. A point ``(x, y)`` of the original lands at
    ``(offset_x + x * new_width / width, offset_y + y * new_height / height)``."""
    if width < 1 or height < 1:
        raise ValueError(f"cannot letterbox an image of {width}x{height} pixels")
    scale = size / max(width, height)
    new_width, new_height = max(1, round(width * scale)), max(1, round(height * scale))
    return new_width, new_height, (size - new_width) // 2, (size - new_height) // 2


class TinyVisionImageProcessor(BaseImageProcessor):
    r"""Converts images to the model's mode, resizes them to ``size`` and normalises per channel.

    Args:
        size: ``{"height": h, "width": w}`` of the model input.
        num_channels: 1 converts to grayscale ('L', ITU-R 601 luma), 3 to RGB.
        image_mean, image_std: per-channel constants on the 0–1 scale (the training data's).
        resample: PIL resampling filter used when an image is not already at ``size``.
        letterbox: keep the aspect ratio: scale the longer side to the (square) ``size`` and centre the image
            on black (:func:`letterbox_geometry`), as the photo clock reader was trained; otherwise stretch.
    """

    model_input_names: ClassVar[list[str]] = ["pixel_values"]

    def __init__(
        self,
        size: dict[str, int] | None = None,
        num_channels: int = 1,
        image_mean: Sequence[float] | None = None,
        image_std: Sequence[float] | None = None,
        resample: int = Image.Resampling.BILINEAR,
        letterbox: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_channels not in (1, 3):
            raise ValueError(f"`num_channels` must be 1 or 3, got {num_channels}")
        self.size = dict(size or {"height": 28, "width": 28})
        self.num_channels = num_channels
        self.image_mean = [float(v) for v in (image_mean if image_mean is not None else [0.5] * num_channels)]
        self.image_std = [float(v) for v in (image_std if image_std is not None else [0.5] * num_channels)]
        if len(self.image_mean) != num_channels or len(self.image_std) != num_channels:
            raise ValueError(f"`image_mean` and `image_std` need {num_channels} value(s) each")
        if any(v <= 0 for v in self.image_std):
            raise ValueError(f"`image_std` must be positive, got {self.image_std}")
        self.resample = int(resample)
        self.letterbox = bool(letterbox)
        if self.letterbox and self.size["height"] != self.size["width"]:
            raise ValueError(f"`letterbox` needs a square `size`, got {self.size}")

    def placement(self, width: int, height: int) -> tuple[float, float, float, float]:
        """Where a ``width`` × ``height`` image lands in the model input: ``(scale_x, scale_y, offset_x, offset_y)``,
        so that input pixel ``(x, y)`` shows original pixel ``((x - offset_x) / scale_x, (y - offset_y) / scale_y)``."""
        if self.letterbox:
            new_width, new_height, offset_x, offset_y = letterbox_geometry(width, height, self.size["width"])
            return new_width / width, new_height / height, float(offset_x), float(offset_y)
        return self.size["width"] / width, self.size["height"] / height, 0.0, 0.0

    def placement_of(self, image) -> tuple[float, float, float, float]:
        """:meth:`placement` for any image :func:`to_pil` accepts (read the way the processor reads it)."""
        return self.placement(*to_pil(image).size)

    def to_uint8(self, image) -> torch.Tensor:
        """One image → uint8 tensor (channels, height, width) at the model's size and mode."""
        try:
            image = convert_mode(to_pil(image), self.num_channels)
        except OSError as error:  # truncated or undecodable files surface here, when pixels are read
            raise ValueError(f"could not read the image: {error}") from error
        target = (self.size["width"], self.size["height"])
        if self.letterbox and image.size != target:
            new_width, new_height, offset_x, offset_y = letterbox_geometry(*image.size, target[0])
            canvas = Image.new(image.mode, target)
            canvas.paste(image.resize((new_width, new_height), resample=self.resample), (offset_x, offset_y))
            image = canvas
        elif image.size != target:
            image = image.resize(target, resample=self.resample)
        array = np.asarray(image, dtype=np.uint8)
        array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
        return torch.from_numpy(array.copy())

    def normalize_uint8(self, images: torch.Tensor) -> torch.Tensor:
        """The training path: a uint8 batch straight from the data layer → ``pixel_values``."""
        return normalize_uint8(images, self.image_mean, self.image_std)

    def preprocess(self, images, return_tensors=None, **kwargs) -> BatchFeature:
        if isinstance(images, (list, tuple)):
            batch = [self.to_uint8(image) for image in images]
        else:
            batch = [self.to_uint8(images)]
        if not batch:
            raise ValueError("no images given")
        pixel_values = self.normalize_uint8(torch.stack(batch))
        return BatchFeature(data={"pixel_values": pixel_values}, tensor_type=return_tensors)

    def __call__(self, images, *args, **kwargs) -> BatchFeature:
        return self.preprocess(images, *args, **kwargs)
