"""Where the clock sits in a scene: its homography, the warp of the frontal face into the scene, occluders.

``_sample_rotation`` draws the in-plane rotation for an orientation mode, ``_shape_matrix`` adds a 3-D tilt
seen through a perspective camera, ``_place`` scales and positions the dial (giving the scene's homography H,
dial coordinates → pixels), ``_paste_clock`` warps the face drawn by :mod:`tinyvision.data.scene_faces`
through H with an optional drop shadow, and ``_occluder`` puts an object over part of the case.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .clock_geometry import _project, _radial
from .scene_painting import _ink, _random_color, _u

WORLD_ANY_SHARE = 0.3  # orientation "world": this share of dials turned any way, the rest upright within a tilt
DIAL_RADIUS_RANGE = (0.11, 0.47)  # face radius as a fraction of the longer image side, log-uniform


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
