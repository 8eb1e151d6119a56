"""How fast the clock-scene generator renders, and a contact sheet to look at the scenes.

    python benchmarks/bench_clock_scenes.py --n 400 --size 256
    python benchmarks/bench_clock_scenes.py --n 200 --backgrounds ../shared/data/cifar10 ../shared/data/cats_64x64 \
        --mode RGB --grid scenes.png

Prints scenes/s of ``make_scene_arrays`` with ``num_proc=1`` and with every core, and their ratio
(nothing is asserted about time; other jobs on the cores skew the figures). ``--grid`` writes a
6x6 contact sheet of the first 36 scenes, each with its label drawn in a corner and the projected
dial centre and 12 o'clock direction marked when ``--mark`` is given.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from PIL import Image, ImageDraw

from tinyvision.data.clock_scenes import load_background_pool, make_scene_arrays
from tinyvision.data.clocks import _project, _radial


def contact_sheet(images: np.ndarray, labels: dict, *, columns: int = 6, mark: bool = False) -> Image.Image:
    count = min(len(images), columns * columns)
    size = images.shape[1]
    rows = max(1, -(-count // columns))
    sheet = Image.new("RGB", (columns * size, rows * size), (40, 40, 40))
    for i in range(count):
        tile = Image.fromarray(images[i]).convert("RGB")
        draw = ImageDraw.Draw(tile)
        if labels["has_clock"][i]:
            text = f"{labels['hour'][i]}:{labels['minute'][i]:02d}"
            if mark:
                h = labels["homography"][i].astype(np.float64)
                (cx, cy), (tx, ty), (mx, my) = _project(
                    h, np.array([[0.0, 0.0], _radial(0.0, 1.0, 0.0), _radial(6.0 * labels["minute"][i], 0.6, 0.0)]))
                draw.line([cx, cy, tx, ty], fill=(0, 255, 0), width=1)
                draw.line([cx, cy, mx, my], fill=(255, 0, 255), width=1)
        else:
            text = "empty"
        draw.text((3, 3), text, fill=(255, 255, 0))
        sheet.paste(tile, ((i % columns) * size, (i // columns) * size))
    return sheet


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400, help="Scenes per measurement.")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--mode", default="L", choices=["L", "RGB"])
    parser.add_argument("--orientation", default="world")
    parser.add_argument("--p_empty", type=float, default=0.0)
    parser.add_argument("--backgrounds", nargs="*", default=[], help="Local dataset folders for the photo pool.")
    parser.add_argument("--max_backgrounds", type=int, default=5000)
    parser.add_argument("--num_proc", type=int, default=None, help="Processes for the parallel run (default: all).")
    parser.add_argument("--grid", default=None, help="Write a 6x6 contact sheet PNG here.")
    parser.add_argument("--mark", action="store_true", help="Draw the labelled centre→12 (green) and minute (magenta).")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    pool = load_background_pool(args.backgrounds, max_images=args.max_backgrounds) if args.backgrounds else None
    print(f"background pool: {None if pool is None else pool.shape}")
    cores = args.num_proc or os.cpu_count() or 1
    common = dict(size=args.size, seed=args.seed, mode=args.mode, orientation=args.orientation, backgrounds=pool,
                  p_empty=args.p_empty)
    rates = {}
    for procs in (1, cores):
        start = time.perf_counter()
        images, labels = make_scene_arrays(args.n, num_proc=procs, **common)
        rates[procs] = args.n / (time.perf_counter() - start)
        print(f"num_proc={procs}: {rates[procs]:.1f} scenes/s ({args.n} scenes at {args.size}, mode {args.mode})")
        if cores == 1:
            break
    if cores > 1:
        print(f"speed-up with {cores} processes: {rates[cores] / rates[1]:.2f}x")
    if args.grid:
        contact_sheet(images, labels, mark=args.mark).save(args.grid)
        print(f"contact sheet: {args.grid}")


if __name__ == "__main__":
    main()
