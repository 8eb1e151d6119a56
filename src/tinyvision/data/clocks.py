"""Procedural analog clocks for the "Tell-the-time" task.

Every image is an analog clock rotated by a uniform random angle, so the time can only be
read relative to the dial's own 12 o'clock marker, which is always unambiguous (an inward
triangle, a double tick, a large dot, a wide bar, or an emphasized numeral 12).

Angle convention (all labels, in degrees in [0, 360)):
    Measured clockwise from image "up" (towards row 0), as absolute directions in the final
    image. ``dial_rotation`` is the direction of the 12 o'clock marker seen from the dial
    centre, ``hour_hand_angle`` and ``minute_hand_angle`` the directions the hands point.
    On an unrotated, undistorted dial ``dial_rotation = 0``,
    ``hour_hand_angle = 30 * (hour % 12) + minute / 2`` (the hour hand moves with the
    minutes, as on a real clock) and ``minute_hand_angle = 6 * minute``; rotating the dial
    adds the rotation to all three. With mild perspective the labels are computed by
    projecting the centre and points on the hands through the same transform as the pixels,
    so they always match what is drawn.

Inputs: ``hour`` in 0..12 (12 is accepted and means 0, as printed on a dial), ``minute`` in
0..59; anything else raises ValueError naming the argument.

Styles: a :class:`ClockStyle` fixes everything about an image except the time. ``sample_style``
draws one at random: dial shape (circle, rounded square, octagon, hexagon), size and slight
offset, dark-on-light or light-on-dark, rim and inner ring, hour ticks / dots / numerals /
cardinal ticks with optional minute ticks, hand shape (line, tapered, arrow, leaf), lengths and
widths (hour hand always clearly shorter), an optional thin second hand as a distractor,
background tone and gradient, clutter shapes around the dial, faint lines on the face, glare,
blur, noise and mild perspective. ``clean_style`` is a plain black-on-white dial for tests.
Drawing happens at ``SUPERSAMPLE`` times the output size and is box-downsampled, so edges are
anti-aliased. Every shape is projected through one homography (rotation, offset, tilt); numeral
glyphs are turned with the dial but, being text, not warped by the tilt.

Determinism: the same (hour, minute, seed) always gives byte-identical images, and image i of
``make_clock_arrays`` / ``make_clock_dataset`` depends only on ``np.random.default_rng([seed, i])``
(time, then style), so results do not depend on ``num_proc``. Bump ``GENERATOR_VERSION`` whenever
a change alters any pixel or label for a given seed.

Files: this module holds the public API (rendering, datasets) and the generator's constants; the style and
its sampler live in :mod:`tinyvision.data.clock_style`, the dial geometry in
:mod:`tinyvision.data.clock_geometry` and the drawing steps in :mod:`tinyvision.data.clock_drawing`. Their
names are imported back here, so ``from tinyvision.data.clocks import ...`` keeps working for all of them.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import operator
import os
import sys

import numpy as np
from PIL import Image

# The renderer's parts, imported back so this module stays the public face of the seed renderer.
from .clock_drawing import (  # noqa: F401
    SUPERSAMPLE,
    _background,
    _draw_clutter,
    _draw_hands,
    _draw_markers,
    _font,
    _glyph_mask,
    _Painter,
    _postprocess,
    _twelve_marker_depth,
)
from .clock_geometry import (  # noqa: F401
    _dial_matrix,
    _hand_outline,
    _image_angle,
    _outline,
    _project,
    _radial,
    _unit_outline,
)
from .clock_style import (  # noqa: F401
    RGB,
    ClockStyle,
    _lum,
    _pick,
    _sample_color,
    _uniform,
    check_max_rotation,
    clean_style,
    sample_style,
)

__all__ = [
    "GENERATOR_VERSION",
    "split_seeds",
    "ClockStyle",
    "clean_style",
    "make_clock_arrays",
    "make_clock_dataset",
    "render_clock",
    "render_clock_with_labels",
    "sample_style",
]

GENERATOR_VERSION = "1"
# Generated splits use seeds data_seed, data_seed + VALIDATION_SEED_OFFSET, data_seed + TEST_SEED_OFFSET.
VALIDATION_SEED_OFFSET = 1_000_000
TEST_SEED_OFFSET = 2_000_000


def split_seeds(data_seed: int) -> dict[str, int]:
    """The generator seed of each split of a generated set (a run records them for its model card)."""
    return {"train": data_seed, "validation": data_seed + VALIDATION_SEED_OFFSET, "test": data_seed + TEST_SEED_OFFSET}

LABEL_NAMES = ("dial_rotation", "hour_hand_angle", "minute_hand_angle")


# ---------------------------------------------------------------- public rendering API


def _check_time(hour, minute) -> tuple[int, int]:
    hour, minute = operator.index(hour), operator.index(minute)
    if not 0 <= hour <= 12:
        raise ValueError(f"hour must be in 0..12 (12 is read as 0), got {hour}")
    if not 0 <= minute <= 59:
        raise ValueError(f"minute must be in 0..59, got {minute}")
    return hour % 12, minute


def render_clock_with_labels(
    hour: int,
    minute: int,
    *,
    size: int = 150,
    seed=None,
    rng: np.random.Generator | None = None,
    style: ClockStyle | None = None,
    mode: str = "L",
    max_rotation: float = 180.0,
) -> tuple[Image.Image, dict[str, float]]:
    """Render one clock and return ``(image, {dial_rotation, hour_hand_angle, minute_hand_angle})``.

    A given ``style`` fixes the whole image; otherwise one is sampled from ``rng`` (or from
    ``np.random.default_rng(seed)``) with the dial turned within ``±max_rotation`` degrees.
    """
    hour, minute = _check_time(hour, minute)
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', got {mode!r}")
    if style is None:
        style = sample_style(rng if rng is not None else np.random.default_rng(seed), max_rotation=max_rotation)
    detail_rng = np.random.default_rng(style.detail_seed)
    hour_dial_angle, minute_dial_angle = 30.0 * hour + minute / 2.0, 6.0 * minute
    matrix = _dial_matrix(style, size)
    labels = {
        "dial_rotation": _image_angle(matrix, 0.0),
        "hour_hand_angle": _image_angle(matrix, hour_dial_angle),
        "minute_hand_angle": _image_angle(matrix, minute_dial_angle),
    }

    big = size * SUPERSAMPLE
    canvas = _background(style, size, mode)
    paint = _Painter(canvas, matrix, SUPERSAMPLE)
    _draw_clutter(paint.draw, detail_rng, style.clutter, big, mode)
    rim_scale = 1.0 + style.rim_width
    if style.shadow > 0:
        shadow_rgb = tuple(int(c * 0.55) for c in style.background)
        offset = style.shadow * style.dial_radius * big / 2
        paint.polygons(_outline(style.dial_shape, rim_scale), shadow_rgb, shift=(offset, offset))
    if style.rim_width > 0:
        paint.polygons(_outline(style.dial_shape, rim_scale), style.rim_color)
    paint.polygons(_outline(style.dial_shape, 1.0), style.dial_color)
    if style.inner_ring:
        paint.ring(_outline(style.dial_shape, 0.97), style.ink_color, 0.01 * style.dial_radius * big / 2)
    for _ in range(style.face_lines):  # faint texture; chords inside the (convex) dial
        ends = _radial(detail_rng.uniform(0, 360), 0.9, 0.0), _radial(detail_rng.uniform(0, 360), 0.9, 0.0)
        tone = np.clip(np.array(style.dial_color) + detail_rng.uniform(-14, 14), 0, 255)
        paint.polygons(np.array([ends[0], ends[1], ends[1] * 0.98, ends[0] * 0.98]), tuple(int(c) for c in tone))
    px_per_radius = style.dial_radius * big / 2
    _draw_markers(paint, style, labels["dial_rotation"], px_per_radius)
    _draw_hands(paint, style, hour_dial_angle, minute_dial_angle)
    image = _postprocess(canvas.reduce(SUPERSAMPLE), style, detail_rng)
    return image, labels


def render_clock(
    hour: int,
    minute: int,
    *,
    size: int = 150,
    seed=None,
    rng: np.random.Generator | None = None,
    style: ClockStyle | None = None,
    mode: str = "L",
) -> Image.Image:
    """Render one clock image; see :func:`render_clock_with_labels`."""
    return render_clock_with_labels(hour, minute, size=size, seed=seed, rng=rng, style=style, mode=mode)[0]


# ---------------------------------------------------------------- datasets


def _render_range(job: tuple[int, int, int, int, str, bool, float]):
    """Render indices [start, stop); image i uses only np.random.default_rng([seed, i])."""
    start, stop, seed, size, mode, as_png, max_rotation = job
    images, labels = [], np.zeros((stop - start, 5), dtype=np.float64)
    for row, index in enumerate(range(start, stop)):
        rng = np.random.default_rng([seed, index])
        hour, minute = divmod(int(rng.integers(720)), 60)
        image, angles = render_clock_with_labels(hour, minute, size=size, rng=rng, mode=mode, max_rotation=max_rotation)
        labels[row] = (hour, minute, *(angles[name] for name in LABEL_NAMES))
        if as_png:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", compress_level=1)  # level 1: ~2x faster than 6, ~7% larger
            images.append(buffer.getvalue())
        else:
            images.append(np.asarray(image))
    return start, (images if as_png else np.stack(images)), labels


def _generate(n: int, size: int, seed: int, num_proc: int | None, mode: str, as_png: bool, max_rotation: float):
    """Yield ``(start, images, labels)`` chunks covering indices 0..n-1, in order."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', got {mode!r}")
    check_max_rotation(max_rotation)
    num_proc = max(1, num_proc or os.cpu_count() or 1)
    chunk = max(1, min(256, math.ceil(n / (num_proc * 4))))
    jobs = [(start, min(start + chunk, n), seed, size, mode, as_png, max_rotation) for start in range(0, n, chunk)]
    yield from imap_in_order(_render_range, jobs, num_proc)


def imap_in_order(function, jobs: list, num_proc: int):
    """``map(function, jobs)`` on ``num_proc`` processes, results in order. The pool is forked when iteration
    starts: workers see module globals as they are then (fork also keeps start-up cheap and works when the
    module was loaded from a file path). One process, or one job, runs here."""
    if num_proc == 1 or len(jobs) <= 1:
        yield from map(function, jobs)
        return
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    with context.Pool(min(num_proc, len(jobs))) as pool:
        yield from pool.imap(function, jobs)


def make_clock_arrays(
    n: int, *, size: int = 150, seed: int = 0, num_proc: int | None = None, mode: str = "L",
    max_rotation: float = 180.0,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render ``n`` random clocks as uint8 arrays ``[n, size, size]`` (``[n, size, size, 3]`` for RGB),
    dials turned within ``±max_rotation`` degrees (180: any orientation).

    Returns ``(images, labels)`` with labels ``hour``/``minute`` (int64) and the three angles
    (float32 degrees). Image i depends only on ``(seed, i)``, never on ``num_proc``.
    """
    images = np.empty((n, size, size) + ((3,) if mode == "RGB" else ()), dtype=np.uint8)
    labels = np.empty((n, 5), dtype=np.float64)
    for start, chunk_images, chunk_labels in _generate(n, size, seed, num_proc, mode, False, max_rotation):
        images[start : start + len(chunk_images)] = chunk_images
        labels[start : start + len(chunk_labels)] = chunk_labels
    return images, _split_labels(labels)


def make_clock_dataset(n: int, *, size: int = 150, seed: int = 0, num_proc: int | None = None, mode: str = "L",
                       max_rotation: float = 180.0):
    """A ``datasets.Dataset`` of ``n`` random clocks, PNG-encoded; the pixels equal :func:`make_clock_arrays`'.

    Columns: ``image`` (Image), ``hour`` (int64, 0..11), ``minute`` (int64, 0..59),
    ``dial_rotation``, ``hour_hand_angle``, ``minute_hand_angle`` (float32 degrees).
    """
    import datasets

    pngs, labels = [], np.empty((n, 5), dtype=np.float64)
    for start, chunk_pngs, chunk_labels in _generate(n, size, seed, num_proc, mode, True, max_rotation):
        pngs.extend({"bytes": png, "path": None} for png in chunk_pngs)
        labels[start : start + len(chunk_labels)] = chunk_labels
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "hour": datasets.Value("int64"),
            "minute": datasets.Value("int64"),
            **{name: datasets.Value("float32") for name in LABEL_NAMES},
        }
    )
    info = datasets.DatasetInfo(
        description=f"tinyvision procedural analog clocks, generator v{GENERATOR_VERSION}: "
        f"make_clock_dataset(n={n}, size={size}, seed={seed}, mode={mode!r}, max_rotation={max_rotation:g})",
        features=features,
    )
    columns = {"image": pngs, **{name: column.tolist() for name, column in _split_labels(labels).items()}}
    return datasets.Dataset.from_dict(columns, features=features, info=info)


def _split_labels(labels: np.ndarray) -> dict[str, np.ndarray]:
    columns = {"hour": labels[:, 0].astype(np.int64), "minute": labels[:, 1].astype(np.int64)}
    columns.update({name: labels[:, 2 + k].astype(np.float32) for k, name in enumerate(LABEL_NAMES)})
    return columns
