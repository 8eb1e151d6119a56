"""Drawing a seed-renderer clock: the dial-coordinate painter, background, clutter, markers, hands, effects.

Everything is drawn at ``SUPERSAMPLE`` times the output size through one homography (see
:mod:`tinyvision.data.clock_geometry`) and box-downsampled by :func:`tinyvision.data.clocks.render_clock_with_labels`,
which calls these helpers in order; ``_postprocess`` then adds blur, glare and noise at the output size.
:class:`_Painter` is also the base of the scene generator's face painter.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .clock_geometry import _hand_outline, _outline, _project, _radial
from .clock_style import RGB, ClockStyle, _lum

SUPERSAMPLE = 3  # drawing scale: shapes are drawn this many times larger, then box-reduced (anti-aliasing)


@functools.lru_cache(maxsize=128)
def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=px)  # Pillow's bundled FreeType font (Pillow >= 10.1)


@functools.lru_cache(maxsize=2048)
def _glyph_mask(text: str, px: int, stroke: int) -> Image.Image:
    font = _font(px)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    mask = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(mask).text((1 - left, 1 - top), text, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    return mask


class _Painter:
    """Draws dial-coordinate shapes onto a supersampled canvas."""

    def __init__(self, canvas: Image.Image, matrix: np.ndarray, scale: int):
        self.canvas, self.draw, self.mode = canvas, ImageDraw.Draw(canvas), canvas.mode
        self.matrix = np.diag([scale, scale, 1.0]) @ matrix

    def ink(self, rgb: RGB):
        return int(round(_lum(rgb))) if self.mode == "L" else tuple(rgb)

    def polygons(self, uv: np.ndarray, rgb: RGB, shift=(0.0, 0.0)):
        """Fill one polygon [m, 2] or several [k, m, 2] in dial coordinates."""
        uv = np.asarray(uv, dtype=np.float64)
        xy = (_project(self.matrix, uv) + shift).reshape(uv.shape[:-2] + (-1,))
        fill = self.ink(rgb)
        for flat in np.atleast_2d(xy).tolist():
            self.draw.polygon(flat, fill=fill)

    def ring(self, uv: np.ndarray, rgb: RGB, width: float):
        self.draw.polygon(_project(self.matrix, uv).ravel().tolist(), outline=self.ink(rgb), width=max(1, round(width)))

    def dots(self, centres: np.ndarray, radius: float, rgb: RGB):
        self.polygons(np.asarray(centres)[..., None, :] + _outline("circle", radius, n=24), rgb)

    def radial_bars(self, dial_angles, r0: float, r1: float, width: float, rgb: RGB, offset: float = 0.0):
        w = width / 2
        self.polygons(_radial(dial_angles, [r0, r1, r1, r0], [offset - w, offset - w, offset + w, offset + w]), rgb)

    def texts(self, centres: np.ndarray, texts: list[str], px: int, rotation: float, rgb: RGB, stroke: int = 0):
        """Draw each text centred on its dial-coordinate point, turned with the dial."""
        fill = self.ink(rgb)
        for (x, y), text in zip(_project(self.matrix, centres).tolist(), texts):
            mask = _glyph_mask(text, px, stroke).rotate(-rotation, resample=Image.BILINEAR, expand=True)
            x0, y0 = round(x - mask.width / 2), round(y - mask.height / 2)
            self.canvas.paste(fill, (x0, y0, x0 + mask.width, y0 + mask.height), mask)


def _background(style: ClockStyle, size: int, mode: str) -> Image.Image:
    """Background at ``SUPERSAMPLE * size``; a gradient is computed at ``size`` and upscaled by
    pixel repetition, which the final box downsampling turns back into the smooth original."""
    base = np.array([_lum(style.background)] if mode == "L" else style.background, dtype=np.float32)
    strength, direction = style.background_gradient
    big = size * SUPERSAMPLE
    if strength == 0:
        return Image.new(mode, (big, big), tuple(int(c) for c in base) if mode == "RGB" else int(base[0]))
    d = math.radians(direction)
    ramp = np.linspace(-1, 1, size, dtype=np.float32)
    field = math.sin(d) * ramp[None, :] - math.cos(d) * ramp[:, None]
    pixels = np.clip(base + strength * field[..., None], 0, 255).astype(np.uint8)
    small = Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode=mode)
    return small.resize((big, big), Image.NEAREST)


def _draw_clutter(draw: ImageDraw.ImageDraw, rng: np.random.Generator, count: int, side: int, mode: str):
    for _ in range(count):
        rgb = tuple(int(c) for c in rng.integers(0, 256, 3))
        fill = int(round(_lum(rgb))) if mode == "L" else rgb
        x0, y0, x1, y1 = (rng.uniform(-0.1, 1.1, 4) * side).tolist()
        box = [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]
        width = int(rng.uniform(0.005, 0.03) * side) + 1
        kind = rng.integers(4)
        if kind == 0:
            draw.line([x0, y0, x1, y1], fill=fill, width=width)
        elif kind == 1:
            draw.rectangle(box, fill=fill if rng.random() < 0.5 else None, outline=fill, width=width)
        elif kind == 2:
            draw.ellipse(box, fill=fill if rng.random() < 0.5 else None, outline=fill, width=width)
        else:
            pts = (rng.uniform(-0.1, 1.1, (3, 2)) * side).ravel().tolist()
            draw.polygon(pts, fill=fill)


def _twelve_marker_depth(style: ClockStyle) -> float:
    """How far the 12 o'clock marker reaches inwards from ``marker_radius``."""
    return {
        "triangle": 0.2,
        "double_tick": max(style.tick_length, 0.12),
        "big_dot": 0.155,
        "bar": max(style.tick_length * 1.3, 0.14),
        "numeral": 0.0,
    }[style.twelve_marker]


def _draw_markers(paint: _Painter, style: ClockStyle, text_rotation: float, px_per_radius: float):
    r_out, tick_w, ink = style.marker_radius, style.tick_width, style.ink_color
    r_in = r_out - style.tick_length
    hours = np.arange(1, 12)
    if style.minute_ticks:
        minute_marks = np.array([m for m in range(60) if m % 5])
        paint.radial_bars(6.0 * minute_marks, r_out - 0.045, r_out, tick_w * 0.4, ink)
    if style.markers in ("ticks", "numerals_ticks"):
        paint.radial_bars(30.0 * hours, r_in, r_out, tick_w, ink)
    elif style.markers == "cardinal":
        paint.radial_bars(30.0 * np.array([3, 6, 9]), r_in, r_out, tick_w * 1.6, ink)
        paint.dots(_radial(30.0 * hours[hours % 3 > 0], r_out - 0.03, 0.0), 0.015, ink)
    elif style.markers == "dots":
        paint.dots(_radial(30.0 * hours, r_out - 0.05, 0.0), 0.035, ink)
    # the 12 o'clock marker: always unlike every other marker on the dial
    kind = style.twelve_marker
    if kind == "triangle":
        paint.polygons(_radial(0.0, [r_out, r_out, r_out - 0.2], [-0.075, 0.075, 0.0]), ink)
    elif kind == "double_tick":
        for side in (-1, 1):
            paint.radial_bars(0.0, r_out - _twelve_marker_depth(style), r_out, tick_w, ink, side * tick_w * 1.1)
    elif kind == "big_dot":
        paint.dots(_radial(0.0, r_out - 0.08, 0.0), 0.075, style.accent_color)
    elif kind == "bar":
        paint.radial_bars(0.0, r_out - _twelve_marker_depth(style), r_out, max(tick_w * 3, 0.1), ink)
    if style.markers in ("numerals", "numerals_ticks"):
        px = max(6, round(style.numeral_size * px_per_radius))
        outer = min(r_in if style.markers == "numerals_ticks" else r_out, r_out - _twelve_marker_depth(style))
        r_num = outer - 0.65 * style.numeral_size
        numbered = list(range(1, 12 if kind == "numeral" else 13))
        paint.texts(_radial(30.0 * np.array(numbered), r_num, 0.0), [str(h) for h in numbered], px, text_rotation, ink)
        if kind == "numeral":
            big_px = round(px * 1.4)
            centre = _radial(0.0, r_num - 0.2 * style.numeral_size, 0.0)
            paint.texts(centre, ["12"], big_px, text_rotation, style.accent_color, stroke=max(1, round(big_px / 14)))


def _draw_hands(paint: _Painter, style: ClockStyle, hour_angle: float, minute_angle: float):
    hands = ((hour_angle, style.hour_length, style.hour_width), (minute_angle, style.minute_length, style.minute_width))
    for angle, length, width in hands:
        along, across = _hand_outline(style.hand_shape, length, width, style.hand_tail)
        paint.polygons(_radial(angle, along, across), style.hand_color)
    paint.dots(np.zeros(2), style.cap_radius, style.hand_color)
    if style.second_hand:
        second_w = min(0.016, style.minute_width * 0.4)
        paint.radial_bars(style.second_angle, -0.22, max(style.minute_length, 0.85), second_w, style.accent_color)
        paint.dots(np.zeros(2), style.cap_radius * 0.5, style.accent_color)


def _postprocess(image: Image.Image, style: ClockStyle, rng: np.random.Generator) -> Image.Image:
    """Blur, then glare and sensor noise in one pass (glare is smooth, so blurring it first changes nothing)."""
    if style.blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(style.blur))
    if style.glare <= 0 and style.noise <= 0:
        return image
    pixels = np.asarray(image, dtype=np.float32)
    h, w = pixels.shape[:2]
    extra = np.zeros((h, w), dtype=np.float32)
    if style.glare > 0:
        d = rng.uniform(0, 2 * np.pi)
        xs, ys = np.linspace(-1, 1, w, dtype=np.float32), np.linspace(-1, 1, h, dtype=np.float32)
        band = np.cos(d) * xs[None, :] + np.sin(d) * ys[:, None]
        extra += style.glare * np.exp(-(((band - rng.uniform(-0.6, 0.6)) / rng.uniform(0.1, 0.3)) ** 2))
    if style.noise > 0:
        extra = extra + style.noise * rng.standard_normal((h, w), dtype=np.float32)
    pixels = pixels + (extra[..., None] if pixels.ndim == 3 else extra)
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), mode=image.mode)
