"""Dial-coordinate geometry shared by the clock renderer and the scene generator.

Dial coordinates: u to the right on the face, v towards the dial's own 12 o'clock, the face's edge at
radius 1. A 3x3 homography maps them to image pixels (``_dial_matrix`` builds the seed renderer's from a
:class:`~tinyvision.data.clock_style.ClockStyle`); ``_project`` applies one, ``_image_angle`` turns a dial
direction into the labelled image direction, ``_radial`` places points along / across rays, ``_outline`` and
``_hand_outline`` give dial and hand polygons.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .clock_style import ClockStyle


def _dial_matrix(style: ClockStyle, size: int) -> np.ndarray:
    """Homography from dial coordinates (radius 1, +v towards 12) to output pixel coordinates."""
    half = size / 2
    radius = style.dial_radius * half
    cx = half + style.center_offset[0] * half
    cy = half + style.center_offset[1] * half
    th = math.radians(style.rotation)
    c, s = math.cos(th), math.sin(th)
    rotate_scale = np.array([[radius * c, radius * s, 0], [radius * s, -radius * c, 0], [0, 0, 1]])
    p, q = style.perspective
    tilt = np.array([[1, 0, 0], [0, 1, 0], [p / radius, q / radius, 1]])
    aspect, axis = style.squash[0], math.radians(style.squash[1])
    ca, sa = math.cos(axis), math.sin(axis)
    axis_rot = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    squash = axis_rot @ np.diag([1.0, aspect, 1.0]) @ axis_rot.T
    translate = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
    return translate @ squash @ tilt @ rotate_scale


def _project(matrix: np.ndarray, uv: np.ndarray) -> np.ndarray:
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    xyw = uv @ matrix[:, :2].T + matrix[:, 2]
    return xyw[:, :2] / xyw[:, 2:]


def _image_angle(matrix: np.ndarray, dial_angle: float) -> float:
    """Absolute image direction (degrees clockwise from up) of a ray drawn at ``dial_angle`` on the dial."""
    a = math.radians(dial_angle)
    centre, point = _project(matrix, [[0.0, 0.0], [0.5 * math.sin(a), 0.5 * math.cos(a)]])
    dx, dy = point - centre
    return round(math.degrees(math.atan2(dx, -dy)), 6) % 360.0


def _radial(dial_angle, along, across) -> np.ndarray:
    """Points given along / across rays at ``dial_angle`` (scalar or [k]) on the dial: [..., 2] dial coordinates."""
    along, across = np.asarray(along, dtype=np.float64), np.asarray(across, dtype=np.float64)
    a = np.radians(dial_angle)
    a = np.reshape(a, np.shape(a) + (1,) * max(along.ndim, across.ndim))  # result shape: angles + points
    s, c = np.sin(a), np.cos(a)
    points = np.empty(np.broadcast_shapes(a.shape, along.shape, across.shape) + (2,))
    points[..., 0] = along * s + across * c
    points[..., 1] = along * c - across * s
    return points


def _outline(shape: str, scale: float, n: int = 96) -> np.ndarray:
    return scale * _unit_outline(shape, n)


@functools.lru_cache(maxsize=16)
def _unit_outline(shape: str, n: int) -> np.ndarray:
    if shape == "circle":
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        points = np.stack([np.sin(t), np.cos(t)], axis=-1)
    elif shape == "rounded_square":  # superellipse |u|^5 + |v|^5 = 1
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        s, c = np.sin(t), np.cos(t)
        points = np.stack([np.sign(s) * np.abs(s) ** 0.4, np.sign(c) * np.abs(c) ** 0.4], axis=-1)
    else:
        sides = {"octagon": 8, "hexagon": 6}[shape]
        t = np.pi / sides + np.arange(sides) * 2 * np.pi / sides  # a flat edge on top; inradius 1
        points = np.stack([np.sin(t), np.cos(t)], axis=-1) / math.cos(np.pi / sides)
    points.flags.writeable = False
    return points


def _hand_outline(shape: str, length: float, width: float, tail: float) -> tuple[list, list]:
    """(along, across) polygon of a hand pointing along +along."""
    w = width / 2
    if shape == "tapered":
        return [-tail, length * 0.96, length, length * 0.96, -tail], [-w, -w * 0.3, 0, w * 0.3, w]
    if shape == "arrow":
        head, shaft = min(0.16, 0.35 * length), w * 0.6
        along = [-tail, length - head, length - head, length, length - head, length - head, -tail]
        return along, [-shaft, -shaft, -w * 1.8, 0, w * 1.8, shaft, shaft]
    if shape == "leaf":
        return [-tail, length * 0.5, length, length * 0.5, -tail], [-w * 0.5, -w * 1.3, 0, w * 1.3, w * 0.5]
    return [-tail, length, length, -tail], [-w, -w, w, w]
