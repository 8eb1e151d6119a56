"""Photo-like scenes with an analog clock in them, with exact labels, for a find-then-read clock reader.

A scene is a room-like background (crops or mosaics of real photos from a pool, or procedural walls,
wood, tiles, shelves and bokeh), clutter (rectangles, lines, text and round distractors such as
plates and rings), and usually one clock: a face drawn frontally (numerals in several fonts, minute
tracks, brand text, sub-dials, date windows, patterned / metallic / coloured dials, bezels and cases,
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
"""

from __future__ import annotations

import functools
import io
import math
import operator
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ..models.image_processing_tinyvision import letterbox_geometry
from .clocks import (
    imap_in_order,
    _check_time,
    _dial_matrix,
    _hand_outline,
    _image_angle,
    _lum,
    _Painter,
    _pick,
    _project,
    _radial,
    _uniform,
    render_clock_with_labels,
    sample_style,
)

__all__ = [
    "SCENE_GENERATOR_VERSION",
    "ORIENTATIONS",
    "render_clock_scene",
    "make_scene_arrays",
    "load_background_pool",
]

SCENE_GENERATOR_VERSION = "1"
ORIENTATIONS = ("world", "any", "upright")
ANGLE_NAMES = ("dial_rotation", "hour_hand_angle", "minute_hand_angle")
# (width, height) aspect ratios of scenes in make_scene_arrays and their probabilities
ASPECTS = ((16 / 9, 0.35), (4 / 3, 0.25), (1.0, 0.25), (3 / 4, 0.15))
# A share of the scenes shows a clock from the Task 2 renderer (tinyvision.data.clocks: its 12 o'clock marker is
# always distinct, so it may turn any way) as a square picture in the scene, so the photo reader also reads
# the seed's clocks.
TASK2_CLOCK_FRACTION = 0.2
WORLD_ANY_SHARE = 0.3  # orientation "world": this share of dials turned any way, the rest upright within a tilt
DIAL_RADIUS_RANGE = (0.11, 0.47)  # face radius as a fraction of the longer image side, log-uniform
FACE_SUPERSAMPLE = 2  # the face is drawn at this many times its final scale, then box-reduced
MAX_FACE_PX_PER_RADIUS = 170  # cap on the drawing scale (pixels per dial radius) for speed
POOL_IMAGE_SIZE = 64

RGB = tuple[int, int, int]

_FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "cmr10.ttf", "cmss10.ttf", "DejaVuSans-Oblique.ttf",
)
_ROMAN = ("XII", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI")
_WORDS = ("QUARTZ", "ROYAL", "SWISS", "TIME", "ACME", "KLOCK", "NORD", "OMNI", "LUX", "MEISTER", "SEIKA",
          "HERMLE", "ATLAS", "CITY", "PARIS", "LONDON", "ELITE", "AUTOMATIC", "WATER", "RESIST", "MADE IN")


# ---------------------------------------------------------------- small helpers


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


# ---------------------------------------------------------------- geometry


def _sample_rotation(rng: np.random.Generator, orientation: str) -> float:
    """In-plane dial rotation in degrees, clockwise, in (-180, 180]."""
    a, b = rng.random(), rng.standard_normal()
    if orientation == "any" or (orientation == "world" and a < WORLD_ANY_SHARE):
        angle = _u(rng, 0, 360)
    elif orientation == "world":
        angle = float(np.clip(7.0 * b, -25, 25))
    else:
        angle = float(np.clip(3.0 * b, -8, 8))
    return (angle + 180.0) % 360.0 - 180.0


def _shape_matrix(rng: np.random.Generator, rotation: float) -> np.ndarray:
    """Dial coordinates → image offsets from the dial centre, in dial radii: 3-D tilt ∘ in-plane rotation."""
    th = math.radians(rotation)
    c, s = math.cos(th), math.sin(th)
    rotate = np.array([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, 1.0]])  # as clocks.py: v up → 12 at the top
    pick = rng.random()
    tilt = _u(rng, 0, 20) if pick < 0.5 else (_u(rng, 20, 45) if pick < 0.85 else _u(rng, 45, 65))
    axis = _u(rng, 0, 2 * math.pi)
    focal = _u(rng, 2.0, 8.0)  # camera distance in dial radii: perspective strength
    k = np.array([math.cos(axis), math.sin(axis), 0.0])
    a = math.radians(tilt)
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    r3 = np.eye(3) + math.sin(a) * cross + (1 - math.cos(a)) * cross @ cross  # Rodrigues
    tilt_matrix = np.array([[r3[0, 0], r3[0, 1], 0.0], [r3[1, 0], r3[1, 1], 0.0],
                            [r3[2, 0] / focal, r3[2, 1] / focal, 1.0]])
    return tilt_matrix @ rotate


def _extent(shape: np.ndarray) -> tuple[float, float, float, float]:
    """Bounding box (x0, y0, x1, y1), in dial radii around the centre, of the projected face edge."""
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    pts = _project(shape, np.stack([np.sin(t), np.cos(t)], axis=-1))
    return float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())


def _place(rng: np.random.Generator, shape: np.ndarray, width: int, height: int,
           dial_radius: float | None, center: tuple[float, float] | None, slack: float = 0.08) -> np.ndarray:
    """H for a dial of random (or given) radius and centre; ``slack``: the fraction of the face's
    diameter that may be cut by the image border (negative: keep that much margin)."""
    x0, y0, x1, y1 = _extent(shape)
    log_lo, log_hi = (math.log(f * max(width, height)) for f in DIAL_RADIUS_RANGE)
    radius = math.exp(_u(rng, log_lo, log_hi))
    radius = min(radius, 1.05 * width / (x1 - x0), 1.05 * height / (y1 - y0))
    if dial_radius is not None:
        radius = float(dial_radius)
    px, py = rng.random(), rng.random()
    if center is None:
        slack_x, slack_y = slack * radius * (x1 - x0), slack * radius * (y1 - y0)
        lo_x, hi_x = -radius * x0 - slack_x, width - radius * x1 + slack_x
        lo_y, hi_y = -radius * y0 - slack_y, height - radius * y1 + slack_y
        cx = lo_x + px * (hi_x - lo_x) if hi_x > lo_x else width / 2
        cy = lo_y + py * (hi_y - lo_y) if hi_y > lo_y else height / 2
    else:
        cx, cy = float(center[0]), float(center[1])
    return np.array([[radius, 0, cx], [0, radius, cy], [0, 0, 1.0]]) @ shape


# ---------------------------------------------------------------- the clock face (drawn frontally)


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


def _sample_face_colors(rng: np.random.Generator):
    """(face, ink, hands, accent, kind)."""
    kind = _pick(rng, ["white", "cream", "dark", "colour", "metal"], [0.32, 0.18, 0.17, 0.18, 0.15])
    if kind == "white":
        face = _jitter((246, 246, 244), rng, 9)
    elif kind == "cream":
        face = _clip_rgb((_u(rng, 225, 250), _u(rng, 212, 238), _u(rng, 170, 210)))
    elif kind == "dark":
        face = _jitter((28, 28, 32), rng, 20)
    elif kind == "colour":
        base = [(20, 40, 100), (20, 70, 45), (110, 30, 30), (40, 90, 140), (170, 140, 60), (200, 200, 190),
                (60, 60, 70), (230, 120, 40), (120, 170, 200)]
        face = _jitter(base[int(rng.integers(len(base)))], rng, 30)
    else:
        face = _jitter((170, 172, 175), rng, 30)
    light = _lum(face) > 120
    ink = _jitter((20, 20, 22), rng, 18) if light else _jitter((240, 238, 230), rng, 15)
    gold = rng.random() < 0.2
    if gold:
        ink = _jitter((200, 165, 80) if not light else (120, 90, 30), rng, 20)
    hands = ink if rng.random() < 0.7 else (_jitter((10, 10, 10), rng, 10) if light else _jitter((230, 230, 230), rng, 20))
    if abs(_lum(hands) - _lum(face)) < 90:  # the hands must stand out from the face
        hands = ink
    accent = _pick(rng, ["red", "ink", "other"], [0.6, 0.25, 0.15])
    accent = (_jitter((200, 30, 30), rng, 30) if accent == "red" else ink if accent == "ink" else _random_color(rng))
    return face, ink, hands, accent, kind


def _case_texture(rng: np.random.Generator, kind: str, base: RGB, side: int, mode: str) -> Image.Image:
    """Full face-canvas texture for the case / bezel: plain, metallic gradient or wood grain."""
    n = 24
    if kind == "plain":
        return Image.new(mode, (side, side), _ink(mode, base))
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32) / (n - 1) * 2 - 1
    d = _u(rng, 0, 2 * math.pi)
    ramp = math.cos(d) * xs + math.sin(d) * ys
    if kind == "metal":
        shade = 1.0 + 0.35 * ramp + 0.12 * np.sin(3 * ramp + _u(rng, 0, 6))
    else:  # wood: long wavy stripes
        along = math.cos(d) * ys - math.sin(d) * xs
        shade = 1.0 + 0.13 * np.sin(_u(rng, 18, 40) * (ramp + 0.08 * np.sin(4 * along))) + 0.1 * ramp
    array = np.asarray(base, dtype=np.float32)[None, None, :] * shade[..., None]
    return _to_mode(array, mode, (side, side))


def _draw_face(rng: np.random.Generator, hour_angle: float, minute_angle: float, px_per_radius: float,
               need_twelve: bool, mode: str, plain: bool):
    """Frontal clock: returns (image with alpha, matrix dial → image continuous pixel coordinates)."""
    ss = FACE_SUPERSAMPLE
    k = max(8.0, min(px_per_radius, MAX_FACE_PX_PER_RADIUS)) * ss  # drawing pixels per dial radius
    u = functools.partial(_u, rng)
    face, ink, hand_rgb, accent, face_kind = _sample_face_colors(rng)
    # ---- case
    case_kind = _pick(rng, ["thin", "ring", "metal", "wood", "square", "none"], [0.2, 0.25, 0.25, 0.1, 0.12, 0.08])
    bezel = {"thin": u(0.02, 0.05), "ring": u(0.06, 0.2), "metal": u(0.06, 0.22), "wood": u(0.12, 0.3),
             "square": u(0.15, 0.35), "none": 0.0}[case_kind]
    case_rgb = {"metal": _jitter((175, 175, 178), rng, 40), "wood": _jitter((120, 75, 40), rng, 30)}.get(
        case_kind, _random_color(rng) if u() < 0.5 else _jitter((30, 30, 30), rng, 25))
    if case_kind == "metal" and u() < 0.3:
        case_rgb = _jitter((200, 170, 90), rng, 25)  # brass
    if plain:
        face, ink, hand_rgb, accent, face_kind = (255, 255, 255), (0, 0, 0), (0, 0, 0), (0, 0, 0), "white"
        case_kind, bezel, case_rgb = "ring", 0.1, (60, 60, 60)
    square = case_kind == "square"
    extent = (1.0 + bezel) * (1.0 if not square else 1.02) + 0.02
    side = int(math.ceil(2 * extent * k)) + 4
    side += side % 2
    c = side / 2
    matrix = np.array([[k, 0, c], [0, -k, c], [0, 0, 1.0]])  # dial → drawing canvas (continuous)
    draw_matrix = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1.0]]) @ matrix  # ImageDraw: pixel centres
    texture = {"metal": "metal", "wood": "wood"}.get(case_kind, "metal" if u() < 0.3 else "plain")
    canvas = _case_texture(rng, texture, case_rgb, side, mode)
    paint = _FacePainter(canvas, draw_matrix, 1)
    alpha = Image.new("L", (side, side), 0)
    alpha_paint = _FacePainter(alpha, draw_matrix, 1)
    if square:
        half = 1.0 + bezel
        corner = u(0.0, 0.3)
        box = [c - half * k, c - half * k, c + half * k - 1, c + half * k - 1]
        alpha_paint.draw.rounded_rectangle(box, radius=corner * k, fill=255)
        paint.draw.rounded_rectangle(box, radius=corner * k, outline=_ink(mode, _shade(case_rgb, 0.6)),
                                     width=max(1, round(0.025 * k)))
    else:
        alpha_paint.circle(1.0 + bezel, (255, 255, 255))
        if bezel > 0.03:
            paint.circle(1.0 + bezel - 0.01, _shade(case_rgb, 0.55), width=0.02)  # outer edge
    if bezel > 0.04 and not plain:
        paint.circle(1.0 + 0.03, _shade(case_rgb, 1.25 if u() < 0.5 else 0.6), width=0.03)  # inner lip
    # ---- dial face
    pattern = "none" if plain else _pick(rng, ["none", "sunburst", "rings", "gradient"], [0.55, 0.15, 0.1, 0.2])
    if face_kind == "metal" or pattern == "gradient":
        n = 16
        ys, xs = np.mgrid[0:n, 0:n].astype(np.float32) / (n - 1) * 2 - 1
        d = u(0, 2 * math.pi)
        shade = (1.0 + u(0.1, 0.3) * (math.cos(d) * xs + math.sin(d) * ys)) if face_kind == "metal" else (
            1.0 - u(0.1, 0.35) * (xs**2 + ys**2))
        grad = _to_mode(np.asarray(face, np.float32) * shade[..., None], mode, (side, side))
        disc = Image.new("L", (side, side), 0)
        _FacePainter(disc, draw_matrix, 1).circle(1.0, (255, 255, 255))
        canvas.paste(grad, (0, 0), disc)
    else:
        paint.circle(1.0, face)
    if pattern == "sunburst":
        rays = int(u(40, 120))
        t = np.arange(rays) * 360.0 / rays
        tone = _jitter(_shade(face, 1.08 if _lum(face) < 200 else 0.95), rng, 4)
        wedges = np.zeros((rays, 3, 2))
        wedges[:, 1] = _radial(t, 1.0, 0.0)
        wedges[:, 2] = _radial(t + 180.0 / rays, 1.0, 0.0)
        paint.polygons(wedges, tone)
    elif pattern == "rings":
        tone = _shade(face, 0.9 if _lum(face) > 128 else 1.2)
        for r in np.arange(u(0.05, 0.15), 1.0, u(0.04, 0.12)):
            paint.circle(float(r), tone, width=0.01)
    if u() < 0.5 or plain:
        paint.circle(1.0, _shade(ink, 1.0) if u() < 0.5 else _shade(face, 0.7), width=u(0.008, 0.025))
    # ---- markers
    _draw_markers(paint, rng, ink, accent, face, need_twelve, plain, k)
    # ---- hands (shadows first)
    _draw_hands(paint, rng, hour_angle, minute_angle, hand_rgb, accent, face, ink, k, side, draw_matrix, mode, plain)
    # ---- box-reduce, then glass glare on the smaller image
    image = canvas.reduce(ss)
    alpha = alpha.reduce(ss)
    matrix = np.diag([1.0 / ss, 1.0 / ss, 1.0]) @ matrix
    if not plain and u() < 0.35:
        image = _glare(rng, image, mode)
    image.putalpha(alpha)
    return image, matrix


def _glare(rng: np.random.Generator, image: Image.Image, mode: str) -> Image.Image:
    n = 24
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32) / (n - 1) * 2 - 1
    d = _u(rng, 0, 2 * math.pi)
    if rng.random() < 0.5:  # soft band
        band = math.cos(d) * xs + math.sin(d) * ys
        field = np.exp(-(((band - _u(rng, -0.6, 0.6)) / _u(rng, 0.08, 0.3)) ** 2))
    else:  # soft ellipse highlight
        cx, cy = _u(rng, -0.5, 0.5), _u(rng, -0.5, 0.5)
        field = np.exp(-(((xs - cx) / _u(rng, 0.15, 0.5)) ** 2 + ((ys - cy) / _u(rng, 0.1, 0.4)) ** 2))
    strength = _u(rng, 0.15, 0.45)
    mask = Image.fromarray((field * strength * 255).astype(np.uint8), mode="L").resize(image.size, Image.BILINEAR)
    return Image.composite(Image.new(mode, image.size, 255 if mode == "L" else (255, 255, 255)), image, mask)


def _draw_markers(paint: _FacePainter, rng, ink: RGB, accent: RGB, face: RGB, need_twelve: bool, plain: bool,
                  k: float):
    u = functools.partial(_u, rng)
    hours = np.arange(12)
    r_out = u(0.9, 0.97)
    kind = "bars" if plain else _pick(
        rng, ["bars", "bars_minutes", "railroad", "dots", "arabic", "roman", "cardinal", "sparse"],
        [0.16, 0.14, 0.1, 0.08, 0.22, 0.14, 0.1, 0.06])
    tick_w, tick_len = u(0.025, 0.06), u(0.07, 0.16)
    inner = r_out  # innermost radius the track / ticks reach
    minutes = np.array([m for m in range(60) if m % 5])
    if kind in ("bars_minutes", "railroad") or (kind in ("arabic", "roman") and u() < 0.5):
        track_w = u(0.008, 0.018)
        paint.radial_bars(6.0 * minutes, r_out - u(0.03, 0.06), r_out, track_w, ink)
        if kind == "railroad":
            depth = u(0.04, 0.07)
            paint.circle(r_out, ink, width=0.008)
            paint.circle(r_out - depth, ink, width=0.008)
            paint.radial_bars(6.0 * minutes, r_out - depth, r_out, track_w, ink)
        inner = r_out - 0.07
    numerals: list[int] = []
    if kind == "bars" or kind == "bars_minutes" or kind == "railroad":
        paint.radial_bars(30.0 * hours, r_out - tick_len, r_out, tick_w, ink)
        inner = r_out - tick_len
    elif kind == "dots":
        paint.dots(_radial(30.0 * hours, r_out - 0.05, 0.0), u(0.025, 0.045), ink)
        inner = r_out - 0.1
    elif kind in ("arabic", "roman"):
        numerals = list(range(12)) if u() < 0.8 else [0, 3, 6, 9]
        if len(numerals) == 4:
            others = [h for h in range(12) if h not in numerals]
            paint.radial_bars(30.0 * np.array(others), r_out - tick_len * 0.7, r_out, tick_w * 0.8, ink)
    elif kind == "cardinal":
        paint.radial_bars(30.0 * np.array([3, 6, 9]), r_out - tick_len * 1.3, r_out, tick_w * 1.5, ink)
        paint.radial_bars(30.0 * np.array([1, 2, 4, 5, 7, 8, 10, 11]), r_out - tick_len * 0.7, r_out, tick_w * 0.6, ink)
        inner = r_out - tick_len * 1.3
    else:  # sparse: four small bars
        paint.radial_bars(30.0 * np.array([3, 6, 9]), r_out - tick_len, r_out, tick_w, ink)
    twelve_is_numeral = bool(numerals) and 0 in numerals
    twelve = "same"
    if not twelve_is_numeral and (need_twelve or u() < 0.5):
        twelve = _pick(rng, ["triangle", "double", "dot", "wide", "star", "diamond", "ring", "square", "outward"])
    if kind == "sparse" and twelve == "same":
        twelve = "wide"
    if twelve == "triangle":
        paint.polygons(_radial(0.0, [r_out, r_out, r_out - 0.17], [-0.07, 0.07, 0.0]), accent if u() < 0.3 else ink)
    elif twelve == "double":
        for s in (-1, 1):
            paint.radial_bars(0.0, r_out - max(tick_len, 0.1), r_out, tick_w, ink, s * tick_w * 1.2)
    elif twelve == "dot":
        paint.dots(_radial(0.0, r_out - 0.08, 0.0), 0.06, accent if abs(_lum(accent) - _lum(face)) > 80 else ink)
    elif twelve == "wide":
        paint.radial_bars(0.0, r_out - max(tick_len * 1.2, 0.12), r_out, max(tick_w * 2.5, 0.09), ink)
    elif twelve in ("star", "diamond", "ring", "square", "outward"):  # shapes no other hour has
        colour = accent if abs(_lum(accent) - _lum(face)) > 80 and u() < 0.5 else ink
        size, centre = u(0.055, 0.08), np.array([0.0, r_out - 0.09])
        if twelve == "star":
            t = np.arange(10) * np.pi / 5
            radius = np.where(np.arange(10) % 2 == 0, size * 1.2, size * 0.5)
            paint.polygons(centre + np.stack([radius * np.sin(t), radius * np.cos(t)], -1), colour)
        elif twelve == "diamond":
            paint.polygons(centre + np.array([[0, 1.4], [0.8, 0], [0, -1.4], [-0.8, 0]]) * size, colour)
        elif twelve == "ring":
            paint.circle(size, colour, centre=tuple(centre), width=0.022)
        elif twelve == "square":
            paint.polygons(centre + np.array([[-1, 1], [1, 1], [1, -1], [-1, -1]]) * size * 0.85, colour)
        else:  # a triangle pointing outwards
            paint.polygons(_radial(0.0, [r_out - 0.17, r_out - 0.17, r_out], [-0.07, 0.07, 0.0]), colour)
    if twelve != "same":
        inner = min(inner, r_out - 0.17)
    if numerals:
        font = _FONT_FILES[int(rng.integers(len(_FONT_FILES)))]
        roman = kind == "roman"
        size = u(0.13, 0.19) if roman else u(0.15, 0.25)
        px = max(6, 2 * round(size * k / 2))
        radial = roman and u() < 0.6
        labels = [(_ROMAN[h] if roman else str(h or 12)) for h in numerals]
        if roman and u() < 0.3:
            labels = ["IIII" if t == "IV" else t for t in labels]
        r_num = min(inner, r_out - 0.05) - (0.55 if not radial else 0.5) * size
        if roman and not radial:
            r_num -= 0.05
        rotations = [30.0 * h if radial else 0.0 for h in numerals]
        centres = _radial(30.0 * np.array(numerals), r_num, 0.0)
        if numerals[0] == 0 and u() < 0.3:  # an accented 12: larger, often in the accent colour
            colour = accent if abs(_lum(accent) - _lum(face)) > 80 else ink
            paint.texts_font(centres[:1], labels[:1], font, max(6, 2 * round(1.25 * px / 2)), rotations[:1], colour)
            centres, labels, rotations = centres[1:], labels[1:], rotations[1:]
        paint.texts_font(centres, labels, font, px, rotations, ink)
        inner = r_num - 0.6 * size
    if plain:
        return
    # brand text, sub-dial, date window (distractors and, under 12, a 12 o'clock cue)
    font = _FONT_FILES[int(rng.integers(len(_FONT_FILES)))]
    if u() < 0.55:
        word = _WORDS[int(rng.integers(len(_WORDS)))] if u() < 0.6 else "".join(
            chr(65 + int(x)) for x in rng.integers(0, 26, int(u(2, 7))))
        px = max(5, 2 * round(u(0.06, 0.11) * k / 2))
        y = min(inner - 0.12, u(0.3, 0.45))
        paint.texts_font(np.array([[0.0, y]]), [word], font, px, 0.0, ink)
    if u() < 0.3:
        word = _WORDS[int(rng.integers(len(_WORDS)))]
        px = max(5, 2 * round(u(0.05, 0.08) * k / 2))
        paint.texts_font(np.array([[0.0, -min(inner - 0.12, u(0.3, 0.45))]]), [word], font, px, 0.0, ink)
    elif u() < 0.15:  # sub-dial at 6 o'clock with its own small hand
        r_sub = u(0.12, 0.18)
        centre = (0.0, -min(0.45, inner - r_sub - 0.02))
        paint.circle(r_sub, ink, centre=centre, width=0.012)
        a = u(0, 360)
        paint.polygons(np.asarray(centre) + _radial(a, [0, r_sub * 0.85, r_sub * 0.85, 0], [-0.008, -0.008, 0.008, 0.008]), ink)
        paint.circle(0.015, ink, centre=centre)
    if u() < 0.12 and not (numerals and 3 in numerals):  # date window at 3 o'clock
        x0 = min(inner - 0.2, 0.55)
        box = np.array([[x0, -0.07], [x0 + 0.17, -0.07], [x0 + 0.17, 0.07], [x0, 0.07]])
        paint.polygons(box, (250, 250, 245) if _lum(face) < 128 or u() < 0.5 else _shade(face, 0.85))
        px = max(5, 2 * round(0.1 * k / 2))
        paint.texts_font(np.array([[x0 + 0.085, 0.0]]), [str(int(rng.integers(1, 32)))], "DejaVuSans.ttf", px, 0.0,
                         (20, 20, 20))


def _hand_polygon(shape: str, length: float, width: float, tail: float):
    """(along, across) polygon of a hand pointing along +along."""
    w = width / 2
    if shape == "sword":
        return [-tail, length * 0.8, length, length * 0.8, -tail], [-w * 0.8, -w * 1.1, 0, w * 1.1, w * 0.8]
    if shape in ("baton", "skeleton"):
        return [-tail, length, length, -tail], [-w, -w, w, w]
    return _hand_outline({"arrow": "arrow", "leaf": "leaf", "tapered": "tapered"}.get(shape, "line"),
                         length, width, tail)


def _draw_hands(paint: _FacePainter, rng, hour_angle: float, minute_angle: float, hand_rgb: RGB, accent: RGB,
                face: RGB, ink: RGB, k: float, side: int, draw_matrix: np.ndarray, mode: str, plain: bool):
    u = functools.partial(_u, rng)
    shape = "baton" if plain else _pick(rng, ["baton", "sword", "breguet", "skeleton", "arrow", "counterweight",
                                              "leaf", "tapered"], [0.2, 0.17, 0.1, 0.1, 0.12, 0.1, 0.11, 0.1])
    minute_len = u(0.72, 0.93)
    hour_len = min(u(0.45, 0.62), 0.72 * minute_len)
    minute_w = u(0.025, 0.055)
    hour_w = minute_w * u(1.15, 1.8)
    tail = u(0.1, 0.22) if shape == "counterweight" else (u(0.0, 0.15) if u() < 0.4 else 0.0)
    if plain:
        minute_len, hour_len, minute_w, hour_w, tail = 0.85, 0.5, 0.05, 0.07, 0.0
    alarm = None if plain or u() >= 0.1 else (u(0, 360), _random_color(rng))
    second = None if plain or u() >= 0.5 else (u(0, 360), accent if u() < 0.7 else hand_rgb, u(0.85, 0.95),
                                              u(0.12, 0.25), u() < 0.3)
    shadow = None if plain or u() >= 0.4 else (u(0, 360), u(0.015, 0.04), u(0.25, 0.5))

    def polys(angle, length, width):
        along, across = _hand_polygon(shape, length, width, tail)
        return [_radial(angle, along, across)]

    hands = [(hour_angle, hour_len, hour_w), (minute_angle, minute_len, minute_w)]
    if shadow is not None:  # a soft, offset, semi-transparent dark copy of the hands
        q = 4
        small = max(8, side // q)
        mask = Image.new("L", (small, small), 0)
        shift = _radial(shadow[0], shadow[1], 0.0)
        m = np.diag([small / side, small / side, 1.0]) @ draw_matrix
        sp = _FacePainter(mask, m, 1)
        for angle, length, width in hands:
            for p in polys(angle, length, width):
                sp.polygons(p + shift, (255, 255, 255))
        mask = mask.resize((side, side), Image.BILINEAR).point([int(v * shadow[2]) for v in range(256)])
        paint.canvas.paste(_ink(mode, (0, 0, 0)), (0, 0, side, side), mask)
    if alarm is not None:
        paint.polygons(_radial(alarm[0], [0, 0.33, 0.4, 0.33, 0], [-0.008, -0.008, 0, 0.008, 0.008]), alarm[1])
        paint.circle(0.05, alarm[1])
    for angle, length, width in hands:
        p = polys(angle, length, width)[0]
        if shape == "skeleton":
            paint.outline(p, hand_rgb, max(0.01, width * 0.22))
        elif shape == "breguet":
            paint.polygons(_radial(angle, [-tail, length, length, -tail], [-width * 0.25, -width * 0.1, width * 0.1,
                                                                          width * 0.25]), hand_rgb)
            ring_r = width * 1.2
            paint.circle(ring_r, hand_rgb, centre=tuple(_radial(angle, length * 0.72, 0.0)), width=width * 0.4)
        else:
            paint.polygons(p, hand_rgb)
        if shape == "counterweight":
            paint.circle(width * 1.3, hand_rgb, centre=tuple(_radial(angle, -tail, 0.0)))
    cap = u(0.03, 0.07) if not plain else 0.05
    paint.circle(cap, hand_rgb)
    if second is not None:
        angle, rgb, length, tail2, lollipop = second
        paint.radial_bars(angle, -tail2, length, u(0.008, 0.016), rgb)
        if lollipop:
            paint.circle(0.035, rgb, centre=tuple(_radial(angle, length * 0.78, 0.0)))
        paint.circle(cap * 0.6, rgb)
    if not plain and u() < 0.4:
        paint.circle(cap * 0.35, _shade(hand_rgb, 1.6) if _lum(hand_rgb) < 128 else _shade(hand_rgb, 0.6))


# ---------------------------------------------------------------- the scene


def _pool_background(rng: np.random.Generator, pool: np.ndarray, width: int, height: int, mode: str) -> Image.Image:
    n, ph, pw = pool.shape[:3]
    grid = 1 if rng.random() < 0.7 else (2 if rng.random() < 0.6 else 3)
    tile = 32
    tiles = []
    for _ in range(grid * grid):
        img = pool[int(rng.integers(n))]
        frac = _u(rng, 0.4, 1.0)
        ch, cw = max(4, int(ph * frac)), max(4, int(pw * frac * _u(rng, 0.8, 1.25)))
        cw = min(cw, pw)
        y0, x0 = int(rng.integers(ph - ch + 1)), int(rng.integers(pw - cw + 1))
        crop = img[y0:y0 + ch, x0:x0 + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        tiles.append(np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize((tile, tile), Image.BILINEAR)))
    rows = [np.concatenate(tiles[r * grid:(r + 1) * grid], axis=1) for r in range(grid)]
    array = np.concatenate(rows, axis=0).astype(np.float32)
    gains = np.array([_u(rng, 0.75, 1.2) for _ in range(3)], dtype=np.float32) * _u(rng, 0.7, 1.2)
    array = array * gains + _u(rng, -20, 20)
    if rng.random() < 0.4:  # out of focus: shrink further before the upscale
        small = max(4, int(tile * grid * _u(rng, 0.25, 0.6)))
        array = np.asarray(Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).resize((small, small),
                                                                                            Image.BILINEAR), np.float32)
    return _to_mode(array, mode, (width, height))


def _procedural_background(rng: np.random.Generator, width: int, height: int, mode: str) -> Image.Image:
    n = 40
    base = np.array(_random_color(rng), dtype=np.float32) * _u(rng, 0.5, 1.0) + _u(rng, 0, 90)
    kind = _pick(rng, ["gradient", "wood", "noise", "flat"], [0.35, 0.2, 0.3, 0.15])
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32) / (n - 1) * 2 - 1
    d = _u(rng, 0, 2 * math.pi)
    ramp = math.cos(d) * xs + math.sin(d) * ys
    if kind == "gradient":
        field = 1.0 + _u(rng, 0.1, 0.4) * ramp
    elif kind == "wood":
        base = np.array(_jitter((140, 95, 55), rng, 40), dtype=np.float32)
        along = math.cos(d) * ys - math.sin(d) * xs
        field = 1.0 + 0.15 * np.sin(_u(rng, 15, 45) * (ramp + 0.05 * np.sin(5 * along + _u(rng, 0, 6))))
    elif kind == "noise":
        field = 1.0 + _u(rng, 0.1, 0.35) * _smooth_field(rng, int(_u(rng, 3, 8)), n, n)
    else:
        field = np.ones((n, n), np.float32)
    array = base[None, None, :] * field[..., None]
    if kind == "noise" and rng.random() < 0.5:  # coloured blotches
        array = array + 40 * np.stack([_smooth_field(rng, 4, n, n) for _ in range(3)], axis=-1)
    return _to_mode(array, mode, (width, height))


def _decorate(rng: np.random.Generator, image: Image.Image, mode: str):
    """Room structure on the background: tiles, a wall with a shelf, bokeh."""
    draw = ImageDraw.Draw(image)
    w, h = image.size
    pick = rng.random()
    if pick < 0.15:  # tiles
        step = _u(rng, 0.06, 0.2) * max(w, h)
        tone = _ink(mode, _random_color(rng))
        lw = max(1, int(step * 0.04))
        for x in np.arange(_u(rng, 0, step), w, step):
            draw.line([x, 0, x, h], fill=tone, width=lw)
        for y in np.arange(_u(rng, 0, step), h, step):
            draw.line([0, y, w, y], fill=tone, width=lw)
    elif pick < 0.4:  # shelf / table edge / window frame
        y = _u(rng, 0.3, 0.95) * h
        thick = _u(rng, 0.02, 0.08) * h
        rgb = _random_color(rng)
        draw.rectangle([0, y, w, y + thick], fill=_ink(mode, rgb))
        draw.rectangle([0, y + thick, w, y + thick * 1.6], fill=_ink(mode, _shade(rgb, 0.5)))
        for _ in range(int(_u(rng, 0, 6))):  # books / objects on it
            x0 = _u(rng, 0, w)
            bw, bh = _u(rng, 0.02, 0.1) * w, _u(rng, 0.05, 0.25) * h
            draw.rectangle([x0, y - bh, x0 + bw, y], fill=_ink(mode, _random_color(rng)))
    if rng.random() < 0.2:  # bokeh: soft bright discs (drawn small, then blurred by the upscale)
        small = image.resize((max(8, w // 6), max(8, h // 6)), Image.BILINEAR)
        sd = ImageDraw.Draw(small)
        for _ in range(int(_u(rng, 3, 12))):
            x, y, r = _u(rng, 0, small.width), _u(rng, 0, small.height), _u(rng, 1, 4)
            tone = _jitter((235, 220, 180), rng, 30)
            sd.ellipse([x - r, y - r, x + r, y + r], fill=_ink(mode, tone))
        blurred = small.resize((w, h), Image.BILINEAR)
        image.paste(Image.blend(image, blurred, 0.6))


def _clutter(rng: np.random.Generator, image: Image.Image, mode: str, count: int, force_round: bool):
    draw = ImageDraw.Draw(image)
    w, h = image.size
    s = max(w, h)
    for i in range(count):
        rgb = _random_color(rng)
        fill = _ink(mode, rgb)
        kind = "round" if (force_round and i == 0) else _pick(rng, ["rect", "line", "text", "round"], [0.3, 0.2, 0.15, 0.35])
        cx, cy = _u(rng, -0.05, 1.05) * w, _u(rng, -0.05, 1.05) * h
        if kind == "rect":
            bw, bh = _u(rng, 0.03, 0.4) * s, _u(rng, 0.03, 0.4) * s
            box = [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]
            if rng.random() < 0.5:
                draw.rectangle(box, fill=fill)
            else:  # picture frame
                draw.rectangle(box, fill=_ink(mode, _random_color(rng)), outline=fill, width=max(1, int(0.1 * min(bw, bh))))
        elif kind == "line":
            a = _u(rng, 0, math.pi)
            length = _u(rng, 0.1, 0.8) * s
            dx, dy = math.cos(a) * length / 2, math.sin(a) * length / 2
            draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=fill, width=max(1, int(_u(rng, 0.003, 0.02) * s)))
        elif kind == "text":
            word = _WORDS[int(rng.integers(len(_WORDS)))]
            px = max(6, int(_u(rng, 0.03, 0.1) * s))
            font = _font(_FONT_FILES[int(rng.integers(len(_FONT_FILES)))], px)
            draw.text((cx, cy), word, fill=fill, font=font)
        else:  # plates, rings, round mirrors, discs: circles that are not clocks
            r = math.exp(_u(rng, math.log(0.04), math.log(0.3))) * s
            aspect = 1.0 if rng.random() < 0.5 else _u(rng, 0.5, 1.0)
            rx, ry = (r, r * aspect) if rng.random() < 0.5 else (r * aspect, r)
            box = [cx - rx, cy - ry, cx + rx, cy + ry]
            style = _pick(rng, ["plate", "ring", "disc", "mirror"])
            if style == "plate":
                draw.ellipse(box, fill=_ink(mode, _jitter((235, 235, 230), rng, 25) if rng.random() < 0.6 else rgb))
                f = _u(rng, 0.6, 0.8)
                draw.ellipse([cx - rx * f, cy - ry * f, cx + rx * f, cy + ry * f],
                             outline=_ink(mode, _jitter((180, 180, 175), rng, 40)), width=max(1, int(r * 0.03)))
            elif style == "ring":
                draw.ellipse(box, outline=fill, width=max(1, int(r * _u(rng, 0.05, 0.25))))
            elif style == "disc":
                draw.ellipse(box, fill=fill)
            else:
                draw.ellipse(box, fill=_ink(mode, _jitter((200, 205, 210), rng, 40)), outline=fill,
                             width=max(1, int(r * 0.12)))


def _paste_clock(rng: np.random.Generator, scene: Image.Image, face: Image.Image, face_matrix: np.ndarray,
                 homography: np.ndarray, mode: str, plain: bool):
    """Warp the frontal face (with alpha) into ``scene`` through ``homography``."""
    side = face.width
    # the face canvas's corners in dial coordinates → their bounding box in the scene
    inv_face = np.linalg.inv(face_matrix)
    corners = _project(inv_face, [[0, 0], [side, 0], [side, side], [0, side]])
    pts = _project(homography, corners)
    x0 = max(0, int(math.floor(pts[:, 0].min())) - 1)
    y0 = max(0, int(math.floor(pts[:, 1].min())) - 1)
    x1 = min(scene.width, int(math.ceil(pts[:, 0].max())) + 1)
    y1 = min(scene.height, int(math.ceil(pts[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    # output pixel (continuous, region-relative) → face canvas (continuous)
    region = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1.0]])
    back = face_matrix @ np.linalg.inv(homography) @ region
    back = back / back[2, 2]
    warped = face.transform((x1 - x0, y1 - y0), Image.PERSPECTIVE, tuple(back.ravel()[:8].tolist()),
                            resample=Image.BILINEAR)
    alpha = warped.getchannel("A")
    if not plain and rng.random() < 0.4:  # soft drop shadow on the wall
        r = max(1.0, math.sqrt(abs(np.linalg.det(homography[:2, :2]))) if homography[2, 2] else 1.0)
        blur = max(1.0, 0.06 * r)
        dx, dy = int(_u(rng, -0.12, 0.12) * r), int(_u(rng, 0.02, 0.15) * r)
        opacity = _u(rng, 0.3, 0.6)
        soft = alpha.filter(ImageFilter.BoxBlur(blur)).point([int(v * opacity) for v in range(256)])
        scene.paste(_ink(mode, (0, 0, 0)), (x0 + dx, y0 + dy, x1 + dx, y1 + dy), soft)
    scene.paste(warped.convert(mode), (x0, y0), alpha)


def _occluder(rng: np.random.Generator, scene: Image.Image, homography: np.ndarray, mode: str):
    """An object in front of part of the rim / case, outside radius 0.98 (away from the hand tips and centre)."""
    a = _u(rng, 0, 360)
    half = _u(rng, 8, 30)
    r0, r1 = _u(rng, 0.98, 1.05), _u(rng, 1.4, 2.5)
    outer = _radial(a + np.array([half, -half]) * _u(rng, 0.8, 1.5), r1, 0.0)
    w = outer @ homography[2, :2] + homography[2, 2]
    if (w < 0.3 * homography[2, 2]).any():  # far points would project behind the camera: stay near the rim
        outer = outer * (1.2 / r1)
    quad = np.concatenate([_radial(a + np.linspace(-half, half, 7), r0, 0.0), outer], axis=0)
    pts = _project(homography, quad).ravel().tolist()
    ImageDraw.Draw(scene).polygon(pts, fill=_ink(mode, _random_color(rng)))


def _camera(rng: np.random.Generator, image: Image.Image, mode: str) -> Image.Image:
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
