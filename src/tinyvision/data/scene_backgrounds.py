"""Scene backgrounds and clutter: crops or mosaics of photos from a background pool, procedural walls (gradients,
wood, smooth noise), room structure (tiles, shelves, bokeh) and distractors (rectangles, picture frames, lines,
text, and round objects that are not clocks: plates, rings, discs, mirrors).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .clock_style import _pick
from .scene_painting import (
    _FONT_FILES,
    _WORDS,
    _font,
    _ink,
    _jitter,
    _random_color,
    _shade,
    _smooth_field,
    _to_mode,
    _u,
)


def _pool_background(rng: np.random.Generator, pool: np.ndarray, width: int, height: int, mode: str) -> Image.Image:
    """A crop of one pool photo, or a 2x2 / 3x3 mosaic of crops, colour-shifted, sometimes out of focus."""
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
    """A wall without photos: a gradient, wood grain, smooth (sometimes blotchy) noise or a flat colour."""
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
    """``count`` distractors drawn on ``image``; ``force_round``: the first is a round object that is not a clock."""
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
