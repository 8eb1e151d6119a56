"""Draw what a photo clock reader saw on the photo: the dial it found, its box, the hands it read, 12 o'clock.

``draw_clock_reading(canvas, reading, original_size=None)`` takes a reading of the ``clock-reading`` pipeline
for a photo reader (``found``, ``box``, ``dial``, ``hands``; see ``tinyvision.models.pipeline_clock``) in the
pixels of the original photo and returns an RGB copy of ``canvas`` (the photo, or a resized copy of it whose
original size is ``original_size``) with the overlay: the dial's ellipse and box in green, the hour and minute
hands in red from the dial's centre (0.5 and 0.8 of the dial's radius in their direction), a blue dot at 12
o'clock. When the reader found no clock, the canvas comes back as it is. Used by the Space and by
``benchmarks/clock_photos.py``.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

GREEN, RED, BLUE = (40, 200, 70, 230), (230, 30, 30, 220), (30, 90, 230, 235)


def unit_vector(angle: float) -> tuple[float, float]:
    """Unit vector (x right, y down) of a direction in degrees clockwise from up."""
    radians = math.radians(angle)
    return math.sin(radians), -math.cos(radians)


def draw_clock_reading(canvas: Image.Image, reading: dict, original_size: tuple[int, int] | None = None
                       ) -> Image.Image:
    """``canvas`` with the reader's dial, box and hands drawn on it (see the module docstring)."""
    canvas = canvas.convert("RGB")
    if not reading.get("found", True):
        return canvas
    original_width, original_height = original_size or canvas.size
    fx, fy = canvas.width / original_width, canvas.height / original_height  # photo pixels → canvas

    def show(x: float, y: float) -> tuple[float, float]:
        return x * fx, y * fy

    (cx, cy), (a, b), angle = reading["dial"]["center"], reading["dial"]["axes"], math.radians(reading["dial"]["angle"])
    major, minor = (math.cos(angle), math.sin(angle)), (-math.sin(angle), math.cos(angle))

    def reach(direction: float) -> float:
        """The dial's radius (photo pixels) in an image direction (degrees clockwise from up)."""
        dx, dy = unit_vector(direction)
        along, across = dx * major[0] + dy * major[1], dx * minor[0] + dy * minor[1]
        return 1.0 / math.sqrt((along / max(a, 1e-6)) ** 2 + (across / max(b, 1e-6)) ** 2)

    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    radius = math.sqrt(a * b) * (fx + fy) / 2  # on the canvas
    width = max(2, round(min(radius / 18, 8)))
    rim = [show(cx + a * math.cos(t) * major[0] + b * math.sin(t) * minor[0],
                cy + a * math.cos(t) * major[1] + b * math.sin(t) * minor[1])
           for t in np.linspace(0, 2 * math.pi, 97)]
    draw.line(rim, fill=GREEN, width=width, joint="curve")
    box = reading["box"]
    draw.rectangle([show(box["xmin"], box["ymin"]), show(box["xmax"], box["ymax"])], outline=GREEN,
                   width=max(1, width // 2))
    centre = show(cx, cy)
    for key, length, thickness in (("hour", 0.5, round(width * 1.7)), ("minute", 0.8, width)):
        direction = reading["hands"][key]
        dx, dy = unit_vector(direction)
        distance = length * reach(direction)
        draw.line([centre, show(cx + dx * distance, cy + dy * distance)], fill=RED, width=thickness)
    twelve = reading["hands"]["twelve"]
    dx, dy = unit_vector(twelve)
    mx, my = show(cx + dx * 0.9 * reach(twelve), cy + dy * 0.9 * reach(twelve))
    dot = width * 1.6
    draw.ellipse([mx - dot, my - dot, mx + dot, my + dot], fill=BLUE)
    draw.ellipse([centre[0] - width, centre[1] - width, centre[0] + width, centre[1] + width], fill=RED)
    return Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")
