"""A scene clock's face drawn frontally: colours, case and bezel, dial patterns, then markings, hands and glare.

``_draw_face`` returns the face as an image with alpha and the matrix from dial coordinates to its pixels;
:func:`tinyvision.data.scene_placement._paste_clock` then warps it into the scene. The markings come from
:mod:`tinyvision.data.scene_dials`, the hands from :mod:`tinyvision.data.scene_hands`.
"""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
from PIL import Image

from .clock_geometry import _radial
from .clock_style import RGB, _lum, _pick
from .scene_dials import _draw_markers
from .scene_hands import _draw_hands
from .scene_painting import _clip_rgb, _FacePainter, _ink, _jitter, _random_color, _shade, _to_mode, _u

# The case round the face; "frameless": no case and no face, the marks and hands alone on the wall (as wall clocks
# whose numerals are fixed straight to the wall, or a glass dial)
CASE_KINDS = ("thin", "ring", "metal", "wood", "square", "none", "frameless")
CASE_WEIGHTS = (0.18, 0.23, 0.23, 0.1, 0.12, 0.06, 0.08)
FACE_SUPERSAMPLE = 2  # the face is drawn at this many times its final scale, then box-reduced
MAX_FACE_PX_PER_RADIUS = 170  # cap on the drawing scale (pixels per dial radius) for speed


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
    case_kind = _pick(rng, CASE_KINDS, CASE_WEIGHTS, name=None if plain else "case")
    bezel = {"thin": u(0.02, 0.05), "ring": u(0.06, 0.2), "metal": u(0.06, 0.22), "wood": u(0.12, 0.3),
             "square": u(0.15, 0.35), "none": 0.0, "frameless": 0.0}[case_kind]
    case_rgb = {"metal": _jitter((175, 175, 178), rng, 40), "wood": _jitter((120, 75, 40), rng, 30)}.get(
        case_kind, _random_color(rng) if u() < 0.5 else _jitter((30, 30, 30), rng, 25))
    if case_kind == "metal" and u() < 0.3:
        case_rgb = _jitter((200, 170, 90), rng, 25)  # brass
    if plain:
        face, ink, hand_rgb, accent, face_kind = (255, 255, 255), (0, 0, 0), (0, 0, 0), (0, 0, 0), "white"
        case_kind, bezel, case_rgb = "ring", 0.1, (60, 60, 60)
    if case_kind == "frameless":
        return _draw_frameless(rng, hour_angle, minute_angle, k, need_twelve, mode, (face, ink, hand_rgb, accent))
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


def _draw_frameless(rng: np.random.Generator, hour_angle: float, minute_angle: float, k: float, need_twelve: bool,
                    mode: str, colours: tuple) -> tuple[Image.Image, np.ndarray]:
    """A clock without case or face: its marks and hands alone on the wall (as ``_draw_face`` returns it). They
    are drawn twice with the same random draws, on black and on white; where the two differ the wall shows
    through, so the difference is the alpha (exact at anti-aliased edges) and the black drawing over it the
    colour. The face colour still picks which marks stand out (as on a face of that colour)."""
    face, ink, hand_rgb, accent = colours
    ss = FACE_SUPERSAMPLE
    side = math.ceil(2 * 1.04 * k) + 4
    side += side % 2
    c = side / 2
    matrix = np.array([[k, 0, c], [0, -k, c], [0, 0, 1.0]])
    draw_matrix = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1.0]]) @ matrix
    drawings = []
    for background, draws in ((0, copy.deepcopy(rng)), (255, rng)):
        canvas = Image.new(mode, (side, side), background if mode == "L" else (background,) * 3)
        paint = _FacePainter(canvas, draw_matrix, 1)
        _draw_markers(paint, draws, ink, accent, face, need_twelve, False, k)
        _draw_hands(paint, draws, hour_angle, minute_angle, hand_rgb, accent, face, ink, k, side, draw_matrix, mode,
                    False)
        drawings.append(np.asarray(canvas.reduce(ss), np.float32).reshape(side // ss, side // ss, -1))
    on_black, on_white = drawings
    alpha = np.clip(1.0 - (on_white - on_black).max(-1) / 255.0, 0.0, 1.0)
    colour = np.clip(on_black / np.maximum(alpha, 1e-3)[..., None], 0, 255).astype(np.uint8)
    image = Image.fromarray(colour[..., 0] if mode == "L" else colour, mode=mode)
    image.putalpha(Image.fromarray(np.round(alpha * 255).astype(np.uint8), mode="L"))
    return image, np.diag([1.0 / ss, 1.0 / ss, 1.0]) @ matrix


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
