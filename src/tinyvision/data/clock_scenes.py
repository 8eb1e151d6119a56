"""Photo-like scenes with an analog clock in them, with exact labels, for a find-then-read clock reader.

A scene is a room-like background (crops or mosaics of real photos from a pool, or procedural walls,
wood, tiles, shelves and bokeh), clutter (rectangles, lines, text and round distractors such as
plates and rings), and usually one clock: a face drawn frontally (numerals in several fonts, bars, dots or
wedges, minute tracks, brand text, sub-dials, date windows, patterned / metallic / coloured dials, bezels and cases,
hands of many shapes with shadows, second and alarm hands as distractors, glass glare), warped into
the scene with one homography (in-plane rotation, a 3-D tilt seen through a perspective camera,
scale and position), then camera effects (colour cast, exposure, vignetting, blur, noise, JPEG,
down-and-up scaling).

Conventions:
    ``homography`` H maps dial coordinates (u to the right on the face, v towards the dial's own
    12 o'clock, the painted face's edge at radius 1, inside any bezel) to image pixel coordinates
    (x right, y down, the image spanning [0, width] x [0, height]): ``[x w, y w, w] = H [u, v, 1]``.
    Angles are those of :mod:`tinyvision.data.clocks` (``_image_angle``): absolute image directions,
    degrees clockwise from up in [0, 360), of the dial's 12 (``dial_rotation``), the hour hand
    (dial angle ``30 * hour + minute / 2``) and the minute hand (``6 * minute``). Scenes without a
    clock have H = 0, hour = minute = 0 and angles 0.

``make_scene_arrays`` letterboxes each scene (random aspect ratio, longer side = ``size``) onto a
black square, exactly as the photo reader's image processor does with real photos
(``TinyVisionImageProcessor(letterbox=True)``, :func:`~tinyvision.models.image_processing_tinyvision.letterbox_geometry`);
H is in the square's pixels.
Scene i depends only on ``np.random.default_rng([seed, i])`` and the background pool, never on
``num_proc``. Bump ``SCENE_GENERATOR_VERSION`` whenever a change alters any pixel or label.

Files: this module composes the scene (``_render``), renders batches and holds the generator's constants. Its
parts, imported back here: :mod:`~tinyvision.data.scene_backgrounds` (pool and procedural backgrounds,
clutter), :mod:`~tinyvision.data.scene_faces` (the frontal face, case and glare) with
:mod:`~tinyvision.data.scene_dials` (markers, numerals, 12 o'clock cues) and :mod:`~tinyvision.data.scene_hands`,
:mod:`~tinyvision.data.scene_placement` (rotation, tilt, position, warping into the scene, occluders),
:mod:`~tinyvision.data.scene_camera` (camera effects) and :mod:`~tinyvision.data.scene_painting` (shared
colour, font and painter helpers). Dial geometry and the seed's renderer come from :mod:`tinyvision.data.clocks`.
"""

from __future__ import annotations

import contextlib
import io
import math
import operator
import os

import numpy as np
from PIL import Image

from ..models.image_processing_tinyvision import letterbox_geometry
from .clock_geometry import _dial_matrix, _image_angle
from .clock_style import _FORCED_STYLES
from .clocks import _check_time, imap_in_order, render_clock_with_labels, sample_style

# The generator's parts, imported back so this module stays the public face of the scene generator.
from .scene_backgrounds import _clutter, _decorate, _pool_background, _procedural_background
from .scene_camera import _camera
from .scene_dials import _ROMAN, MARKER_KINDS, _draw_markers  # noqa: F401
from .scene_faces import (  # noqa: F401
    CASE_KINDS,
    FACE_SUPERSAMPLE,
    MAX_FACE_PX_PER_RADIUS,
    _case_texture,
    _draw_face,
    _glare,
    _sample_face_colors,
)
from .scene_hands import HAND_SHAPES, _draw_hands, _hand_polygon  # noqa: F401
from .scene_painting import (  # noqa: F401
    _FONT_FILES,
    _WORDS,
    RGB,
    _clip_rgb,
    _FacePainter,
    _font,
    _font_dir,
    _ink,
    _jitter,
    _random_color,
    _shade,
    _smooth_field,
    _text_mask,
    _to_mode,
    _u,
)
from .scene_placement import (  # noqa: F401
    DIAL_RADIUS_RANGE,
    WORLD_ANY_SHARE,
    _extent,
    _occluder,
    _paste_clock,
    _place,
    _sample_rotation,
    _shape_matrix,
)

__all__ = [
    "ORIENTATIONS",
    "SCENE_GENERATOR_VERSION",
    "STYLE_CHOICES",
    "forced_styles",
    "load_background_pool",
    "make_scene_arrays",
    "render_clock_scene",
]

SCENE_GENERATOR_VERSION = "4"
ORIENTATIONS = ("world", "any", "upright")
ANGLE_NAMES = ("dial_rotation", "hour_hand_angle", "minute_hand_angle")
# (width, height) aspect ratios of scenes in make_scene_arrays and their probabilities
ASPECTS = ((16 / 9, 0.35), (4 / 3, 0.25), (1.0, 0.25), (3 / 4, 0.15))
# A share of the scenes shows a clock from the Task 2 renderer (tinyvision.data.clocks: its 12 o'clock marker is
# always distinct, so it may turn any way) as a square picture in the scene, so the photo reader also reads
# the seed's clocks.
TASK2_CLOCK_FRACTION = 0.2
POOL_IMAGE_SIZE = 64
# The style draws forced_styles can fix, and their values (the hands' shape and the dial's marker set).
STYLE_CHOICES = {"hands": HAND_SHAPES, "markers": MARKER_KINDS, "case": CASE_KINDS}
# The parts' own knobs live next to their code and are imported above: WORLD_ANY_SHARE and DIAL_RADIUS_RANGE
# (scene_placement), FACE_SUPERSAMPLE and MAX_FACE_PX_PER_RADIUS (scene_faces).


@contextlib.contextmanager
def forced_styles(**choices: str):
    """Within the block, every scene clock drawn in this process takes the given style values (``hands=`` one of
    ``HAND_SHAPES``, ``markers=`` one of ``MARKER_KINDS``, ``case=`` one of ``CASE_KINDS``) instead of drawing them;
    everything else is drawn as usual from the same random numbers. Yields a function that returns how many times
    each forced value has been used so far (name → count; a frameless clock draws its marks and hands twice), so
    that a caller can tell which scenes it reached (not the clock-free scenes,
    the Task 2 renderer's clocks or plain dials). For benchmarks that read the generator's clocks style by style;
    worker processes forked inside the block inherit it."""
    for name, value in choices.items():
        if name not in STYLE_CHOICES:
            raise ValueError(f"forced_styles: unknown style {name!r}; choose from {sorted(STYLE_CHOICES)}")
        if value not in STYLE_CHOICES[name]:
            raise ValueError(f"forced_styles: {name} must be one of {list(STYLE_CHOICES[name])}, got {value!r}")
    if set(choices) & set(_FORCED_STYLES):
        raise RuntimeError(f"forced_styles: {sorted(set(choices) & set(_FORCED_STYLES))} already forced")
    forced = {name: [value, 0] for name, value in choices.items()}
    _FORCED_STYLES.update(forced)
    try:
        yield lambda: {name: entry[1] for name, entry in forced.items()}
    finally:
        for name in forced:
            _FORCED_STYLES.pop(name, None)


# ---------------------------------------------------------------- the scene


def _check_orientation(orientation: str) -> str:
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    return orientation


def _check_backgrounds(backgrounds):
    if backgrounds is None:
        return None
    backgrounds = np.asarray(backgrounds)
    if backgrounds.ndim != 4 or backgrounds.shape[-1] != 3 or backgrounds.dtype != np.uint8 or len(backgrounds) == 0:
        raise ValueError(f"backgrounds must be a non-empty uint8 array [N, h, w, 3], got {backgrounds.dtype} "
                         f"{backgrounds.shape}")
    return backgrounds


def _paste_task2_clock(rng: np.random.Generator, scene: Image.Image, hour: int, minute: int, orientation: str,
                       mode: str) -> np.ndarray:
    """Paste a Task 2 renderer clock (square, its own background) at a random place; returns its H."""
    style = sample_style(rng, max_rotation=8.0 if orientation == "upright" else 180.0)
    side = min(min(scene.size), max(24, int(round(min(scene.size) * _u(rng, 0.5, 1.0)))))
    clock, _ = render_clock_with_labels(hour, minute, size=side, style=style, mode=mode)
    x0 = int(rng.integers(0, scene.width - side + 1))
    y0 = int(rng.integers(0, scene.height - side + 1))
    scene.paste(clock, (x0, y0))
    return np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]]) @ _dial_matrix(style, side)


def _render(hour: int, minute: int, width: int, height: int, rng: np.random.Generator, orientation: str,
            backgrounds, has_clock: bool, dial_radius, center, mode: str, plain: bool = False):
    """The scene at (width, height) in ``mode`` and its labels (H float64)."""
    # background and clutter
    if plain:
        scene = Image.new(mode, (width, height), _ink(mode, (150, 150, 150)))
    else:
        if backgrounds is not None and rng.random() < 0.85:
            scene = _pool_background(rng, backgrounds, width, height, mode)
        else:
            scene = _procedural_background(rng, width, height, mode)
        _decorate(rng, scene, mode)
        count = int(_u(rng, 0, 7)) if rng.random() < 0.75 else 0
        _clutter(rng, scene, mode, count + 1 if rng.random() < 0.5 else count, rng.random() < 0.5)
    labels = {"hour": 0, "minute": 0, "has_clock": bool(has_clock), "homography": np.zeros((3, 3))}
    labels.update({name: 0.0 for name in ANGLE_NAMES})
    if has_clock and not plain and rng.random() < TASK2_CLOCK_FRACTION:
        homography = _paste_task2_clock(rng, scene, hour, minute, orientation, mode)
        labels.update(hour=hour, minute=minute, homography=homography)
        hour_dial, minute_dial = 30.0 * hour + minute / 2.0, 6.0 * minute
        labels.update(zip(ANGLE_NAMES, (_image_angle(homography, a) for a in (0.0, hour_dial, minute_dial))))
    elif has_clock:
        rotation = 0.0 if plain else _sample_rotation(rng, orientation)
        shape = np.diag([1.0, -1.0, 1.0]) if plain else _shape_matrix(rng, rotation)
        homography = _place(rng, shape, width, height, dial_radius, center, -0.12 if plain else 0.08)
        hour_dial, minute_dial = 30.0 * hour + minute / 2.0, 6.0 * minute
        labels.update(hour=hour, minute=minute, homography=homography)
        labels.update(zip(ANGLE_NAMES, (_image_angle(homography, a) for a in (0.0, hour_dial, minute_dial))))
        scale = math.sqrt(abs(np.linalg.det(homography[:2, :2] / homography[2, 2])))  # pixels per dial radius
        face, face_matrix = _draw_face(rng, hour_dial, minute_dial, scale, abs(rotation) > 30.0, mode, plain)
        _paste_clock(rng, scene, face, face_matrix, homography, mode, plain)
        if not plain and rng.random() < 0.15:
            _occluder(rng, scene, homography, mode)
    if not plain:
        scene = _camera(rng, scene, mode)
    return scene, labels


# ---------------------------------------------------------------- public API


def render_clock_scene(
    hour: int,
    minute: int,
    *,
    width: int = 256,
    height: int = 256,
    seed=None,
    rng: np.random.Generator | None = None,
    orientation: str = "world",
    backgrounds: np.ndarray | None = None,
    has_clock: bool = True,
    dial_radius: float | None = None,
    center: tuple[float, float] | None = None,
    plain: bool = False,
) -> tuple[Image.Image, dict]:
    """One RGB scene of exactly ``width x height`` pixels and its labels.

    Labels: ``hour`` (0..11), ``minute``, ``has_clock`` (bool), ``homography`` (3x3 float64, dial →
    pixels, see the module docstring), ``dial_rotation``, ``hour_hand_angle``, ``minute_hand_angle``
    (degrees). ``dial_radius`` / ``center`` (pixels) fix the face's radius and the dial centre's position
    (H maps (0, 0) exactly to ``center``); otherwise they are random. ``plain=True`` draws a test pattern:
    a black-on-white upright frontal dial with baton hands on gray, no clutter and no camera effects.
    """
    hour, minute = _check_time(hour, minute)
    _check_orientation(orientation)
    width, height = operator.index(width), operator.index(height)
    if width < 8 or height < 8:
        raise ValueError(f"width and height must be >= 8, got {width}x{height}")
    if dial_radius is not None and not dial_radius > 0:
        raise ValueError(f"dial_radius must be positive, got {dial_radius}")
    backgrounds = _check_backgrounds(backgrounds)
    rng = rng if rng is not None else np.random.default_rng(seed)
    image, labels = _render(hour, minute, width, height, rng, orientation, backgrounds, bool(has_clock),
                            dial_radius, center, "RGB", plain)
    if not has_clock:
        labels.update(hour=0, minute=0)
    return image, labels


_POOL: np.ndarray | None = None  # the background pool, set before forking workers


def _aspect_size(rng: np.random.Generator, size: int) -> tuple[int, int]:
    pick = rng.random()
    cumulative = 0.0
    ratio = 1.0
    for ratio, p in ASPECTS:
        cumulative += p
        if pick < cumulative:
            break
    if ratio >= 1:
        return size, max(8, round(size / ratio))
    return max(8, round(size * ratio)), size


def _render_range(job):
    start, stop, seed, size, mode, orientation, p_empty = job
    count = stop - start
    images = np.zeros((count, size, size) + ((3,) if mode == "RGB" else ()), dtype=np.uint8)
    ints = np.zeros((count, 3), dtype=np.int64)
    homographies = np.zeros((count, 3, 3), dtype=np.float32)
    angles = np.zeros((count, 3), dtype=np.float32)
    for row, index in enumerate(range(start, stop)):
        rng = np.random.default_rng([seed, index])
        has_clock = bool(rng.random() >= p_empty)
        hour, minute = divmod(int(rng.integers(720)), 60)
        width, height = _aspect_size(rng, size)
        scene, labels = _render(hour, minute, width, height, rng, orientation, _POOL, has_clock, None, None, mode)
        _, _, offset_x, offset_y = letterbox_geometry(width, height, size)
        images[row, offset_y:offset_y + height, offset_x:offset_x + width] = np.asarray(scene)
        ints[row] = (labels["hour"] if has_clock else 0, labels["minute"] if has_clock else 0, has_clock)
        if has_clock:
            shift = np.array([[1, 0, offset_x], [0, 1, offset_y], [0, 0, 1.0]])
            homographies[row] = shift @ labels["homography"]
            angles[row] = [labels[name] for name in ANGLE_NAMES]
    return start, images, ints, homographies, angles


def make_scene_arrays(
    n: int, *, size: int = 256, seed: int = 0, num_proc: int | None = None, mode: str = "L",
    orientation: str = "world", backgrounds: np.ndarray | None = None, p_empty: float = 0.0,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``n`` letterboxed scenes as uint8 ``[n, size, size]`` ('L') or ``[n, size, size, 3]`` ('RGB').

    Labels: ``hour``/``minute`` int64, ``has_clock`` bool, ``homography`` float32 [n, 3, 3] in the square's
    pixel coordinates, ``dial_rotation``/``hour_hand_angle``/``minute_hand_angle`` float32 degrees.
    A fraction ``p_empty`` of the scenes (on average) has no clock. Scene i depends only on
    ``np.random.default_rng([seed, i])`` and ``backgrounds``, never on ``num_proc``.
    """
    global _POOL
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    size = operator.index(size)
    if size < 16:
        raise ValueError(f"size must be >= 16, got {size}")
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', got {mode!r}")
    _check_orientation(orientation)
    if not 0.0 <= p_empty <= 1.0:
        raise ValueError(f"p_empty must be in [0, 1], got {p_empty}")
    backgrounds = _check_backgrounds(backgrounds)
    num_proc = max(1, num_proc or os.cpu_count() or 1)
    chunk = max(1, min(64, math.ceil(n / (num_proc * 4))))
    jobs = [(s, min(s + chunk, n), seed, size, mode, orientation, float(p_empty)) for s in range(0, n, chunk)]
    images = np.zeros((n, size, size) + ((3,) if mode == "RGB" else ()), dtype=np.uint8)
    ints = np.zeros((n, 3), dtype=np.int64)
    homographies = np.zeros((n, 3, 3), dtype=np.float32)
    angles = np.zeros((n, 3), dtype=np.float32)
    previous, _POOL = _POOL, backgrounds
    try:  # forked workers inherit _POOL without pickling it
        for start, chunk_images, chunk_ints, chunk_h, chunk_angles in imap_in_order(_render_range, jobs, num_proc):
            stop = start + len(chunk_images)
            images[start:stop], ints[start:stop] = chunk_images, chunk_ints
            homographies[start:stop], angles[start:stop] = chunk_h, chunk_angles
    finally:
        _POOL = previous
    labels = {"hour": ints[:, 0], "minute": ints[:, 1], "has_clock": ints[:, 2].astype(bool),
              "homography": homographies}
    labels.update({name: angles[:, k] for k, name in enumerate(ANGLE_NAMES)})
    return images, labels


def load_background_pool(sources, *, max_images: int = 20000, seed: int = 0) -> np.ndarray | None:
    """uint8 ``[N, 64, 64, 3]`` photos for scene backgrounds from local Hub-style dataset folders
    (parquet / arrow files or ``save_to_disk`` folders with an image column), at most ``max_images``
    in all, drawn at random (``seed``) and split evenly over the sources. ``None`` when ``sources`` is
    empty or None or no image is found (scenes then use procedural backgrounds)."""
    import datasets

    from .sources import DataError, find_image_column, load_hf_dataset

    if not sources:
        return None
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    sources = [str(s) for s in sources]
    rng = np.random.default_rng(seed)
    arrays = []
    for k, source in enumerate(sources):
        quota = max_images // len(sources) + (1 if k < max_images % len(sources) else 0)
        if quota <= 0:
            continue
        try:
            dataset = load_hf_dataset(source)
        except (DataError, FileNotFoundError, ValueError):
            continue
        splits = [dataset[name] for name in sorted(dataset.keys())] if hasattr(dataset, "keys") else [dataset]
        rows = []
        for split in splits:
            try:
                column = find_image_column(split)
            except DataError:
                continue
            rows.append(split.cast_column(column, datasets.Image(decode=False)).select_columns([column]))
        total = sum(len(r) for r in rows)
        if total == 0:
            continue
        chosen = np.sort(rng.choice(total, size=min(quota, total), replace=False))
        bounds = np.cumsum([0] + [len(r) for r in rows])
        for j, split in enumerate(rows):
            local = chosen[(chosen >= bounds[j]) & (chosen < bounds[j + 1])] - bounds[j]
            if len(local) == 0:
                continue
            column = split.column_names[0]
            for item in split.select(local.tolist())[column]:
                data = item.get("bytes") if isinstance(item, dict) else None
                image = Image.open(io.BytesIO(data) if data is not None else item["path"]).convert("RGB")
                if image.size != (POOL_IMAGE_SIZE, POOL_IMAGE_SIZE):
                    image = image.resize((POOL_IMAGE_SIZE, POOL_IMAGE_SIZE), Image.BILINEAR)
                arrays.append(np.asarray(image))
    if not arrays:
        return None
    return np.stack(arrays)
