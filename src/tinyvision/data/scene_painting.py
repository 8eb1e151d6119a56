"""Small drawing helpers shared by the scene generator's modules.

Colours (``_jitter``, ``_shade``, muted ``_random_color``), fonts and rotated text masks (matplotlib's bundled
TrueType fonts, falling back to Pillow's), mode conversion and smooth random fields, and
:class:`_FacePainter`, the seed renderer's dial-coordinate painter extended with fonts, rings and outlines
for drawing a clock face frontally.
"""

from __future__ import annotations

import functools
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .clock_drawing import _Painter
from .clock_geometry import _project
from .clock_style import RGB, _lum, _uniform

_FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "cmr10.ttf", "cmss10.ttf", "DejaVuSans-Oblique.ttf",
)
_WORDS = ("QUARTZ", "ROYAL", "SWISS", "TIME", "ACME", "KLOCK", "NORD", "OMNI", "LUX", "MEISTER", "SEIKA",
          "HERMLE", "ATLAS", "CITY", "PARIS", "LONDON", "ELITE", "AUTOMATIC", "WATER", "RESIST", "MADE IN")


def _u(rng: np.random.Generator, low: float = 0.0, high: float = 1.0) -> float:
    return _uniform(rng, low, high)


def _clip_rgb(values) -> RGB:
    return tuple(int(min(255.0, max(0.0, v))) for v in values)


def _jitter(rgb, rng: np.random.Generator, amount: float) -> RGB:
    return _clip_rgb(c + _u(rng, -amount, amount) for c in rgb)


def _shade(rgb, factor: float) -> RGB:
    return _clip_rgb(c * factor for c in rgb)


def _random_color(rng: np.random.Generator) -> RGB:
    """A random colour, usually muted (real rooms are mostly grays, browns and pastels)."""
    rgb = rng.integers(0, 256, 3).astype(np.float64)
    mix = 0.35 if rng.random() < 0.8 else 1.0  # saturation kept
    return _clip_rgb(rgb.mean() + mix * (rgb - rgb.mean()))


@functools.lru_cache(maxsize=1)
def _font_dir() -> str:
    import matplotlib

    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


@functools.lru_cache(maxsize=512)
def _font(name: str, px: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(os.path.join(_font_dir(), name), px)
    except (OSError, ImportError):  # no matplotlib fonts: Pillow's bundled font
        return ImageFont.load_default(size=px)


@functools.lru_cache(maxsize=4096)
def _text_mask(font_name: str, text: str, px: int, rotation: int) -> Image.Image:
    """An 'L' mask of ``text``, turned ``rotation`` degrees clockwise."""
    font = _font(font_name, px)
    left, top, right, bottom = font.getbbox(text)
    mask = Image.new("L", (max(1, right - left) + 2, max(1, bottom - top) + 2), 0)
    ImageDraw.Draw(mask).text((1 - left, 1 - top), text, fill=255, font=font)
    return mask.rotate(-rotation, resample=Image.BILINEAR, expand=True) if rotation else mask


def _ink(mode: str, rgb: RGB):
    return int(round(_lum(rgb))) if mode == "L" else tuple(rgb)


def _smooth_field(rng: np.random.Generator, cells: int, height: int, width: int) -> np.ndarray:
    """Smooth random field in [-1, 1] of shape [height, width] (bilinear upsampling of a coarse grid)."""
    coarse = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, mode="F").resize((width, height), Image.BILINEAR))


def _to_mode(array: np.ndarray, mode: str, size: tuple[int, int]) -> Image.Image:
    """uint8 RGB array (small) → PIL image of ``mode`` upscaled to ``size`` (bilinear)."""
    image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), mode="RGB")
    if mode == "L":
        image = image.convert("L")
    return image.resize(size, Image.BILINEAR)


class _FacePainter(_Painter):
    """_Painter for a frontal face canvas, plus fonts, rings and outlines."""

    def texts_font(self, centres, texts, font_name: str, px: int, rotations, rgb: RGB):
        fill = self.ink(rgb)
        rotations = np.broadcast_to(np.asarray(rotations, dtype=np.float64), (len(texts),))
        for (x, y), text, rot in zip(_project(self.matrix, centres).tolist(), texts, rotations.tolist()):
            mask = _text_mask(font_name, text, px, int(round(rot)) % 360)
            x0, y0 = round(x - mask.width / 2), round(y - mask.height / 2)
            self.canvas.paste(fill, (x0, y0, x0 + mask.width, y0 + mask.height), mask)

    def circle(self, radius: float, rgb: RGB, centre=(0.0, 0.0), width: float | None = None):
        """A disc (width None) or a ring of ``width`` dial units, as an ellipse on the frontal canvas."""
        (x, y), = _project(self.matrix, [centre]).tolist()
        r = radius * self.matrix[0, 0]
        box = [x - r, y - r, x + r, y + r]
        if width is None:
            self.draw.ellipse(box, fill=self.ink(rgb))
        else:
            self.draw.ellipse(box, outline=self.ink(rgb), width=max(1, round(width * self.matrix[0, 0])))

    def outline(self, uv: np.ndarray, rgb: RGB, width: float):
        xy = _project(self.matrix, uv).ravel().tolist()
        self.draw.polygon(xy, outline=self.ink(rgb), width=max(1, round(width * self.matrix[0, 0])))
