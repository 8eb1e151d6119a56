"""Draw what a photo clock reader saw on the photo: the dial it found, its box, the hands it read, 12 o'clock.

``draw_clock_reading(image, reading)`` takes a reading of the ``clock-reading`` pipeline for a photo reader
(``box``, ``dial``, ``hands``, ``found``; see ``tinyvision.models.pipeline_clock``) in the image's own pixels
and returns an RGB copy with the overlay: the dial's ellipse and box in green, the hour and minute hands in red
from the dial's centre (0.5 and 0.8 of its radius, along the read directions), a blue dot at 12 o'clock. When
the reader found no clock, only a dashed grey box where it looked is drawn. Used by the Space and by
``benchmarks/clock_photos.py``.
"""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

GREEN, RED, BLUE, GREY = (40, 220, 60), (235, 40, 40), (40, 110, 240), (160, 160, 160)


def _ellipse_points(center, axes, angle_degrees: float, n: int = 72) -> list[tuple[float, float]]:
    cx, cy = center
    a, b = axes
    c, s = math.cos(math.radians(angle_degrees)), math.sin(math.radians(angle_degrees))
    points = []
    for k in range(n):
        t = 2 * math.pi * k / n
        x, y = a * math.cos(t), b * math.sin(t)
        points.append((cx + c * x - s * y, cy + s * x + c * y))
    return points


def _ray(center, direction_degrees: float, length: float) -> tuple[float, float]:
    radians = math.radians(direction_degrees)
    return center[0] + length * math.sin(radians), center[1] - length * math.cos(radians)


def draw_clock_reading(image: Image.Image, reading: dict, *, max_side: int | None = None) -> Image.Image:
    """``image`` with the reader's dial, box and hands drawn on it (see the module docstring).

    ``max_side`` shrinks (never enlarges) the result so that its longer side is at most that many pixels.
    """
    canvas = image.convert("RGB")
    scale = 1.0
    if max_side is not None and max(canvas.size) > max_side:
        scale = max_side / max(canvas.size)
        canvas = canvas.resize((max(1, round(canvas.width * scale)), max(1, round(canvas.height * scale))),
                               Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(max(canvas.size) / 250))
    box = [reading["box"][key] * scale for key in ("xmin", "ymin", "xmax", "ymax")]
    if not reading.get("found", True):
        for k in range(0, 4):
            x0, y0, x1, y1 = box
            edges = [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))]
            (sx, sy), (ex, ey) = edges[k]
            for t in range(0, 10, 2):  # dashes
                draw.line([(sx + (ex - sx) * t / 10, sy + (ey - sy) * t / 10),
                           (sx + (ex - sx) * (t + 1) / 10, sy + (ey - sy) * (t + 1) / 10)], fill=GREY, width=line)
        return canvas
    dial = reading["dial"]
    center = (dial["center"][0] * scale, dial["center"][1] * scale)
    axes = (dial["axes"][0] * scale, dial["axes"][1] * scale)
    draw.rectangle(box, outline=GREEN, width=max(1, line // 2))
    draw.polygon(_ellipse_points(center, axes, dial["angle"]), outline=GREEN, width=line)
    radius = math.sqrt(axes[0] * axes[1])
    hands = reading["hands"]
    draw.line([center, _ray(center, hands["hour"], 0.5 * radius)], fill=RED, width=round(line * 2.2))
    draw.line([center, _ray(center, hands["minute"], 0.8 * radius)], fill=RED, width=line + 1)
    mx, my = _ray(center, hands["twelve"], 0.9 * radius)
    dot = line * 2.2
    draw.ellipse([mx - dot, my - dot, mx + dot, my + dot], fill=BLUE)
    draw.ellipse([center[0] - line * 1.5, center[1] - line * 1.5, center[0] + line * 1.5, center[1] + line * 1.5],
                 fill=RED)
    return canvas
