"""Camera effects applied last to a scene: blur or motion blur, down-and-up scaling, colour cast, exposure,
contrast and gamma, vignetting, sensor noise and JPEG compression.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageFilter

from .scene_painting import _u


def _camera(rng: np.random.Generator, image: Image.Image, mode: str) -> Image.Image:
    """``image`` through the camera: blur, rescaling, colour / exposure tables, vignette, noise, JPEG."""
    w, h = image.size
    s = max(w, h) / 256.0
    pick = rng.random()
    if pick < 0.25:
        image = image.filter(ImageFilter.GaussianBlur(_u(rng, 0.4, 1.5) * s))
    elif pick < 0.33:  # motion blur along a random direction (a 5x5 line kernel)
        kernel = np.zeros((5, 5), np.float32)
        a = _u(rng, 0, math.pi)
        for t in np.linspace(-2, 2, 9):
            kernel[int(round(2 + t * math.sin(a))), int(round(2 + t * math.cos(a)))] += 1
        image = image.filter(ImageFilter.Kernel((5, 5), (kernel / kernel.sum()).ravel().tolist(), 1))
    if rng.random() < 0.3:
        f = _u(rng, 0.3, 0.7)
        image = image.resize((max(8, int(w * f)), max(8, int(h * f))), Image.BILINEAR).resize((w, h), Image.BILINEAR)
    # colour cast / white balance, brightness, contrast, gamma: one lookup table per channel
    gains = [_u(rng, 0.85, 1.15) for _ in range(3)]
    brightness, contrast, gamma = _u(rng, -30, 30), _u(rng, 0.7, 1.25), math.exp(_u(rng, -0.35, 0.35))
    levels = np.arange(256, dtype=np.float32)
    luts = []
    for gain in ([1.0] if mode == "L" else gains):
        v = 255.0 * (levels * gain / 255.0).clip(0, 1) ** gamma
        v = (v - 128) * contrast + 128 + brightness
        luts.append(np.clip(v + 0.5, 0, 255).astype(np.uint8))
    image = image.point(np.concatenate(luts).tolist())
    vignette = _u(rng, 0.2, 0.6) if rng.random() < 0.4 else 0.0
    noise = _u(rng, 2, 12) if rng.random() < 0.6 else 0.0
    noise_seed = int(rng.integers(2**63))
    if vignette or noise:
        pixels = np.asarray(image, dtype=np.float32)
        if vignette:
            xs = np.linspace(-1, 1, w, dtype=np.float32) * (w / max(w, h))
            ys = np.linspace(-1, 1, h, dtype=np.float32) * (h / max(w, h))
            v = 1.0 - vignette * 0.5 * (xs[None, :] ** 2 + ys[:, None] ** 2)
            pixels = pixels * (v[..., None] if pixels.ndim == 3 else v)
        if noise:
            pixels = pixels + noise * np.random.default_rng(noise_seed).standard_normal(pixels.shape, dtype=np.float32)
        image = Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), mode=mode)
    if rng.random() < 0.6:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(_u(rng, 25, 95)))
        image = Image.open(io.BytesIO(buffer.getvalue()))
        image.load()
        image = image.convert(mode)
    return image
