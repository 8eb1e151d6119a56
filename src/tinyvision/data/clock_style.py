"""The look of a seed-renderer clock: :class:`ClockStyle`, its random sampler and small sampling helpers.

A :class:`ClockStyle` fixes everything about an image of :mod:`tinyvision.data.clocks` except the time;
:func:`sample_style` draws one at random (the order of the random draws is part of the generator: changing it
changes every image, see ``tinyvision.data.clocks.GENERATOR_VERSION``) and :func:`clean_style` gives a plain
test dial. The helpers ``_lum``, ``_uniform`` and ``_pick`` are shared with the photo-like scene generator.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class ClockStyle:
    """Everything about a clock image except the time. Lengths are in dial radii."""

    dial_shape: str = "circle"  # circle | rounded_square | octagon | hexagon
    dial_radius: float = 0.85  # fraction of half the image side
    center_offset: tuple[float, float] = (0.0, 0.0)  # fraction of half the image side
    rotation: float = 0.0  # degrees, clockwise
    perspective: tuple[float, float] = (0.0, 0.0)  # projective tilt along x, y
    squash: tuple[float, float] = (1.0, 0.0)  # (aspect <= 1, axis angle in degrees)
    background: RGB = (235, 235, 235)
    background_gradient: tuple[float, float] = (0.0, 0.0)  # (gray levels, direction degrees)
    clutter: int = 0  # random shapes drawn behind the dial
    shadow: float = 0.0  # drop-shadow offset
    dial_color: RGB = (255, 255, 255)
    rim_color: RGB = (40, 40, 40)
    rim_width: float = 0.04
    inner_ring: bool = False
    face_lines: int = 0  # faint lines on the face
    ink_color: RGB = (0, 0, 0)
    accent_color: RGB = (0, 0, 0)
    markers: str = "ticks"  # ticks | dots | numerals | numerals_ticks | cardinal
    minute_ticks: bool = True
    marker_radius: float = 0.92  # outer end of the ticks
    tick_length: float = 0.12
    tick_width: float = 0.035
    numeral_size: float = 0.2
    twelve_marker: str = "triangle"  # triangle | double_tick | big_dot | bar | numeral
    hand_color: RGB = (0, 0, 0)
    hand_shape: str = "line"  # line | tapered | arrow | leaf
    hour_length: float = 0.5
    minute_length: float = 0.85
    hour_width: float = 0.07
    minute_width: float = 0.045
    hand_tail: float = 0.0
    cap_radius: float = 0.05
    second_hand: bool = False
    second_angle: float = 0.0  # on the dial, degrees clockwise from 12
    glare: float = 0.0  # gray levels added along a soft band
    blur: float = 0.0  # Gaussian radius in output pixels
    noise: float = 0.0  # Gaussian noise sigma in gray levels
    detail_seed: int = 0  # positions of clutter, face lines, glare and noise


def clean_style(rotation: float = 0.0) -> ClockStyle:
    """A plain dial: black line hands and ticks on white, no clutter, noise, blur or perspective."""
    return ClockStyle(rotation=float(rotation))


def _lum(rgb: RGB) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _uniform(rng: np.random.Generator, low: float = 0.0, high: float = 1.0) -> float:
    # scalar rng.random() is ~3x faster than rng.uniform(); style sampling makes ~60 draws per image
    return low + (high - low) * rng.random()


def _sample_color(rng: np.random.Generator, lo: float, hi: float, tint: float) -> RGB:
    gray = _uniform(rng, lo, hi)
    return tuple(int(min(255.0, max(0.0, gray + _uniform(rng, -tint, tint)))) for _ in range(3))


# Style draws a caller forces (``tinyvision.data.clock_scenes.forced_styles``): name → (value, times used).
_FORCED_STYLES: dict[str, list] = {}


def _pick(rng: np.random.Generator, options, weights=None, name: str | None = None) -> str:
    """One of ``options`` drawn with ``weights``; a draw whose ``name`` is in ``_FORCED_STYLES`` returns the forced
    value instead (after drawing, so that the rest of the style stays the same)."""
    # rng.choice(p=...) is ~20x slower than this for a handful of options
    cumulative = np.cumsum(weights if weights is not None else [1.0] * len(options))
    drawn = options[int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))]
    forced = _FORCED_STYLES.get(name) if name is not None else None
    if forced is None:
        return drawn
    forced[1] += 1
    return forced[0]


def check_max_rotation(max_rotation: float) -> float:
    if not 0.0 <= max_rotation <= 180.0:
        raise ValueError(f"max_rotation must be in [0, 180] degrees (180: any orientation, 0: upright), "
                         f"got {max_rotation}")
    return float(max_rotation)


def sample_style(rng: np.random.Generator, *, max_rotation: float = 180.0) -> ClockStyle:
    """Draw a random style; every draw keeps the time readable.

    The dial is turned by a random angle within ``±max_rotation`` degrees (180, the default: any
    orientation; 0: upright). Either way one number is drawn, so the rest of the style is the same."""
    check_max_rotation(max_rotation)
    u = functools.partial(_uniform, rng)
    light_dial = u() < 0.75
    dial = _sample_color(rng, 190, 255, 25) if light_dial else _sample_color(rng, 10, 70, 25)
    ink = _sample_color(rng, 0, 60, 20) if light_dial else _sample_color(rng, 195, 255, 20)
    hand = ink if u() < 0.6 else (_sample_color(rng, 0, 50, 40) if light_dial else _sample_color(rng, 200, 255, 30))
    accent = _sample_color(rng, 0, 255, 128)
    if abs(_lum(accent) - _lum(dial)) < 90:  # the accent may colour the 12 marker: keep it visible
        accent = ink
    rim_width = u(0.0, 0.1) if u() < 0.8 else 0.0
    rim = _sample_color(rng, 0, 255, 30)
    radius = u(0.62, 0.9)
    max_offset = max(0.0, min(0.08, 0.98 - radius * (1 + rim_width)))
    tilted = u() < 0.5
    markers = _pick(rng, ["ticks", "dots", "numerals", "numerals_ticks", "cardinal"], [0.3, 0.15, 0.2, 0.2, 0.15])
    twelve_choices = ["triangle", "double_tick", "big_dot", "bar"]
    if markers in ("numerals", "numerals_ticks"):
        twelve_choices += ["numeral"] * 3
    minute_length = u(0.72, 0.92)
    minute_width = u(0.035, 0.07)
    return ClockStyle(
        dial_shape=_pick(rng, ["circle", "rounded_square", "octagon", "hexagon"], [0.55, 0.2, 0.15, 0.1]),
        dial_radius=radius,
        center_offset=(u(-max_offset, max_offset), u(-max_offset, max_offset)),
        rotation=u(0.0, 360.0) if max_rotation >= 180.0 else u(-max_rotation, max_rotation) % 360.0,
        perspective=(u(-0.12, 0.12), u(-0.12, 0.12)) if tilted else (0.0, 0.0),
        squash=(u(0.85, 1.0), u(0.0, 180.0)) if tilted else (1.0, 0.0),
        background=_sample_color(rng, 0, 255, 40),
        background_gradient=(u(0, 80) if u() < 0.6 else 0.0, u(0.0, 360.0)),
        clutter=int(u(0, 9)) if u() < 0.6 else 0,
        shadow=u(0.02, 0.08) if u() < 0.3 else 0.0,
        dial_color=dial,
        rim_color=rim,
        rim_width=rim_width,
        inner_ring=bool(u() < 0.3),
        face_lines=int(u(1, 6)) if u() < 0.25 else 0,
        ink_color=ink,
        accent_color=accent,
        markers=markers,
        minute_ticks=bool(u() < 0.5),
        marker_radius=u(0.86, 0.94),
        tick_length=u(0.07, 0.18),
        tick_width=u(0.02, 0.06),
        numeral_size=u(0.16, 0.26),
        twelve_marker=_pick(rng, twelve_choices),
        hand_color=hand,
        hand_shape=_pick(rng, ["line", "tapered", "arrow", "leaf"]),
        hour_length=min(u(0.42, 0.62), 0.72 * minute_length),
        minute_length=minute_length,
        hour_width=max(minute_width * u(1.1, 1.8), 0.05),
        minute_width=minute_width,
        hand_tail=u(0.0, 0.2) if u() < 0.5 else 0.0,
        cap_radius=u(0.03, 0.08),
        second_hand=bool(u() < 0.3),
        second_angle=u(0.0, 360.0),
        glare=u(20, 70) if u() < 0.2 else 0.0,
        blur=u(0.3, 1.1) if u() < 0.4 else 0.0,
        noise=u(2, 14) if u() < 0.6 else 0.0,
        detail_seed=int(rng.integers(2**63)),
    )
