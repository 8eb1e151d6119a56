"""How well a clock reader transfers to clocks from a renderer it has never seen.

    python benchmarks/clock_transfer.py --model_dir outputs/clock-reader --num_clocks 1000 --seed 0 \
        --output_dir reports/task2/transfer

The reader is trained only on ``tinyvision.data.clocks.render_clock``. This script draws analog clocks
with an independent renderer written here from scratch with matplotlib (it imports nothing from
``tinyvision.data.clocks``), reads each one through ``pipeline("clock-reading", model=model_dir)``, and
prints mean / median / p90 common-sense error (minutes) and hour accuracy. As a same-process baseline it
reads the same number of clocks from tinyvision's own renderer through the same pipeline, so the two
figures sit side by side. Writes ``results.json``, ``predictions.png`` (independent clocks titled with
true vs predicted time) and ``examples.png`` (12 independent clocks, no predictions) to ``--output_dir``.

The independent clocks (``render_independent_clock``): the whole dial turned by a uniform random angle,
with a 12 o'clock marker unlike every other hour marker (a star, diamond, hollow ring, double bar,
outward-pointing triangle, or an accented/larger "12" / "XII"); dial shapes circle, sharp square,
12-gon or frameless; light-on-dark and dark-on-light faces in random hues; Roman or Arabic numerals in
serif / sans / monospace fonts, bars, dots or wedges, optional minute ticks or a railway minute track;
hands as round-ended batons, swords, Breguet moon hands, hollow skeleton hands or counterweighted
lines, the hour hand shorter and thicker and moving with the minutes (``30 * (h + m / 60)`` degrees);
optional second hand, brand text, date window, hand shadows, glass glare; blotchy, striped or flat
backgrounds; JPEG artefacts and blur. Rendered in RGB, returned as 8-bit grayscale by default.
"""

from __future__ import annotations

import argparse
import colorsys
import io
import json
import math
import os
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Ellipse, Polygon, Rectangle, RegularPolygon
from PIL import Image, ImageFilter

from clock_photos import add_reading_arguments, clock_reading_pipeline, command_line

DPI = 100
ROMAN = ["XII", "I", "II", "III", "IIII", "V", "VI", "VII", "VIII", "IX", "X", "XI"]
FONTS = ["DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono"]
BRANDS = ["QUARTZ", "GENEVA", "KELVIN", "ACME", "TEMPUS", "NORD", "MADE IN", "SWISS"]


# ---------------------------------------------------------------- colours


def _lum(rgb) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _color(rng: np.random.Generator, light: bool, saturation: float = 0.6) -> tuple[float, float, float]:
    """A random hue, light (luma > ~0.75) or dark (luma < ~0.25)."""
    value = rng.uniform(0.85, 1.0) if light else rng.uniform(0.0, 0.3)
    sat = rng.uniform(0.0, saturation * (0.35 if light else 1.0))
    rgb = colorsys.hsv_to_rgb(rng.random(), sat, value)
    return rgb if (_lum(rgb) > 0.72) == light or not light and _lum(rgb) < 0.28 else (value,) * 3


def _accent(rng: np.random.Generator, face, ink):
    """A saturated colour for the 12 marker / second hand that stays far from the face in luma."""
    for _ in range(20):
        rgb = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.6, 1.0), rng.uniform(0.4, 1.0))
        if abs(_lum(rgb) - _lum(face)) > 0.45:
            return rgb
    return ink


# ---------------------------------------------------------------- geometry


class _Dial:
    """Maps dial coordinates (radius r in dial radii, angle a in degrees clockwise from 12) to axes units."""

    def __init__(self, centre, radius: float, rotation: float):
        self.cx, self.cy = centre
        self.radius, self.rotation = radius, rotation

    def xy(self, r, a):
        r, t = np.asarray(r, dtype=float) * self.radius, np.radians(np.asarray(a, dtype=float) + self.rotation)
        return np.stack([self.cx + r * np.sin(t), self.cy + r * np.cos(t)], axis=-1)

    def shape(self, along, across, a):
        """Polygon given (along, across) offsets in dial radii on the ray at angle ``a``."""
        t = math.radians(a + self.rotation)
        s, c = math.sin(t), math.cos(t)
        along, across = np.asarray(along, dtype=float) * self.radius, np.asarray(across, dtype=float) * self.radius
        return np.stack([self.cx + along * s + across * c, self.cy + along * c - across * s], axis=-1)


def _star(n_points: int, outer: float, inner: float):
    t = np.arange(2 * n_points) * math.pi / n_points
    r = np.where(np.arange(2 * n_points) % 2 == 0, outer, inner)
    return r * np.cos(t), r * np.sin(t)  # (along, across), first point on the ray


# ---------------------------------------------------------------- figure reuse

_FIGURES: dict[int, tuple[Figure, object]] = {}


def _axes(size: int):
    """One Agg figure per size, reused: axes span the whole canvas with limits [-1, 1] on both axes."""
    if size not in _FIGURES:
        fig = Figure(figsize=(size / DPI, size / DPI), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        ax.set_autoscale_on(False)
        ax.set_axis_off()
        _FIGURES[size] = (fig, ax)
    fig, ax = _FIGURES[size]
    for artist in [*ax.patches, *ax.collections, *ax.images, *ax.texts, *ax.lines, *ax.artists]:  # cheaper than clear()
        artist.remove()
    return fig, ax


# ---------------------------------------------------------------- drawing parts


def _draw_background(ax, rng, size):
    kind = rng.choice(["flat", "blotches", "stripes", "vignette"], p=[0.25, 0.35, 0.2, 0.2])
    base = np.array(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0, 0.7), rng.uniform(0.05, 1.0)))
    if kind == "flat":
        ax.add_artist(Rectangle((-1, -1), 2, 2, color=base, zorder=0))
        return base
    k = 64
    ys, xs = np.mgrid[-1 : 1 : k * 1j, -1 : 1 : k * 1j]
    if kind == "blotches":
        coarse = rng.uniform(-1, 1, (4, 4, 3))
        field = np.asarray(Image.fromarray(((coarse + 1) * 127.5).astype(np.uint8)).resize((k, k), Image.BICUBIC))
        field = field / 127.5 - 1
    elif kind == "stripes":
        d = rng.uniform(0, math.pi)
        wave = np.sin((np.cos(d) * xs + np.sin(d) * ys) * rng.uniform(4, 14))
        field = np.repeat(np.sign(wave)[..., None], 3, axis=-1) * rng.uniform(0.3, 1.0)
    else:
        field = np.repeat(-(xs**2 + ys**2)[..., None], 3, axis=-1) + 0.5
    image = np.clip(base + rng.uniform(0.1, 0.35) * field, 0, 1)
    ax.imshow(image, extent=(-1, 1, -1, 1), interpolation="bilinear", zorder=0, origin="lower")
    return base


def _draw_dial(ax, rng, dial: _Dial, face, ink, background, record: dict | None = None):
    shape = rng.choice(["circle", "square", "dodecagon", "frameless"], p=[0.5, 0.2, 0.15, 0.15])
    if record is not None:
        record.update(dial=str(shape), inner_ring=False)
    if shape == "frameless":  # hour marks float on the background: the face is the background
        return background
    bezel = rng.uniform(0.03, 0.14)
    bezel_color = _color(rng, light=rng.random() < 0.5, saturation=0.8)
    if abs(_lum(background) - _lum(face)) < 0.25 and abs(_lum(bezel_color) - _lum(face)) < 0.3:
        bezel_color = ink  # keep the dial's outline visible against a similar background
    centre, radius = (dial.cx, dial.cy), dial.radius
    for scale, color in ((1.0 + bezel, bezel_color), (1.0, face)):
        if shape == "circle":
            patch = Circle(centre, radius * scale, color=color, zorder=1)
        elif shape == "square":  # square dials turn with the clock
            patch = RegularPolygon(centre, 4, radius=radius * scale * 1.04 * math.sqrt(2),
                                   orientation=math.radians(45 - dial.rotation), color=color, zorder=1)
        else:
            patch = RegularPolygon(centre, 12, radius=radius * scale * 1.04,
                                   orientation=math.radians(15 - dial.rotation), color=color, zorder=1)
        ax.add_artist(patch)
    if rng.random() < 0.3:  # a thin inner ring
        ax.add_artist(Circle(centre, radius * rng.uniform(0.6, 0.75), fill=False, ec=ink,
                            lw=rng.uniform(0.4, 1.0), zorder=2))
        if record is not None:
            record["inner_ring"] = True
    return face


def _px(size: int, axes_units: float) -> float:
    """Points for a width given in axes units (the canvas spans 2 axes units)."""
    return axes_units * size / 2 * 72 / DPI


def _draw_ticks(ax, dial: _Dial, size, angles, r0, r1, width, color):
    segments = np.stack([dial.xy(r0, angles), dial.xy(r1, angles)], axis=1)
    ax.add_artist(LineCollection(segments, colors=[color], linewidths=_px(size, width * dial.radius),
                                     capstyle="butt", zorder=3))


def _draw_markers(ax, rng, dial: _Dial, size, ink, accent, hand_kind: str, record: dict | None = None):
    """Hour markers, optional minute marks, and a distinct 12 o'clock marker. Returns the marker style; ``record``
    (if given) gets the marker style, the minute marks and the 12 o'clock marker."""
    style = rng.choice(["bars", "arabic", "roman", "dots", "wedges", "quarters"], p=[0.22, 0.22, 0.16, 0.14, 0.12, 0.14])
    outer = rng.uniform(0.86, 0.95)
    hour_angles = np.arange(1, 12) * 30.0
    minute_style = rng.choice(["none", "ticks", "track"], p=[0.4, 0.4, 0.2])
    if style == "quarters" and minute_style == "none":
        minute_style = "ticks"  # three bars alone are hard to read to the minute
    minute_angles = np.array([a for a in np.arange(60) * 6.0 if a % 30])
    if minute_style == "ticks":
        _draw_ticks(ax, dial, size, minute_angles, outer - 0.05, outer, 0.012, ink)
    elif minute_style == "track":  # railway track: two circles with short ticks between them
        for r in (outer, outer - 0.06):
            ax.add_artist(Circle((dial.cx, dial.cy), dial.radius * r, fill=False, ec=ink,
                                lw=_px(size, 0.008 * dial.radius), zorder=3))
        _draw_ticks(ax, dial, size, minute_angles, outer - 0.06, outer, 0.012, ink)

    tick_len = rng.uniform(0.1, 0.2)
    bar_width = rng.uniform(0.025, 0.06)
    font = FONTS[int(rng.integers(len(FONTS)))]
    weight = "bold" if rng.random() < 0.5 else "normal"
    numeral_height = rng.uniform(0.15, 0.22) if style == "arabic" else rng.uniform(0.12, 0.16)  # dial radii
    numeral_px = numeral_height * dial.radius * size / 2  # cap height in pixels
    numeral_r = outer - (0.09 if minute_style != "none" else 0.02) - numeral_height * (0.7 if style == "arabic" else 1.6)
    radial_text = style == "arabic" and rng.random() < 0.3  # numerals' tops point outwards, else upright on the dial

    def numeral(text, a, scale=1.0, color=ink, bold=None):
        x, y = dial.xy(numeral_r, a)
        rotation = -(dial.rotation + (a if radial_text else 0.0))
        ax.text(x, y, text, fontsize=numeral_px * scale / 0.72 * 72 / DPI, family=font,
                weight=bold or weight, color=color, ha="center", va="center", rotation=rotation,
                rotation_mode="anchor", zorder=4)

    if style == "bars":
        quarter = np.array([90.0, 180.0, 270.0])
        others = np.array([a for a in hour_angles if a % 90])
        _draw_ticks(ax, dial, size, others, outer - tick_len, outer, bar_width, ink)
        _draw_ticks(ax, dial, size, quarter, outer - tick_len * 1.3, outer, bar_width * 1.6, ink)
    elif style == "arabic":
        for h in range(1, 12):
            numeral(str(h), 30.0 * h)
    elif style == "roman":
        for h in range(1, 12):
            numeral(ROMAN[h], 30.0 * h)
    elif style == "dots":
        r = rng.uniform(0.03, 0.06)
        centres = dial.xy(outer - 0.08, hour_angles)
        ax.add_artist(PatchCollection([Circle(c, r * dial.radius) for c in centres], color=ink, zorder=3))
    elif style == "wedges":  # slim triangles pointing at the centre
        for a in hour_angles:
            along, across = [outer, outer, outer - tick_len * 1.4], [-bar_width, bar_width, 0.0]
            ax.add_artist(Polygon(dial.shape(along, across, a), color=ink, zorder=3))
    else:  # quarters: bars at 3, 6 and 9 only
        _draw_ticks(ax, dial, size, np.array([90.0, 180.0, 270.0]), outer - tick_len * 1.3, outer, bar_width * 1.6, ink)

    # The 12 o'clock marker: never the same shape as the other hour markers.
    choices = ["star", "diamond", "double_bar", "out_triangle"] + ([] if hand_kind == "breguet" else ["ring"])
    if style == "arabic":
        choices = ["big12"] * 4 + choices
    if style == "roman":
        choices = ["bigXII"] * 4 + choices
    twelve = rng.choice(choices)
    if record is not None:
        record.update(markers=str(style), minute_marks=str(minute_style), twelve=str(twelve),
                      numerals="none" if style not in ("arabic", "roman") else "radial" if radial_text else "upright")
    color = accent if rng.random() < 0.5 else ink
    m = rng.uniform(0.09, 0.14)  # marker half-size in dial radii
    if twelve == "big12":
        numeral("12", 0.0, scale=1.25, color=color, bold="bold")
    elif twelve == "bigXII":
        numeral("XII", 0.0, scale=1.3, color=color, bold="bold")
    elif twelve == "star":
        along, across = _star(5, m * 1.3, m * 0.55)
        ax.add_artist(Polygon(dial.shape(outer - m * 1.3 + along, across, 0.0), color=color, zorder=4))
    elif twelve == "diamond":
        along, across = [outer, outer - m, outer - 2.4 * m, outer - m], [0.0, m * 0.8, 0.0, -m * 0.8]
        ax.add_artist(Polygon(dial.shape(along, across, 0.0), color=color, zorder=4))
    elif twelve == "ring":
        x, y = dial.xy(outer - m, 0.0)
        ax.add_artist(Circle((x, y), m * dial.radius, fill=False, ec=color, lw=_px(size, 0.35 * m * dial.radius), zorder=4))
    elif twelve == "double_bar":
        for offset in (-1.0, 1.0):
            along, across = [outer, outer, outer - 0.24, outer - 0.24], np.array([-1, 1, 1, -1]) * 0.024 + offset * 0.05
            ax.add_artist(Polygon(dial.shape(along, across, 0.0), color=color, zorder=4))
    else:  # a triangle pointing outwards, base towards the centre
        along, across = [outer, outer - 2 * m, outer - 2 * m], [0.0, -m * 1.1, m * 1.1]
        ax.add_artist(Polygon(dial.shape(along, across, 0.0), color=color, zorder=4))
    return style


def _hand_polygons(kind: str, length: float, width: float, tail: float):
    """Filled (along, across) polygons and hollow ones (drawn as outlines) for one hand."""
    w = width / 2
    if kind == "sword":
        return [([-tail, length * 0.8, length, length * 0.8, -tail], [-w, -w, 0, w, w])], []
    if kind == "breguet":  # thin shaft, a hollow moon near the tip, a short point beyond it
        ring_r = max(width * 1.1, 0.05)
        centre = length - ring_r * 2.2
        shaft = ([-tail, centre - ring_r, centre - ring_r, -tail], [-w * 0.6, -w * 0.6, w * 0.6, w * 0.6])
        tip = ([centre + ring_r * 0.8, length, centre + ring_r * 0.8], [-w * 0.6, 0, w * 0.6])
        t = np.linspace(0, 2 * math.pi, 24)
        moon = (centre + ring_r * np.cos(t), ring_r * np.sin(t))
        return [shaft, tip], [moon]
    if kind == "skeleton":
        return [], [([-tail, length * 0.75, length, length * 0.75, -tail], [-w * 1.3, -w * 1.3, 0, w * 1.3, w * 1.3])]
    if kind == "counterweight":
        t = np.linspace(0, 2 * math.pi, 20)
        disc = (-tail - 0.06 + 0.06 * np.cos(t), 0.06 * np.sin(t))
        return [([-tail, length, length, -tail], [-w, -w, w, w]), disc], []
    # baton: a bar with a rounded end
    t = np.linspace(-math.pi / 2, math.pi / 2, 9)
    along = np.concatenate([[-tail], length - w + w * np.cos(t), [-tail]])
    across = np.concatenate([[-w], w * np.sin(t), [w]])
    return [(along, across)], []


def _draw_hand(ax, dial: _Dial, size, angle, polys, color, zorder, shadow=None, face=None):
    filled, hollow = polys
    shift = np.zeros(2) if shadow is None else np.asarray(shadow)
    color = color if shadow is None else (0.0, 0.0, 0.0, 0.3)
    for along, across in filled:
        ax.add_artist(Polygon(dial.shape(along, across, angle) + shift, color=color, zorder=zorder, lw=0))
    for along, across in hollow:
        ax.add_artist(Polygon(dial.shape(along, across, angle) + shift, fc="none" if face is None else face,
                             ec=color, lw=_px(size, 0.025 * dial.radius), zorder=zorder))


def _draw_hands(ax, rng, dial: _Dial, size, hour, minute, face, ink, accent, kind: str):
    hand_color = ink if rng.random() < 0.7 else _color(rng, light=_lum(face) < 0.5, saturation=1.0)
    minute_len = rng.uniform(0.74, 0.92)
    hour_len = rng.uniform(0.48, 0.66) * minute_len / 0.9
    minute_w = rng.uniform(0.035, 0.07)
    hour_w = minute_w * rng.uniform(1.5, 2.2)
    tail = rng.uniform(0.0, 0.18) if kind != "counterweight" else rng.uniform(0.12, 0.2)
    hour_angle, minute_angle = 30.0 * (hour % 12 + minute / 60.0), 6.0 * minute
    hands = [(hour_angle, _hand_polygons(kind, hour_len, hour_w, tail * 0.8), 6),
             (minute_angle, _hand_polygons(kind, minute_len, minute_w, tail), 7)]
    if rng.random() < 0.3:  # shadows cast on the dial by a light from one side
        d = rng.uniform(0, 2 * math.pi)
        shadow = dial.radius * rng.uniform(0.02, 0.05) * np.array([math.cos(d), math.sin(d)])
        for angle, polys, z in hands:
            _draw_hand(ax, dial, size, angle, polys, hand_color, 5, shadow=shadow)
    for angle, polys, z in hands:
        _draw_hand(ax, dial, size, angle, polys, hand_color, z, face=face)
    cap = rng.uniform(0.04, 0.09)
    ax.add_artist(Circle((dial.cx, dial.cy), cap * dial.radius, color=hand_color, zorder=8))
    if rng.random() < 0.35:  # a thin second hand as a distractor, often with a lollipop or a long tail
        a = rng.uniform(0, 360)
        length = rng.uniform(0.8, 0.95)
        seg = np.stack([dial.xy(-0.25, a), dial.xy(length, a)])
        ax.add_artist(LineCollection([seg], colors=[accent], linewidths=_px(size, 0.012 * dial.radius), zorder=9))
        if rng.random() < 0.5:
            x, y = dial.xy(length * rng.uniform(0.65, 0.8), a)
            ax.add_artist(Circle((x, y), 0.035 * dial.radius, color=accent, zorder=9))
        ax.add_artist(Circle((dial.cx, dial.cy), cap * 0.5 * dial.radius, color=accent, zorder=9))


def _draw_extras(ax, rng, dial: _Dial, size, face, ink):
    """Things real dials carry that are not the time: brand text and a date window."""
    if rng.random() < 0.3:
        x, y = dial.xy(rng.choice([0.35, -0.4]), 0.0)  # below 12 or above 6, turned with the dial
        ax.text(x, y, BRANDS[int(rng.integers(len(BRANDS)))], fontsize=0.07 * dial.radius * size / 2 / 0.72 * 72 / DPI,
                family=FONTS[int(rng.integers(len(FONTS)))], color=ink, ha="center", va="center",
                rotation=-dial.rotation, rotation_mode="anchor", zorder=4)
    if rng.random() < 0.2:
        x, y = dial.xy(0.55, 90.0)
        w = 0.13 * dial.radius
        ax.add_artist(RegularPolygon((x, y), 4, radius=w, orientation=math.radians(45 - dial.rotation),
                                    fc=(1, 1, 1) if _lum(face) < 0.5 else face, ec=ink, lw=0.5, zorder=4))
        ax.text(x, y, str(int(rng.integers(1, 32))), fontsize=0.1 * dial.radius * size / 2 / 0.72 * 72 / DPI,
                color=(0, 0, 0), ha="center", va="center", rotation=-dial.rotation, rotation_mode="anchor",
                zorder=5)
    if rng.random() < 0.25:  # glare on the glass
        x, y = dial.xy(rng.uniform(0.2, 0.5), rng.uniform(0, 360))
        ax.add_artist(Ellipse((x, y), dial.radius * rng.uniform(0.6, 1.2), dial.radius * rng.uniform(0.2, 0.5),
                             angle=rng.uniform(0, 180), color=(1, 1, 1, rng.uniform(0.1, 0.3)), zorder=10, lw=0))


def _postprocess(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    if rng.random() < 0.5:  # JPEG artefacts, not the Gaussian noise the training renderer adds
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(rng.integers(25, 85)))
        image = Image.open(io.BytesIO(buffer.getvalue()))
        image.load()
    return image


# ---------------------------------------------------------------- public API


def render_independent_clock(hour: int, minute: int, rng: np.random.Generator, size: int = 150, *,
                             mode: str = "L", rotation: float | None = None, record: dict | None = None) -> Image.Image:
    """One analog clock showing ``hour`` (0..12, 12 reads 0) : ``minute`` (0..59), style drawn from ``rng``.

    ``rotation`` (degrees clockwise) fixes the dial's turn instead of a uniform random one (the random draw is
    made either way, so the rest of the style is the same). ``record`` (a dict, if given) is filled with the
    style drawn: hand kind, marker style, numerals (none, upright or radial), minute marks, 12 o'clock marker and
    the dial's turn; it draws nothing from ``rng``, so the clock is the same with or without it."""
    if not (0 <= hour <= 12 and 0 <= minute <= 59):
        raise ValueError(f"need hour in 0..12 and minute in 0..59, got {hour}:{minute}")
    fig, ax = _axes(size)
    light_face = rng.random() < 0.6
    face = _color(rng, light=light_face)
    ink = _color(rng, light=not light_face, saturation=0.8)
    if abs(_lum(face) - _lum(ink)) < 0.5:
        ink = (0.0, 0.0, 0.0) if light_face else (1.0, 1.0, 1.0)
    accent = _accent(rng, face, ink)
    radius = rng.uniform(0.72, 0.9)
    slack = max(0.0, 0.97 - radius * 1.1)
    dial = _Dial((rng.uniform(-slack, slack), rng.uniform(-slack, slack)), radius, rng.uniform(0, 360))
    if rotation is not None:
        dial = _Dial((dial.cx, dial.cy), radius, float(rotation))

    background = _draw_background(ax, rng, size)
    face = _draw_dial(ax, rng, dial, face, ink, background, record)
    if abs(_lum(face) - _lum(ink)) < 0.45:  # frameless dial on a background too close to the ink
        ink = (0.0, 0.0, 0.0) if _lum(face) > 0.5 else (1.0, 1.0, 1.0)
        accent = _accent(rng, face, ink)
    hand_kind = rng.choice(["baton", "sword", "breguet", "skeleton", "counterweight"], p=[0.3, 0.25, 0.15, 0.15, 0.15])
    if record is not None:
        record.update(hands=str(hand_kind), turn=float(dial.rotation), dial_centre=[float(dial.cx), float(dial.cy)],
                      dial_radius=float(radius))
    _draw_markers(ax, rng, dial, size, ink, accent, hand_kind, record)  # no hollow-ring 12 with Breguet's moons
    _draw_extras(ax, rng, dial, size, face, ink)
    _draw_hands(ax, rng, dial, size, hour, minute, face, ink, accent, hand_kind)

    fig.canvas.draw()
    image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    image = _postprocess(image, rng)
    return image.convert(mode)


def make_independent_clocks(n: int, seed: int = 0, size: int = 150, styles: list | None = None
                            ) -> tuple[list[Image.Image], np.ndarray, np.ndarray]:
    """``n`` independent clocks at uniformly random times: (PIL images, hours 0..11, minutes 0..59). ``styles``
    (a list, if given) gets each clock's style record (``render_independent_clock``'s ``record``)."""
    rng = np.random.default_rng([seed, 2024])
    times = rng.integers(720, size=n)
    hours, minutes = times // 60, times % 60
    images = []
    for h, m in zip(hours, minutes):
        record = {} if styles is not None else None
        images.append(render_independent_clock(int(h), int(m), rng, size, record=record))
        if styles is not None:
            styles.append(record)
    return images, hours, minutes


STYLE_KEYS = ("hands", "markers", "numerals", "twelve", "minute_marks", "upright", "dial", "inner_ring")


def by_style(styles: list[dict], errors: np.ndarray) -> dict:
    """Mean error, share within 5 minutes and count for every value of every style attribute of the clocks
    (``upright``: the dial turned less than 15 degrees either way), most frequent value first."""
    table = {}
    for key in STYLE_KEYS:
        values = [(abs(_gap(s["turn"], 0.0)) < 15.0) if key == "upright" else s[key] for s in styles]
        rows = {}
        for value in sorted(set(values), key=lambda v: (-values.count(v), str(v))):
            chosen = errors[np.array([v == value for v in values])]
            rows[str(value)] = {"num_clocks": int(chosen.size), "cse_mean": round(float(chosen.mean()), 2),
                                "within_5_min": round(float(np.mean(chosen <= 5)), 4)}
        table[key] = rows
    return table


def make_own_clocks(n: int, seed: int = 0, size: int = 150) -> tuple[list[Image.Image], np.ndarray, np.ndarray]:
    """``n`` clocks from tinyvision's own renderer; the seeds ([seed, 7, i]) differ from every training seed."""
    from tinyvision.data.clocks import render_clock

    times = np.random.default_rng([seed, 7]).integers(720, size=n)
    hours, minutes = times // 60, times % 60
    images = [render_clock(int(h), int(m), size=size, seed=[seed, 7, i]) for i, (h, m) in enumerate(zip(hours, minutes))]
    return images, hours, minutes


# ---------------------------------------------------------------- benchmark


def read_clocks(reader, images, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    outputs = reader(images, batch_size=batch_size)
    return np.array([o["hour"] for o in outputs]), np.array([o["minute"] for o in outputs])


def twelve_taken(pred_hours, pred_minutes, hours, minutes) -> dict[str, int]:
    """Of the readings missed as ``turned_dial`` (``tinyvision.metrics.miss_kind``), how many took each other hour
    mark for 12: a reading whose hands are both turned k marks clockwise took the mark k places before 12 (the
    mark at 10 for k = 2). Keys "1" to "11", every mark listed. A turn by one mark moves the minute hand by 5 minutes
    only, so ``miss_kind`` counts it as ``hour_hand_misread``: the 1 and the 11 show up here only rarely."""
    from tinyvision.metrics import miss_kind

    taken = {str(mark): 0 for mark in range(1, 12)}
    for ph, pm, h, m in zip(*(np.asarray(v).reshape(-1).tolist() for v in (pred_hours, pred_minutes, hours, minutes))):
        if miss_kind(ph, pm, h, m) == "turned_dial":
            marks_turned = round(((ph * 60 + pm) - (h * 60 + m)) % 720 / 60) % 12
            taken[str(12 - marks_turned)] += 1
    return taken


def score(reader, images, hours, minutes, batch_size: int) -> tuple[dict, np.ndarray, np.ndarray]:
    from tinyvision.metrics import clock_error_summary, common_sense_error, count_misses

    start = time.perf_counter()
    pred_hours, pred_minutes = read_clocks(reader, images, batch_size)
    errors = common_sense_error(pred_hours, pred_minutes, hours, minutes)
    summary = clock_error_summary(errors, pred_hours, hours)
    summary["misses"] = count_misses(pred_hours, pred_minutes, hours, minutes)
    summary["turned_dial_twelve_taken"] = twelve_taken(pred_hours, pred_minutes, hours, minutes)
    summary["read_time_s"] = round(time.perf_counter() - start, 2)
    return summary, pred_hours, pred_minutes


def dial_geometry(reader, images, styles: list[dict], hours, minutes, batch_size: int) -> dict:
    """For the photo reader in the pipeline ``reader``: how well its detector (and rectifier) find the independent
    clocks' dials (found radius over the true one, centre error in radii) and what it reads given each dial's true
    centre and radius instead (a frontal round dial: the renderer draws no perspective), overall and per dial
    shape. ``styles``: the clocks' records (``render_independent_clock``), which hold the true dials."""
    import torch

    from tinyvision.metrics import common_sense_error
    from tinyvision.models.modeling_clock import split_dial_minutes

    model = reader.model
    if getattr(getattr(model, "config", None), "model_type", None) != "tinyvision_clock_photo":
        raise ValueError(f"--dial_geometry needs a photo reader (a dial detector); {type(model).__name__} has none")
    side = model.config.image_size  # the square clock fills the letterboxed square
    true_centre = torch.tensor([[(1.0 + s["dial_centre"][0]) / 2 * side, (1.0 - s["dial_centre"][1]) / 2 * side]
                                for s in styles])
    true_radius = torch.tensor([s["dial_radius"] / 2 * side for s in styles])
    found_radius, centre_error, read, read_true = [], [], [], []
    for start in range(0, len(images), batch_size):
        rows = slice(start, start + batch_size)
        pixels = reader.image_processor(images[rows], return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            _, centre, shape = model.locate(pixels)
            read.append(model.read_dials(pixels, centre, shape)[1])
            round_dials = true_radius[rows, None, None] * torch.eye(2)
            read_true.append(model.read_dials(pixels, true_centre[rows], round_dials)[1])
        found_radius.append(torch.linalg.det(shape).abs().sqrt())
        centre_error.append((centre - true_centre[rows]).norm(dim=-1) / true_radius[rows])

    def errors(minutes_read):
        hour, minute = split_dial_minutes(torch.cat(minutes_read))
        return np.asarray(common_sense_error(hour.numpy(), minute.numpy(), hours, minutes), dtype=float)

    ratio = (torch.cat(found_radius) / true_radius).numpy()
    off = torch.cat(centre_error).numpy()
    as_found, true_dial = errors(read), errors(read_true)

    def summary(chosen):
        return {"num_clocks": int(chosen.sum()), "radius_ratio_median": round(float(np.median(ratio[chosen])), 3),
                "radius_under_0.9": round(float(np.mean(ratio[chosen] < 0.9)), 3),
                "cse_mean": round(float(as_found[chosen].mean()), 2),
                "cse_mean_true_dial": round(float(true_dial[chosen].mean()), 2)}

    everything = np.ones(len(images), bool)
    result = {**summary(everything), "radius_ratio_p10": round(float(np.percentile(ratio, 10)), 3),
              "radius_ratio_p90": round(float(np.percentile(ratio, 90)), 3),
              "centre_error_radii_median": round(float(np.median(off)), 3), "by_dial": {}}
    kinds = [f"{s['dial']}{' + inner ring' if s['inner_ring'] else ''}" for s in styles]
    for kind in sorted(set(kinds), key=lambda k: (-kinds.count(k), k)):
        result["by_dial"][kind] = summary(np.array([k == kind for k in kinds]))
    return result


ROTATIONS = tuple(range(0, 360, 30))


def _gap(a, b):
    """Signed smallest angle from ``b`` to ``a`` in degrees, in [-180, 180)."""
    return (np.asarray(a, dtype=float) - np.asarray(b, dtype=float) + 180.0) % 360.0 - 180.0


def by_rotation(reader, per_rotation: int, seed: int, size: int, batch_size: int) -> list[dict]:
    """``per_rotation`` independent clocks with the dial turned by each of ``ROTATIONS`` (degrees clockwise):
    per turn, the mean error, the share read within 5 minutes, the misses (over 5 minutes) and how many of them
    put 12 nearer image-up than the dial's true 12 by more than half a mark (from ``hands.twelve``, image degrees;
    None for a reader that does not say where it put 12). A reader that trusts "12 is at the top" over the
    dial's own 12 o'clock cue shows it here."""
    from tinyvision.metrics import common_sense_error

    rows = []
    for rotation in ROTATIONS:
        rng = np.random.default_rng([seed, 2025, rotation])
        times = rng.integers(720, size=per_rotation)
        images = [render_independent_clock(int(t // 60), int(t % 60), rng, size, rotation=rotation) for t in times]
        outputs = reader(images, batch_size=batch_size)
        errors = common_sense_error(np.array([o["hour"] for o in outputs]), np.array([o["minute"] for o in outputs]),
                                    times // 60, times % 60)
        twelves = [o.get("hands", {}).get("twelve") for o, e in zip(outputs, errors) if e > 5]
        twelves = np.array([t for t in twelves if t is not None], dtype=float)
        # "Nearer up": the read 12 is closer to image-up (0 degrees) than the true 12, by more than half a mark.
        nearer_up = np.abs(_gap(twelves, 0.0)) < abs(_gap(rotation, 0.0)) - 15.0
        rows.append({"rotation": rotation, "num_clocks": per_rotation, "cse_mean": round(float(errors.mean()), 3),
                     "within_5_min": round(float(np.mean(errors <= 5)), 4), "misses": int(np.sum(errors > 5)),
                     "misses_read_nearer_up": int(nearer_up.sum()) if len(twelves) else None})
    return rows


def save_rotation_plot(path, rows) -> None:
    fig = Figure(figsize=(6, 3.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([r["rotation"] for r in rows], [r["cse_mean"] for r in rows], marker="o")
    ax.set_xticks(list(ROTATIONS))
    ax.set_xlabel("dial turned (degrees clockwise)")
    ax.set_ylabel("mean error (min)")
    ax.set_title("independent clocks by the turn of the dial")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)


def save_grid(path, images, titles, cols: int, title_colors=None) -> None:
    rows = math.ceil(len(images) / cols)
    fig = Figure(figsize=(cols * 1.7, rows * 1.9), dpi=100)
    FigureCanvasAgg(fig)
    for k, image in enumerate(images):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        ax.set_title(titles[k], fontsize=8, color=(title_colors or ["black"] * len(images))[k])
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path)


def _fmt_time(h, m) -> str:
    return f"{int(h) % 12 or 12}:{int(m):02d}"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num_clocks", type=int, default=1000, help="Clocks per renderer.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=150, help="Side of the rendered clocks in pixels.")
    parser.add_argument("--model_dir", default="outputs/clock-reader", help="A saved clock reader folder.")
    parser.add_argument("--batch_size", type=int, default=64, help="Images per pipeline forward pass.")
    parser.add_argument("--num_threads", type=int, default=1, help="torch CPU threads.")
    parser.add_argument("--output_dir", default="reports/task2/transfer")
    add_reading_arguments(parser)
    parser.add_argument("--dial_geometry", action="store_true",
                        help="Photo readers: also report how well the dials are found (radius found / true, centre "
                             "error) and what the reader reads given the true dials, per dial shape (results.json "
                             "'dial_geometry').")
    parser.add_argument("--by_rotation", type=int, default=0, metavar="N",
                        help="Also read N independent clocks at each dial turn 0, 30, ..., 330 degrees and report the "
                             "error by turn (table, results.json 'by_rotation', by_rotation.png); 0: skip.")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.num_threads)
    os.makedirs(args.output_dir, exist_ok=True)
    reader = clock_reading_pipeline(args)

    start = time.perf_counter()
    styles: list[dict] = []
    independent = make_independent_clocks(args.num_clocks, args.seed, args.size, styles=styles)
    independent_render_s = time.perf_counter() - start
    start = time.perf_counter()
    own = make_own_clocks(args.num_clocks, args.seed, args.size)
    own_render_s = time.perf_counter() - start

    own_summary, _, _ = score(reader, *own, args.batch_size)
    ind_summary, pred_h, pred_m = score(reader, *independent, args.batch_size)
    own_summary["render_time_s"] = round(own_render_s, 2)
    ind_summary["render_time_s"] = round(independent_render_s, 2)

    print(f"model {args.model_dir}; {args.num_clocks} clocks per renderer at {args.size}x{args.size}, seed {args.seed}")
    print(f"{'':22s}{'own renderer':>14s}{'independent':>14s}")
    for key, label in [("cse_mean", "CSE mean (min)"), ("cse_median", "CSE median (min)"),
                       ("cse_p90", "CSE p90 (min)"), ("hour_accuracy", "hour accuracy")]:
        print(f"{label:22s}{own_summary[key]:14.3f}{ind_summary[key]:14.3f}")
    for label, summary in (("own renderer", own_summary), ("independent", ind_summary)):
        print(f"misses (> 5 min), {label}: " + ", ".join(f"{kind} {n}" for kind, n in summary["misses"].items()))
        print("  turned dials, the mark taken for 12: " + ", ".join(
            f"{mark} {n}" for mark, n in summary["turned_dial_twelve_taken"].items() if n))
    print(f"independent renderer: {args.num_clocks / independent_render_s:.1f} clocks/s")

    images, hours, minutes = independent
    from tinyvision.metrics import common_sense_error

    errors = common_sense_error(pred_h, pred_m, hours, minutes)
    styles_table = by_style(styles, errors)
    print("independent renderer by style: value, clocks, mean error (min), within 5 min")
    for key, rows in styles_table.items():
        print(f"  {key}: " + "; ".join(f"{v} {r['num_clocks']} {r['cse_mean']:.1f} {r['within_5_min']:.2f}"
                                        for v, r in rows.items()))

    n_grid = min(24, len(images))
    save_grid(os.path.join(args.output_dir, "predictions.png"), images[:n_grid],
              [f"true {_fmt_time(h, m)} / pred {_fmt_time(ph, pm)}"
               for h, m, ph, pm in zip(hours, minutes, pred_h, pred_m)][:n_grid],
              cols=6, title_colors=["black" if e <= 5 else "red" for e in errors[:n_grid]])
    examples, ex_hours, ex_minutes = make_independent_clocks(12, args.seed + 1, args.size)
    save_grid(os.path.join(args.output_dir, "examples.png"), examples,
              [_fmt_time(h, m) for h, m in zip(ex_hours, ex_minutes)], cols=6)

    results = {
        "command": command_line("benchmarks/clock_transfer.py", args),
        "model_dir": args.model_dir,
        "num_clocks": args.num_clocks,
        "seed": args.seed,
        "size": args.size,
        "own_renderer": own_summary,
        "independent_renderer": ind_summary,
        "independent_by_style": styles_table,
    }
    if args.dial_geometry:
        geometry = dial_geometry(reader, images, styles, hours, minutes, args.batch_size)
        print(f"independent dials: found radius / true median {geometry['radius_ratio_median']:.3f} (p10 "
              f"{geometry['radius_ratio_p10']:.3f}, p90 {geometry['radius_ratio_p90']:.3f}), centre off "
              f"{geometry['centre_error_radii_median']:.3f} radii (median); mean error as found "
              f"{geometry['cse_mean']:.2f}, given the true dials {geometry['cse_mean_true_dial']:.2f}")
        print("  by dial: clocks, radius found / true (median), share under 0.9, mean error as found / true dial")
        for kind, row in geometry["by_dial"].items():
            print(f"  {kind:24s} {row['num_clocks']:5d} {row['radius_ratio_median']:7.3f} {row['radius_under_0.9']:6.2f} "
                  f"{row['cse_mean']:7.1f} / {row['cse_mean_true_dial']:.1f}")
        results["dial_geometry"] = geometry
    if args.by_rotation:
        rows = by_rotation(reader, args.by_rotation, args.seed, args.size, args.batch_size)
        print("independent clocks by dial turn: turn, mean error (min), within 5 min, misses (of them read nearer up)")
        for row in rows:
            print(f"{row['rotation']:6d} {row['cse_mean']:9.1f} {row['within_5_min']:8.2f} {row['misses']:5d} "
                  f"({row['misses_read_nearer_up']})")
        save_rotation_plot(os.path.join(args.output_dir, "by_rotation.png"), rows)
        results["by_rotation"] = rows
    with open(os.path.join(args.output_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
