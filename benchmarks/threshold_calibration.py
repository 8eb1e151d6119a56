"""How many clock-free scenes the photo reader's detection threshold needs to say "no clock" at the rate it promises.

    python benchmarks/threshold_calibration.py --model_dir outputs/clock-reader --output_dir reports/task2/calibration

Training sets ``detection_threshold`` to the 95th percentile of the detector's confidence on the validation scenes
without a clock (``tinyvision.tasks.clock_photo.calibrated_threshold``). This reads ``--num_pool`` fresh clock-free
scenes and ``--num_fresh`` more (other seeds), then, ``--draws`` times for each size in ``--sizes``, calibrates a
threshold on that many scenes drawn from the pool and measures the share of the fresh scenes it flags as holding a
clock. Prints, per size, the threshold's mean and spread and the false-alarm rate's mean, 5th and 95th percentiles;
also the rate at the model's saved threshold. Writes ``results.json`` and ``calibration.png`` (the false-alarm rate's
mean and 5-95 % band against the number of scenes calibrated on) to ``--output_dir``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def clock_free_confidences(model, processor, n: int, *, seed: int, backgrounds, batch_size: int, num_proc: int):
    """The detector's confidence on ``n`` scenes without a clock (scene generator seed ``seed``)."""
    import torch

    from tinyvision.data.clock_data import generate_scene_split

    scenes = generate_scene_split(n, image_size=model.config.image_size, seed=seed, num_proc=num_proc,
                                  backgrounds=backgrounds, empty_fraction=1.0)
    pixels = scenes.columns["pixel_values"]
    with torch.no_grad():
        return torch.cat([model(pixel_values=processor.normalize_uint8(pixels[i:i + batch_size])).confidence
                          for i in range(0, n, batch_size)])


def calibration_spread(pool, fresh, sizes, draws: int, seed: int) -> list[dict]:
    """For each size: thresholds calibrated on ``draws`` random subsets of ``pool`` and the false-alarm rates they
    give on ``fresh`` (both tensors of confidences)."""
    import torch

    from tinyvision.tasks.clock_photo import calibrated_threshold

    rng = np.random.default_rng(seed)
    rows = []
    for size in sizes:
        if not 1 <= size <= len(pool):
            raise ValueError(f"--sizes must lie in 1..{len(pool)} (--num_pool), got {size}")
        thresholds, rates = [], []
        for _ in range(draws):
            subset = pool[torch.as_tensor(rng.choice(len(pool), size, replace=False))]
            threshold = calibrated_threshold(subset)
            thresholds.append(threshold)
            rates.append((fresh >= threshold).float().mean().item())
        rows.append({"size": size, "threshold_mean": float(np.mean(thresholds)),
                     "threshold_std": float(np.std(thresholds)), "false_alarm_mean": float(np.mean(rates)),
                     "false_alarm_p05": float(np.quantile(rates, 0.05)),
                     "false_alarm_p95": float(np.quantile(rates, 0.95)), "false_alarm_max": float(np.max(rates))})
    return rows


def save_calibration_plot(path, rows: list[dict], target: float) -> None:
    """False-alarm rate against the number of clock-free scenes calibrated on: mean, 5-95 % band, the target."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sizes = [row["size"] for row in rows]
    fig = Figure(figsize=(5.5, 3.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.fill_between(sizes, [100 * r["false_alarm_p05"] for r in rows], [100 * r["false_alarm_p95"] for r in rows],
                    alpha=0.25, label="5-95 % of draws")
    ax.plot(sizes, [100 * r["false_alarm_mean"] for r in rows], "o-", label="mean")
    ax.axhline(100 * target, color="gray", linestyle="--", label=f"target {100 * target:g} %")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(size) for size in sizes])
    ax.set_xlabel("clock-free scenes the threshold is calibrated on")
    ax.set_ylabel("false alarms on fresh scenes (%)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", default="outputs/clock-reader", help="A saved photo reader folder.")
    parser.add_argument("--backgrounds", default="auto", help="As train_clock.py's --backgrounds.")
    parser.add_argument("--num_pool", type=int, default=1500, help="Clock-free scenes to draw calibration sets from.")
    parser.add_argument("--num_fresh", type=int, default=1000, help="Clock-free scenes to measure false alarms on.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[48, 200, 500, 1000])
    parser.add_argument("--draws", type=int, default=200, help="Calibration sets drawn per size.")
    parser.add_argument("--seed", type=int, default=0, help="Seeds the scenes (seed + 777, seed + 888) and draws.")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--num_proc", type=int, default=None, help="Processes rendering scenes (default: all cores).")
    parser.add_argument("--num_threads", type=int, default=1, help="torch CPU threads.")
    parser.add_argument("--output_dir", default="reports/task2/calibration")
    args = parser.parse_args(argv)

    from clock_photos import load_photo_reader

    from tinyvision.data.clock_data import background_pool

    model, processor = load_photo_reader(args)
    backgrounds = background_pool(args.backgrounds)
    started = time.perf_counter()
    read = dict(backgrounds=backgrounds, batch_size=args.batch_size, num_proc=args.num_proc)
    pool = clock_free_confidences(model, processor, args.num_pool, seed=args.seed + 777, **read)
    fresh = clock_free_confidences(model, processor, args.num_fresh, seed=args.seed + 888, **read)
    print(f"model {args.model_dir}: read {args.num_pool + args.num_fresh} clock-free scenes in "
          f"{time.perf_counter() - started:.0f} s")
    rows = calibration_spread(pool, fresh, args.sizes, args.draws, args.seed)
    for row in rows:
        print(f"calibrated on {row['size']:5d}: threshold {row['threshold_mean']:.3f} ± {row['threshold_std']:.3f}; "
              f"false alarms on {args.num_fresh} fresh scenes {row['false_alarm_mean']:.3f} "
              f"(5-95 %: {row['false_alarm_p05']:.3f}-{row['false_alarm_p95']:.3f})")
    saved = model.config.detection_threshold
    saved_rate = (fresh >= saved).float().mean().item()
    print(f"saved threshold {saved}: false alarms {saved_rate:.3f}")
    results = {"command": "python benchmarks/threshold_calibration.py " + " ".join(
                   f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in vars(args).items()
                   if v is not None),
               "rows": rows, "saved_threshold": saved, "saved_threshold_false_alarms": saved_rate}
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "results.json").write_text(json.dumps(results, indent=2))
    from tinyvision.tasks.clock_photo import FALSE_ALARM_RATE

    save_calibration_plot(output_dir / "calibration.png", rows, FALSE_ALARM_RATE)
    return results


if __name__ == "__main__":
    main()
