"""The markings on a scene clock's dial: hour and minute markers, numerals, the 12 o'clock cue, distractors.

``_draw_markers`` draws one of several marker sets (bars, minute tracks, railroad, dots, wedges, Arabic or Roman
numerals in several fonts, cardinal or sparse ticks), a 12 o'clock marker unlike the other hours when the dial
may be turned far (``need_twelve``), and, except on plain dials, brand text, sub-dials and date windows.
"""

from __future__ import annotations

import functools

import numpy as np

from .clock_geometry import _radial
from .clock_style import RGB, _lum, _pick
from .scene_painting import _FONT_FILES, _WORDS, _FacePainter, _shade, _u

_ROMAN = ("XII", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI")
MARKER_KINDS = ("bars", "bars_minutes", "railroad", "dots", "arabic", "roman", "cardinal", "sparse", "wedges")
# "wedges": slim triangles pointing at the centre at every hour (the indices of many watches and wall clocks). The
# inward triangle is also one of the 12 o'clock cues below, so on a wedge dial the 12 gets another cue or none.
MARKER_WEIGHTS = (0.14, 0.13, 0.09, 0.08, 0.21, 0.13, 0.09, 0.05, 0.08)
# Arabic numerals' size (font pixels in dial radii): up to 0.32, as the big numerals of kitchen and school clocks,
# which crowd the 10, 11 and 12 together near the rim.
ARABIC_SIZE = (0.15, 0.32)


def _draw_markers(paint: _FacePainter, rng, ink: RGB, accent: RGB, face: RGB, need_twelve: bool, plain: bool,
                  k: float):
    """Markers, numerals, the 12 o'clock cue and distractor text on the face; ``k``: canvas pixels per dial radius."""
    u = functools.partial(_u, rng)
    hours = np.arange(12)
    r_out = u(0.9, 0.97)
    kind = "bars" if plain else _pick(rng, MARKER_KINDS, MARKER_WEIGHTS, name="markers")
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
    elif kind == "wedges":  # drawn once the 12 o'clock cue is chosen
        wedge_w, wedge_len = u(0.025, 0.07), u(0.12, 0.26)
        inner = r_out - wedge_len
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
    if numerals and len(numerals) == 12 and u() < 0.3:
        numerals = numerals[1:]  # a marker (or a logo's place) at 12 instead of the numeral
        need_twelve = True
    twelve_is_numeral = bool(numerals) and 0 in numerals
    twelve = "same"
    if not twelve_is_numeral and (need_twelve or u() < 0.5):
        cues = ["triangle", "double", "dot", "wide", "star", "diamond", "ring", "square", "outward"]
        if kind == "wedges":  # no inward triangle among wedges
            cues.remove("triangle")
        twelve = _pick(rng, cues)
    if kind == "sparse" and twelve == "same":
        twelve = "wide"
    if kind == "wedges":
        drawn = 30.0 * (hours if twelve == "same" else hours[1:])
        paint.polygons(_radial(drawn, [r_out, r_out, r_out - wedge_len], [-wedge_w, wedge_w, 0.0]), ink)
    grow = u(0.8, 1.6)  # the triangles' size
    if twelve == "triangle":
        paint.polygons(_radial(0.0, [r_out, r_out, r_out - 0.17 * grow], [-0.07 * grow, 0.07 * grow, 0.0]),
                       accent if u() < 0.3 else ink)
    elif twelve == "double":
        for s in (-1, 1):
            paint.radial_bars(0.0, r_out - max(tick_len, 0.1), r_out, tick_w, ink, s * tick_w * 1.2)
    elif twelve == "dot":
        paint.dots(_radial(0.0, r_out - 0.08, 0.0), 0.06, accent if abs(_lum(accent) - _lum(face)) > 80 else ink)
    elif twelve == "wide":
        paint.radial_bars(0.0, r_out - max(tick_len * 1.2, 0.12), r_out, max(tick_w * 2.5, 0.09), ink)
    elif twelve in ("star", "diamond", "ring", "square", "outward"):  # shapes no other hour has
        colour = accent if abs(_lum(accent) - _lum(face)) > 80 and u() < 0.5 else ink
        size = u(0.055, 0.12)
        centre = np.array([0.0, r_out - max(0.09, 1.3 * size)])
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
            paint.polygons(_radial(0.0, [r_out - 0.17 * grow, r_out - 0.17 * grow, r_out], [-0.07 * grow, 0.07 * grow,
                                                                                            0.0]), colour)
    if twelve != "same":
        inner = min(inner, r_out - 0.17 * (grow if twelve in ("triangle", "outward") else 1.0))
    if numerals:
        font = _FONT_FILES[int(rng.integers(len(_FONT_FILES)))]
        roman = kind == "roman"
        size = u(0.13, 0.19) if roman else u(*ARABIC_SIZE)
        px = max(6, 2 * round(size * k / 2))
        radial = u() < (0.6 if roman else 0.25)  # numerals' tops point outwards
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
