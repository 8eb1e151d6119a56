"""Read every clock photo in a folder and score the readings: how a user checks a clock reader on their own photos.

    python benchmarks/clock_photos.py --model_dir outputs/clock-reader --photos my_clock_photos/ \
        --output_dir reports/task2/photos

Each image's file name carries the time it shows as ``H.MM`` (or ``H:MM``) just before the extension, e.g.
``kitchen 10.09.jpg`` (10:09) or ``frame_0042 12.30.png`` (12:30 reads as 0:30 on a 12-hour dial). A name
ending in ``noclock`` (``street noclock.jpg``) marks a photo without a clock: for a photo reader the share of
those it says hold one is the false-alarm rate. Other files are skipped (and listed). Every image goes through
``pipeline("clock-reading", model=model_dir)`` as a user would call it.

Prints the number of photos, the median and mean common-sense error (minutes, the short way round the dial),
the share read within 1 and within 5 minutes, the hour accuracy and, for a photo reader (one that finds the
dial), how often it said it found a clock. Where the folder has a ``boxes.json`` (file name → true dial box
``[xmin, ymin, xmax, ymax]``, as ``benchmarks/make_clock_photos.py`` writes it), also the boxes' median
intersection-over-union and the share found with IoU >= 0.5. The readings more than 5 minutes off are counted by
what went wrong (``tinyvision.metrics.miss_kind``: the hour hand read where the minute hand points, the hour hand
otherwise misread, the hands swapped, the whole dial read turned, other). Writes ``results.json`` (every reading) and ``worst.png`` (the
worst readings drawn with the dial, box and hands the reader found) to ``--output_dir``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
TIME_IN_NAME = re.compile(r"(\d{1,2})[.:](\d{2})\s*$")
NO_CLOCK_IN_NAME = re.compile(r"noclock\s*$", re.IGNORECASE)


def time_from_name(path: Path) -> tuple[int, int] | None:
    """(hour 0..11, minute) from a file name ending in ``H.MM`` / ``H:MM``; None when it carries no valid time."""
    match = TIME_IN_NAME.search(path.stem)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if not (0 <= hour <= 24 and 0 <= minute <= 59):
        return None
    return hour % 12, minute


def list_photos(folder: Path) -> tuple[list[tuple[Path, int, int]], list[Path], list[Path]]:
    """(photos with their time, photos without a clock, skipped files) under ``folder``."""
    photos, empty, skipped = [], [], []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        parsed = time_from_name(path)
        if parsed is not None:
            photos.append((path, *parsed))
        elif NO_CLOCK_IN_NAME.search(path.stem):
            empty.append(path)
        else:
            skipped.append(path)
    return photos, empty, skipped


def _load(paths) -> list:
    from PIL import Image

    images = []
    for path in paths:
        with Image.open(path) as image:
            image.load()
            images.append(image.copy())
    return images


def summarise(errors: np.ndarray, readings: list[dict], hours: np.ndarray) -> dict:
    from tinyvision.metrics import clock_error_summary

    summary = clock_error_summary(errors, np.array([r["hour"] for r in readings]), hours)
    summary["within_1_min"] = float((errors <= 1).mean())
    summary["within_5_min"] = float((errors <= 5).mean())
    if readings and "found" in readings[0]:
        summary["found_rate"] = float(np.mean([r["found"] for r in readings]))
    return summary


def box_iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def save_worst(path: Path, items: list[dict], cols: int = 4) -> None:
    """A grid of photos with the reader's overlay, titled with true and read time, error and confidence."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    from tinyvision.clock_overlay import draw_clock_reading

    rows = max(1, math.ceil(len(items) / cols))
    fig = Figure(figsize=(cols * 3.2, rows * 2.9), dpi=100)
    FigureCanvasAgg(fig)
    for k, item in enumerate(items):
        ax = fig.add_subplot(rows, cols, k + 1)
        image = Image.open(item["path"])
        reading = item["reading"]
        shown = image.convert("RGB")
        shown.thumbnail((480, 480))
        if "box" in reading:
            shown = draw_clock_reading(shown, reading, original_size=image.size)
        ax.imshow(shown)
        confidence = f" · conf {reading['confidence']:.2f}" if "confidence" in reading else ""
        ax.set_title(f"{Path(item['path']).name[:36]}\ntrue {item['true']} · read {_clock(reading)} · "
                     f"{item['error']} min{confidence}", fontsize=7)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path)


def _clock(reading: dict) -> str:
    return f"{reading['hour'] % 12 or 12}:{reading['minute']:02d}"


def command_line(script: str, args: argparse.Namespace) -> str:
    """The command that repeats a run: every argument that has a value, lists as space-separated values."""
    parts = [f"python {script}"]
    for name, value in vars(args).items():
        if value is None or value is False:
            continue
        parts.append(f"--{name}" if value is True else f"--{name} " + (
            " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)))
    return " ".join(parts)


def add_reading_arguments(parser: argparse.ArgumentParser) -> None:
    """The photo reader's reading options a run may override: ``--test_time_turns``, ``--test_time_turn_weight``,
    ``--any_turn``, ``--hour_lattice_window``, ``--hand_fit_weight`` and ``--hour_overlap_discount``."""
    parser.add_argument("--test_time_turns", type=int, nargs="+", default=None, metavar="DEGREES",
                        help="The photo reader's test_time_turns for this run (e.g. 0 90 180 270 for clocks turned any "
                             "way); default: as the model was saved.")
    parser.add_argument("--test_time_turn_weight", type=float, default=None, metavar="W",
                        help="The photo reader's test_time_turn_weight for this run: how much each turned read weighs "
                             "against the upright one (1: equally); default: as the model was saved.")
    parser.add_argument("--any_turn", action="store_true",
                        help="Read with the photo reader's any_turn: without its upright prior, for clocks turned any "
                             "way (needs a reader trained with up_dropout); default: as the model was saved.")
    parser.add_argument("--hour_lattice_window", type=float, default=None, metavar="DEGREES",
                        help="The reader's hour_lattice_window for this run (0: the hour from the mean of the hour "
                             "hand's votes; e.g. 6: from the heaviest place consistent with the minute); default: as "
                             "the model was saved.")
    parser.add_argument("--hand_fit_weight", type=float, default=None, metavar="W",
                        help="The reader's hand_fit_weight for this run: how much the hour hand's fit to the minute "
                             "counts in picking 12 o'clock (0: not at all); default: as the model was saved.")
    parser.add_argument("--hour_overlap_discount", type=float, default=None, metavar="SHARE",
                        help="The reader's hour_overlap_discount for this run: the share of the hour hand's votes that "
                             "counts at a place next to the minute hand (1: all); default: as the model was saved.")


def clock_reading_pipeline(args: argparse.Namespace):
    """``pipeline("clock-reading")`` on ``args.model_dir`` as a user would build it, with ``--test_time_turns``,
    ``--test_time_turn_weight``, ``--any_turn``, ``--hour_lattice_window``, ``--hand_fit_weight`` and
    ``--hour_overlap_discount`` (when given) overriding the saved config."""
    from transformers import pipeline

    import tinyvision  # noqa: F401  (registers the clock-reading pipeline)

    overrides = {} if args.test_time_turns is None else {"test_time_turns": args.test_time_turns}
    if getattr(args, "test_time_turn_weight", None) is not None:
        overrides["test_time_turn_weight"] = args.test_time_turn_weight
    if getattr(args, "any_turn", False):
        overrides["any_turn"] = True
    reader = pipeline("clock-reading", model=args.model_dir, device=-1, model_kwargs=overrides)
    options = {name: getattr(args, name, None)
               for name in ("hour_lattice_window", "hand_fit_weight", "hour_overlap_discount")}
    set_reader_options(reader.model, **{name: value for name, value in options.items() if value is not None})
    return reader


def load_photo_reader(args: argparse.Namespace):
    """The photo reader saved in ``args.model_dir`` (in eval mode) and its image processor, with torch on
    ``args.num_threads`` CPU threads: what the benchmarks that read fresh scenes start from."""
    import torch

    from tinyvision.models import ClockPhotoReader, TinyVisionImageProcessor

    torch.set_num_threads(args.num_threads)
    model = ClockPhotoReader.from_pretrained(args.model_dir).eval()
    return model, TinyVisionImageProcessor.from_pretrained(args.model_dir)


def fresh_scene_batches(model, args: argparse.Namespace, seed: int):
    """``args.num_scenes`` fresh scenes of the project's own generator for ``model`` (``args.orientation``,
    ``args.backgrounds``, ``args.num_proc``; seeded with ``seed``, which the callers keep apart from every
    training seed), as dicts of scene columns of ``args.batch_size``."""
    from tinyvision.data.clock_data import background_pool, generate_scene_split

    columns = generate_scene_split(args.num_scenes, image_size=model.config.image_size, seed=seed,
                                   num_proc=args.num_proc, orientation=args.orientation,
                                   backgrounds=background_pool(args.backgrounds)).columns
    return ({name: values[i:i + args.batch_size] for name, values in columns.items()}
            for i in range(0, args.num_scenes, args.batch_size))


def write_results(output_dir, results: dict) -> None:
    """``results`` as ``output_dir/results.json`` (the folder made if needed)."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "results.json").write_text(json.dumps(results, indent=2))


def set_reader_options(model, **options) -> None:
    """Read with these reading options of the reader's config (e.g. ``hour_lattice_window=6``) from now on (the
    photo reader's reading stage, or a Task 2 reader itself), validated as the config validates them; the saved
    config is left as it is. The reader's config is nested in the photo reader's, where ``from_pretrained``'s
    keyword overrides cannot reach it."""
    if not options:
        return
    stage = getattr(model, "reader", model)
    type(stage.config)(**{**stage.config.to_dict(), **options})  # raises on a bad value, naming the field
    for name, value in options.items():
        setattr(stage.config, name, value)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", default="outputs/clock-reader", help="A saved clock reader folder (or Hub id).")
    parser.add_argument("--photos", required=True, help="Folder of photos named '... H.MM.ext'.")
    parser.add_argument("--output_dir", default="reports/task2/photos")
    parser.add_argument("--worst", type=int, default=12, help="How many of the worst readings to draw.")
    parser.add_argument("--batch_size", type=int, default=16)
    add_reading_arguments(parser)
    parser.add_argument("--num_threads", type=int, default=1, help="torch CPU threads.")
    args = parser.parse_args(argv)

    import torch

    from tinyvision.metrics import common_sense_error, count_misses, miss_kind

    torch.set_num_threads(args.num_threads)
    photos, empty, skipped = list_photos(Path(args.photos))
    if not photos:
        raise SystemExit(f"no photo in {args.photos} has a time in its name ('... H.MM.jpg'); skipped {len(skipped)}")
    reader = clock_reading_pipeline(args)
    started = time.perf_counter()
    readings = []
    for start in range(0, len(photos), args.batch_size):
        readings.extend(reader(_load(path for path, _, _ in photos[start:start + args.batch_size]),
                               batch_size=args.batch_size))
    seconds = time.perf_counter() - started
    empty_readings = []
    for start in range(0, len(empty), args.batch_size):
        empty_readings.extend(reader(_load(empty[start:start + args.batch_size]), batch_size=args.batch_size))
    hours = np.array([hour for _, hour, _ in photos])
    minutes = np.array([minute for _, _, minute in photos])
    errors = np.asarray(common_sense_error(np.array([r["hour"] for r in readings]),
                                           np.array([r["minute"] for r in readings]), hours, minutes))
    summary = summarise(errors, readings, hours)
    read_hours, read_minutes = [r["hour"] for r in readings], [r["minute"] for r in readings]
    summary["misses"] = count_misses(read_hours, read_minutes, hours, minutes)
    summary["seconds_per_photo"] = seconds / len(photos)
    if empty_readings and "found" in empty_readings[0]:
        summary["photos_without_clock"] = len(empty_readings)
        summary["false_alarm_rate"] = float(np.mean([r["found"] for r in empty_readings]))
    boxes_file = Path(args.photos) / "boxes.json"
    if boxes_file.exists() and "box" in readings[0]:
        truth = json.loads(boxes_file.read_text())
        ious = [box_iou([r["box"][k] for k in ("xmin", "ymin", "xmax", "ymax")], truth[path.name])
                for (path, _, _), r in zip(photos, readings) if path.name in truth]
        if ious:
            summary["box_iou_median"] = float(np.median(ious))
            summary["box_iou_at_least_0.5"] = float(np.mean(np.array(ious) >= 0.5))

    print(f"model {args.model_dir}: {len(photos)} photos from {args.photos}"
          + (f" ({len(skipped)} without a time in the name skipped)" if skipped else ""))
    for key, label in (("cse_median", "median error (min)"), ("cse_mean", "mean error (min)"),
                       ("within_1_min", "read within 1 min"), ("within_5_min", "read within 5 min"),
                       ("hour_accuracy", "hour accuracy"), ("found_rate", "found a clock"),
                       ("box_iou_median", "box IoU (median)"), ("box_iou_at_least_0.5", "box IoU >= 0.5"),
                       ("false_alarm_rate", "false alarms (no clock)"),
                       ("seconds_per_photo", "seconds per photo")):
        if key in summary:
            print(f"  {label:22s}{summary[key]:10.3f}")
    print("  misses (> 5 min):      " + ", ".join(f"{kind} {n}" for kind, n in summary["misses"].items()))

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    items = [{"path": str(path), "true": f"{hour % 12 or 12}:{minute:02d}", "error": int(error),
              "miss": miss_kind(reading["hour"], reading["minute"], hour, minute), "reading": reading}
             for (path, hour, minute), error, reading in zip(photos, errors, readings)]
    worst = sorted(items, key=lambda item: -item["error"])[: args.worst]
    if worst:
        save_worst(output_dir / "worst.png", worst)
    results = {"command": command_line("benchmarks/clock_photos.py", args),
               "summary": summary, "skipped": [str(path) for path in skipped], "readings": items,
               "without_clock": [{"path": str(path), "reading": reading} for path, reading in zip(empty, empty_readings)]}
    write_results(output_dir, results)
    print(f"wrote {output_dir / 'results.json'} and {output_dir / 'worst.png'}")
    return results


if __name__ == "__main__":
    main()
