"""Time one training step of the photo reader (detector, rectifier and reader, forward, backward and AdamW) for
variants of its sizes, against the default in the same process.

    python benchmarks/bench_photo_reader_step.py --num_threads 2 \
        --variants "" "detector_size=96" "detector_size=96,reader.polar_rows=32,reader.polar_cols=256"

Each ``--variants`` entry is a comma-separated list of ``name=value`` (values read as JSON): a field of
``ClockPhotoReaderConfig`` (``detector_size``, ``rectifier_size``, ...) or, prefixed ``reader.``, of its reader
(``reader.polar_rows``, ``reader.image_size``, ...), over the default config; the empty string is the default
itself. The first entry is the baseline. Every variant steps
on the same batch of fresh scenes of the project's generator (procedural backgrounds); the variants take turns,
``--rounds`` times ``--steps`` steps each after a warm-up step, and the median round is printed per step with its
ratio to the baseline and the training time it implies for the default run's 6,250 steps (40,000 scenes × 5
epochs in batches of 32).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

DEFAULT_RUN_STEPS = 6250


def parse_variant(text: str) -> dict:
    """``"detector_size=96,polar_rows=32"`` → ``{"detector_size": 96, "polar_rows": 32}`` (values read as JSON)."""
    variant = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"a variant is 'name=value' pairs separated by commas, got {item!r} in {text!r}")
        variant[name.strip()] = json.loads(value)
    return variant


def variant_config(variant: dict):
    """The default photo reader config with ``variant``'s fields set: ``reader.NAME`` a field of its reader, any
    other name a field of the photo reader's config (validated by the configs, naming the field)."""
    from tinyvision.models import ClockPhotoReaderConfig
    from tinyvision.models.configuration_clock_photo import DEFAULT_READER

    from tinyvision.models import ClockReaderConfig

    given = {k[len("reader."):]: v for k, v in variant.items() if k.startswith("reader.")}
    reader = {**DEFAULT_READER, **given}
    top = {k: v for k, v in variant.items() if not k.startswith("reader.")}
    unknown = sorted(set(top) - set(ClockPhotoReaderConfig().to_dict()) | ({"reader"} & set(top)))
    unknown += sorted(f"reader.{k}" for k in set(given) - set(ClockReaderConfig().to_dict()))
    if unknown:
        raise ValueError(f"unknown photo reader config field(s) {unknown} (a reader field is written reader.NAME)")
    return ClockPhotoReaderConfig(reader=reader, **top)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=["", "detector_size=96"],
                        help="Config variants, the first the baseline ('' is the default config).")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--num_threads", type=int, default=2, help="torch CPU threads.")
    args = parser.parse_args(argv)

    import torch

    from tinyvision.data.clock_data import generate_scene_split
    from tinyvision.data.sources import image_processor_for
    from tinyvision.models import ClockPhotoReader

    torch.set_num_threads(args.num_threads)
    configs = [variant_config(parse_variant(text)) for text in args.variants]  # every variant checked first
    scenes = generate_scene_split(args.batch_size, image_size=configs[0].image_size, seed=0, num_proc=1)
    processor = image_processor_for(image_size=configs[0].image_size, num_channels=configs[0].num_channels,
                                    letterbox=True)
    batch = {name: scenes.columns[name] for name in ("hour", "minute", "dial_homography", "has_clock")}
    batch["pixel_values"] = processor.normalize_uint8(scenes.columns["pixel_values"])
    models = []
    for config in configs:
        torch.manual_seed(0)
        model = ClockPhotoReader(config).train()
        models.append((model, torch.optim.AdamW(model.parameters(), lr=1e-3)))

    def step(model, optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        model(**batch).loss.backward()
        optimizer.step()

    for model, optimizer in models:  # warm-up
        step(model, optimizer)
    rounds = [[] for _ in models]
    for _ in range(args.rounds):
        for times, (model, optimizer) in zip(rounds, models):
            start = time.perf_counter()
            for _ in range(args.steps):
                step(model, optimizer)
            times.append((time.perf_counter() - start) / args.steps)
    medians = [statistics.median(times) for times in rounds]
    rows = []
    print(f"photo reader training step, batch {args.batch_size}, {args.num_threads} threads, median of {args.rounds} "
          f"rounds of {args.steps} steps")
    for text, seconds in zip(args.variants, medians):
        rows.append({"variant": text or "default", "seconds_per_step": seconds, "ratio": seconds / medians[0],
                     "default_run_training_minutes": seconds * DEFAULT_RUN_STEPS / 60.0})
        print(f"  {rows[-1]['variant']:<60} {seconds:7.3f} s/step  x{rows[-1]['ratio']:.2f}  "
              f"{rows[-1]['default_run_training_minutes']:5.1f} min for {DEFAULT_RUN_STEPS} steps")
    return {"batch_size": args.batch_size, "num_threads": args.num_threads, "rows": rows}


if __name__ == "__main__":
    main()
