"""The hands of a scene clock: shapes (baton, sword, breguet, skeleton, arrow, counterweight, leaf, tapered),
soft shadows, and second and alarm hands as distractors, drawn on the frontal face canvas.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from .clock_geometry import _hand_outline, _radial
from .clock_style import RGB, _lum, _pick
from .scene_painting import _FacePainter, _ink, _random_color, _shade, _u

HAND_SHAPES = ("baton", "sword", "breguet", "skeleton", "arrow", "counterweight", "leaf", "tapered")
# Breguet and skeleton hands are drawn half as often again as before and baton and sword hands less: the reader
# trained on the earlier weights (0.2, 0.17, 0.1, 0.1, ...) read them worst of all the shapes on fresh scenes of
# this generator (benchmarks/scene_styles.py, 395 clocks each: 84 and 82 % within 5 minutes, the others 92-95 %).
# The default run on these weights read them hardly better (85 and 82 %): reports/task2/report.md, *Hard hand shapes*.
HAND_SHAPE_WEIGHTS = (0.15, 0.12, 0.15, 0.15, 0.12, 0.1, 0.11, 0.1)


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
    """Hour and minute hands (shadow first), distractor second / alarm hands and the centre cap."""
    u = functools.partial(_u, rng)
    shape = "baton" if plain else _pick(rng, HAND_SHAPES, HAND_SHAPE_WEIGHTS, name="hands")
    minute_len = u(0.72, 0.93)
    hour_len = min(u(0.40, 0.64), 0.72 * minute_len)
    minute_w = u(0.025, 0.07)
    hour_w = minute_w * u(1.15, 2.2)
    tail = u(0.1, 0.22) if shape == "counterweight" else (u(0.0, 0.15) if u() < 0.4 else 0.0)
    if plain:
        minute_len, hour_len, minute_w, hour_w, tail = 0.85, 0.5, 0.05, 0.07, 0.0
    alarm = None if plain or u() >= 0.1 else (u(0, 360), _random_color(rng))
    second = None if plain or u() >= 0.5 else (u(0, 360), accent if u() < 0.7 else hand_rgb, u(0.85, 0.95),
                                              u(0.12, 0.25), u() < 0.3)
    shadow = None if plain or u() >= 0.4 else (u(0, 360), u(0.015, 0.04), u(0.25, 0.5))
    # Breguet hands: where the moon sits (share of the hand's length), its radius (hand widths), the ring's width
    # (moon radii), the shaft's half-width (hand widths), and whether a short point replaces the shaft beyond it
    breguet = (u(0.4, 0.8), u(0.8, 1.8), u(0.25, 0.45), u(0.15, 0.3), u() < 0.5) if shape == "breguet" else None
    # counterweight discs on or beyond the tail's end, sized by the hand or fixed; skeletons hollow swords half the time
    weight = (u(0.0, 0.05), u(1.0, 1.6) if u() < 0.5 else -u(0.035, 0.07)) if shape == "counterweight" else None
    hollow_sword = shape == "skeleton" and u() < 0.5

    def polys(angle, length, width):
        along, across = _hand_polygon("sword" if hollow_sword else shape, length, width, tail)
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
        elif shape == "breguet":  # a thin shaft, a hollow moon along it, a point beyond the moon
            moon_at, moon_scale, ring_frac, shaft_frac, short_point = breguet
            ring_r = max(0.035, width * moon_scale)
            moon = min(max(length * moon_at, length - ring_r * 3.2), length - ring_r * 1.3)
            if short_point:  # the shaft ends in the moon; a short point sticks out beyond it
                paint.polygons(_radial(angle, [-tail, moon, moon, -tail], [-width * shaft_frac, -width * shaft_frac,
                                                                           width * shaft_frac, width * shaft_frac]),
                               hand_rgb)
                paint.polygons(_radial(angle, [moon + ring_r * 0.7, length, moon + ring_r * 0.7],
                                       [-width * shaft_frac * 1.4, 0.0, width * shaft_frac * 1.4]), hand_rgb)
            else:
                paint.polygons(_radial(angle, [-tail, length, length, -tail],
                                       [-width * shaft_frac, -width * 0.1, width * 0.1, width * shaft_frac]), hand_rgb)
            paint.circle(ring_r, hand_rgb, centre=tuple(_radial(angle, moon, 0.0)), width=max(0.012, ring_r * ring_frac))
        else:
            paint.polygons(p, hand_rgb)
        if shape == "counterweight":
            beyond, size = weight
            radius = width * size if size > 0 else -size
            paint.circle(radius, hand_rgb, centre=tuple(_radial(angle, -tail - beyond, 0.0)))
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
