"""Build folders of test photos of clocks, named '... H.MM.jpg', for ``benchmarks/clock_photos.py``.

    python benchmarks/make_clock_photos.py --kind independent --num_photos 300 --output_dir /tmp/photos-independent \
        --backgrounds ../shared/data/cifar10 ../shared/data/cats_64x64
    python benchmarks/make_clock_photos.py --kind frames --num_photos 200 --output_dir /tmp/photos-frames

Kinds (each photo 1280x720 unless ``--width``/``--height`` say otherwise, JPEG at quality 70-95):

* ``independent``: a clock from the independent matplotlib renderer of ``benchmarks/clock_transfer.py`` (dial
  styles, hands and 12 o'clock markers that tinyvision's generators never draw, the dial turned any way) printed
  as a square picture, warped by a random perspective (up to ~40 degrees of tilt) and placed at a random position
  over a clock-free scene, 1/4 to 1/2 of the frame's width;
* ``independent_upright``: the same, with the dial upright within a tilt (N(0, 6 deg), at most 15), as real
  clocks hang;
* ``frames``: a scene from tinyvision's own scene generator (``tinyvision.data.clock_scenes``, seeds
  ``[seed, 31337, i]``, which training never uses) with a clock of 300 px diameter at a random off-centre place:
  the issue's "1280x720 frame with a 300-px clock" check;
* ``empty``: clock-free scenes from the same generator (seeds ``[seed, 5151, i]``), named ``... noclock.jpg``:
  how often the reader says it found a clock where there is none.

Besides the photos, ``boxes.json`` gives each file's true dial box ``[xmin, ymin, xmax, ymax]`` (the dial's edge;
for ``independent``: the warped picture's square, which holds the dial) so that ``clock_photos.py --boxes``
can score where the reader found the clock.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _name(kind: str, index: int, hour: int, minute: int) -> str:
    return f"{kind}_{index:04d} {hour % 12 or 12}.{minute:02d}.jpg"


def _tilt_homography(rng: np.random.Generator, side: int, target: float, centre) -> np.ndarray:
    """Square picture pixels → frame pixels: tilt about a random axis (up to ~40 deg), scale to ``target``, place."""
    tilt = math.radians(rng.uniform(0, 40))
    axis = rng.uniform(0, 2 * math.pi)
    c, s = math.cos(axis), math.sin(axis)
    rotate = np.array([[c, -s], [s, c]])
    squash = rotate @ np.diag([1.0, math.cos(tilt)]) @ rotate.T
    focal = rng.uniform(2.5, 8.0)  # in picture half-sides
    half = side / 2
    to_unit = np.array([[1 / half, 0, -1], [0, 1 / half, -1], [0, 0, 1]])
    linear = np.eye(3)
    linear[:2, :2] = squash
    perspective = np.eye(3)
    perspective[2, :2] = math.sin(tilt) / focal * np.array([c, s]) * rng.choice([-1, 1])
    scale = np.diag([target / 2, target / 2, 1.0])
    place = np.array([[1, 0, centre[0]], [0, 1, centre[1]], [0, 0, 1.0]])
    return place @ scale @ perspective @ linear @ to_unit


def _warp_onto(frame: Image.Image, picture: Image.Image, homography: np.ndarray) -> list[float]:
    """Paste ``picture`` into ``frame`` through ``homography`` (picture px → frame px); returns its box."""
    side = picture.width
    corners = np.array([[0, 0, 1], [side, 0, 1], [side, side, 1], [0, side, 1]], dtype=np.float64) @ homography.T
    corners = corners[:, :2] / corners[:, 2:]
    back = np.linalg.inv(homography)
    back = back / back[2, 2]
    rgba = picture.convert("RGBA")
    warped = rgba.transform(frame.size, Image.PERSPECTIVE, tuple(back.ravel()[:8].tolist()), resample=Image.BILINEAR)
    frame.paste(warped, (0, 0), warped.getchannel("A"))
    return [float(corners[:, 0].min()), float(corners[:, 1].min()), float(corners[:, 0].max()),
            float(corners[:, 1].max())]


def make_independent(index: int, seed: int, width: int, height: int, pool, *, upright: bool = False
                     ) -> tuple[Image.Image, int, int, list]:
    from clock_transfer import render_independent_clock

    from tinyvision.data.clock_scenes import render_clock_scene

    rng = np.random.default_rng([seed, 4243 if upright else 4242, index])
    hour, minute = divmod(int(rng.integers(720)), 60)
    frame, _ = render_clock_scene(0, 0, width=width, height=height, rng=rng, has_clock=False, backgrounds=pool)
    target = rng.uniform(0.25, 0.5) * width
    rotation = float(np.clip(rng.normal(0.0, 6.0), -15.0, 15.0)) if upright else None
    picture = render_independent_clock(hour, minute, rng, size=int(round(target * 1.2)), mode="RGB",
                                       rotation=rotation)
    margin = target * 0.6
    centre = (rng.uniform(margin, width - margin), rng.uniform(margin, height - margin) if height > 2 * margin
              else height / 2)
    box = _warp_onto(frame, picture, _tilt_homography(rng, picture.width, target, centre))
    return frame, hour, minute, box


def make_frame(index: int, seed: int, width: int, height: int, pool) -> tuple[Image.Image, int, int, list]:
    from tinyvision.data.clock_scenes import render_clock_scene

    rng = np.random.default_rng([seed, 31337, index])
    hour, minute = divmod(int(rng.integers(720)), 60)
    radius = 150.0 * width / 1280  # a 300-px clock in a 1280-px-wide frame
    centre = (rng.uniform(radius, width - radius), rng.uniform(radius, height - radius))
    while abs(centre[0] - width / 2) < 0.8 * radius and abs(centre[1] - height / 2) < 0.8 * radius:  # off-centre
        centre = (rng.uniform(radius, width - radius), rng.uniform(radius, height - radius))
    image, labels = render_clock_scene(hour, minute, width=width, height=height, rng=rng, backgrounds=pool,
                                       dial_radius=radius, center=centre)
    homography = labels["homography"]
    t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    rim = np.stack([np.sin(t), np.cos(t), np.ones_like(t)], 1) @ homography.T
    rim = rim[:, :2] / rim[:, 2:]
    box = [float(rim[:, 0].min()), float(rim[:, 1].min()), float(rim[:, 0].max()), float(rim[:, 1].max())]
    return image, hour, minute, box


def make_independent_upright(index: int, seed: int, width: int, height: int, pool):
    return make_independent(index, seed, width, height, pool, upright=True)


def make_empty(index: int, seed: int, width: int, height: int, pool):
    """A clock-free scene (walls, clutter, round distractors such as plates and rings): no time, no box."""
    from tinyvision.data.clock_scenes import render_clock_scene

    rng = np.random.default_rng([seed, 5151, index])
    image, _ = render_clock_scene(0, 0, width=width, height=height, rng=rng, has_clock=False, backgrounds=pool)
    return image, None, None, None


KINDS = {"independent": make_independent, "independent_upright": make_independent_upright, "frames": make_frame,
         "empty": make_empty}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=sorted(KINDS), required=True)
    parser.add_argument("--num_photos", type=int, default=200)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--backgrounds", nargs="*", default=[],
                        help="Dataset folders whose images become backgrounds (procedural textures otherwise).")
    args = parser.parse_args(argv)

    from tinyvision.data.clock_scenes import load_background_pool

    pool = load_background_pool(args.backgrounds, max_images=2000, seed=args.seed + 99) if args.backgrounds else None
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    boxes_file = output / "boxes.json"
    boxes = json.loads(boxes_file.read_text()) if boxes_file.exists() else {}  # kinds can share a folder
    for index in range(args.num_photos):
        image, hour, minute, box = KINDS[args.kind](index, args.seed, args.width, args.height, pool)
        name = f"{args.kind}_{index:04d} noclock.jpg" if hour is None else _name(args.kind, index, hour, minute)
        quality = int(np.random.default_rng([args.seed, 77, index]).integers(70, 96))
        image.convert("RGB").save(output / name, quality=quality)
        if box is not None:
            boxes[name] = box
    boxes_file.write_text(json.dumps(boxes, indent=1))
    print(f"wrote {args.num_photos} {args.kind} photos and boxes.json to {output}")


if __name__ == "__main__":
    main()
