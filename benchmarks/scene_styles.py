"""How well the photo reader reads its own generator's clocks, hand shape by hand shape, marker set by marker set and
case kind by case kind.

    python benchmarks/scene_styles.py --model_dir outputs/clock-reader --num_scenes 500

For each value of each style (``--hands``, ``--markers``, ``--cases``: the generator's ``HAND_SHAPES``,
``MARKER_KINDS`` and ``CASE_KINDS``, frameless clocks among the cases),
renders the same ``--num_scenes`` fresh scenes (same times, same seeds, of their own: never a training seed)
with that value forced and everything else drawn as usual (``tinyvision.data.clock_scenes.forced_styles``), reads
the scenes whose clock the generator drew itself (not the Task 2 renderer's clocks in some scenes) as inference
does, and prints the share within 5 and 1 minutes and the mean error per value: which styles the reader is
weakest on, measured on the project's own scenes, not on the benchmarks' independent clocks or photo sets.
Writes ``results.json`` and ``scene_styles.png`` to ``--output_dir``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

DPI = 120


def read_forced_scenes(model, processor, style: str, value: str, args, backgrounds) -> np.ndarray:
    """The common-sense errors of the ``args.num_scenes`` scenes drawn with ``style`` forced to ``value`` whose clock
    took the forced value (scene i: seed ``[args.seed, 4242, i]``, the same for every value)."""
    import torch

    from tinyvision.data.clock_scenes import forced_styles, render_clock_scene
    from tinyvision.metrics import common_sense_error

    times = np.random.default_rng([args.seed, 4241]).integers(720, size=args.num_scenes)
    images, hours, minutes = [], [], []
    with forced_styles(**{style: value}) as used:
        for i, t in enumerate(times):
            before = used()[style]
            image, _ = render_clock_scene(int(t // 60), int(t % 60), width=args.size, height=args.size,
                                          seed=[args.seed, 4242, i], orientation=args.orientation,
                                          backgrounds=backgrounds)
            if used()[style] > before:
                images.append(image)
                hours.append(int(t // 60))
                minutes.append(int(t % 60))
    errors = []
    with torch.no_grad():
        for start in range(0, len(images), args.batch_size):
            pixels = processor(images[start:start + args.batch_size], return_tensors="pt")["pixel_values"]
            out = model(pixel_values=pixels)
            errors.append(common_sense_error(out.hour, out.minute, torch.tensor(hours[start:start + args.batch_size]),
                                             torch.tensor(minutes[start:start + args.batch_size])).float().numpy())
    return np.concatenate(errors) if errors else np.zeros(0)


def save_plot(path, rows: list[dict]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    styles = list(dict.fromkeys(row["style"] for row in rows))
    fig = Figure(figsize=(4.2 * len(styles), 3.2))
    FigureCanvasAgg(fig)
    for k, style in enumerate(styles):
        ax = fig.add_subplot(1, len(styles), k + 1)
        chosen = [row for row in rows if row["style"] == style]
        ax.bar(range(len(chosen)), [100 * row["within_5_min"] for row in chosen], color="tab:blue")
        ax.set_xticks(range(len(chosen)), [row["value"] for row in chosen], rotation=40, ha="right", fontsize=8)
        ax.set_ylim(min(100 * row["within_5_min"] for row in chosen) - 5, 100)
        ax.set_ylabel("read within 5 min (%)")
        ax.set_title(f"own scenes by {style}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)


def main(argv=None) -> dict:
    from tinyvision.data.clock_scenes import STYLE_CHOICES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", default="outputs/clock-reader", help="A saved photo reader.")
    parser.add_argument("--num_scenes", type=int, default=500, help="Scenes rendered per style value.")
    parser.add_argument("--hands", nargs="*", default=list(STYLE_CHOICES["hands"]), choices=STYLE_CHOICES["hands"],
                        metavar="SHAPE", help="Hand shapes to read (none: skip); default: all.")
    parser.add_argument("--markers", nargs="*", default=list(STYLE_CHOICES["markers"]),
                        choices=STYLE_CHOICES["markers"], metavar="KIND",
                        help="Marker sets to read (none: skip); default: all.")
    parser.add_argument("--cases", nargs="*", default=list(STYLE_CHOICES["case"]), choices=STYLE_CHOICES["case"],
                        metavar="KIND", help="Case kinds to read ('frameless': marks and hands alone on the wall; "
                        "none: skip); default: all.")
    parser.add_argument("--orientation", default="world", help="As train_clock.py's --orientation.")
    parser.add_argument("--backgrounds", default="auto", help="As train_clock.py's --backgrounds.")
    parser.add_argument("--size", type=int, default=256, help="Side of the square scenes in pixels.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--num_threads", type=int, default=1, help="torch CPU threads.")
    parser.add_argument("--output_dir", default="reports/task2/scene_styles")
    args = parser.parse_args(argv)

    from clock_photos import load_photo_reader, write_results

    from tinyvision.data.clock_data import background_pool

    model, processor = load_photo_reader(args)
    backgrounds = background_pool(args.backgrounds)
    print(f"model {args.model_dir}; {args.num_scenes} fresh {args.orientation} scenes per value, seed {args.seed}")
    rows = []
    for style, values in (("hands", args.hands), ("markers", args.markers), ("case", args.cases)):
        for value in values:
            errors = read_forced_scenes(model, processor, style, value, args, backgrounds)
            rows.append({"style": style, "value": value, "num_clocks": int(errors.size),
                         "cse_mean": float(errors.mean()) if errors.size else float("nan"),
                         "within_5_min": float(np.mean(errors <= 5)) if errors.size else float("nan"),
                         "within_1_min": float(np.mean(errors <= 1)) if errors.size else float("nan")})
            row = rows[-1]
            print(f"  {style:8s} {value:14s} clocks {row['num_clocks']:4d}  within 5 min {row['within_5_min']:.3f}  "
                  f"within 1 min {row['within_1_min']:.3f}  mean {row['cse_mean']:6.2f}", flush=True)
    results = {"model_dir": args.model_dir, "num_scenes": args.num_scenes, "orientation": args.orientation,
               "seed": args.seed, "rows": rows}
    write_results(args.output_dir, results)
    if rows:
        save_plot(os.path.join(args.output_dir, "scene_styles.png"), rows)
    return results


if __name__ == "__main__":
    main()
