"""Generate analog clocks with tinyvision's renderer; save them to disk and/or publish them to the Hub.

    python scripts/make_clock_dataset.py --num_train 18000 --num_validation 1000 --num_test 2000 \
        --size 150 --seed 0 --output_dir data/clocks
    python scripts/make_clock_dataset.py ... --push_to_hub --repo_id user/tinyvision-clocks

Clock i of a split depends only on (seed, i) and the generator version, so the dataset card records
``GENERATOR_VERSION`` and each split's seed, and anyone can render the same clocks again. The
validation and test seeds are the training seed + 1,000,000 and + 2,000,000, as in
``scripts/train_clock.py --data_seed SEED``. ``--output_dir`` gets ``save_to_disk`` files (read them
with ``datasets.load_from_disk``) and/or a Hub-style folder of parquet files with the card.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

from tinyvision.data.clocks import GENERATOR_VERSION, make_clock_dataset, split_seeds
from tinyvision.hub import build_clock_dataset_release, publish


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num_train", type=int, default=18_000, help="Training clocks.")
    parser.add_argument("--num_validation", type=int, default=1_000, help="Validation clocks (0: no split).")
    parser.add_argument("--num_test", type=int, default=2_000, help="Test clocks (0: no split).")
    parser.add_argument("--size", type=int, default=150, help="Image side in pixels.")
    parser.add_argument("--mode", choices=("L", "RGB"), default="L", help="Grayscale (L) or RGB images.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the training split (others are offset).")
    parser.add_argument("--num_proc", type=int, default=None, help="Rendering processes (default: all cores).")
    parser.add_argument("--output_dir", default=None, help="Where to save the dataset.")
    parser.add_argument("--format", choices=("save_to_disk", "parquet", "both"), default="save_to_disk",
                        help="save_to_disk (load_from_disk), parquet (a Hub-style folder with the card), or both.")
    parser.add_argument("--push_to_hub", action="store_true", help="Publish the dataset with its card.")
    parser.add_argument("--repo_id", default=None, help="Hub dataset repo for --push_to_hub, user/name.")
    parser.add_argument("--private", action="store_true", help="Create the Hub repo as private.")
    parser.add_argument("--create_pr", action="store_true", help="Open a pull request instead of committing to main.")
    args = parser.parse_args(argv)
    if args.push_to_hub and not args.repo_id:
        parser.error("--push_to_hub needs --repo_id")
    if not args.push_to_hub and not args.output_dir:
        parser.error("give --output_dir, --push_to_hub, or both")
    if args.num_train < 1:
        parser.error(f"--num_train must be at least 1, got {args.num_train}")
    return args


def generate_splits(args) -> dict:
    counts = {"train": args.num_train, "validation": args.num_validation, "test": args.num_test}
    seeds = split_seeds(args.seed)
    return {name: make_clock_dataset(n, size=args.size, seed=seeds[name], num_proc=args.num_proc, mode=args.mode)
            for name, n in counts.items() if n > 0}


def reproduce_command(args) -> str:
    parts = ["python", "scripts/make_clock_dataset.py", "--num_train", args.num_train, "--num_validation",
             args.num_validation, "--num_test", args.num_test, "--size", args.size, "--mode", args.mode,
             "--seed", args.seed]
    return " ".join(shlex.quote(str(part)) for part in parts) + " --output_dir clocks"


def main(argv=None, *, api=None) -> int:
    import datasets

    args = parse_args(argv)
    splits = generate_splits(args)
    seeds = {name: split_seeds(args.seed)[name] for name in splits}
    release = dict(seeds=seeds, size=args.size, mode=args.mode, repo_id=args.repo_id,
                   command=reproduce_command(args))
    if args.output_dir:
        output_dir = Path(args.output_dir)
        if args.format in ("save_to_disk", "both"):
            datasets.DatasetDict(splits).save_to_disk(str(output_dir))
        if args.format in ("parquet", "both"):
            build_clock_dataset_release(splits, output_dir / "hub" if args.format == "both" else output_dir,
                                        **release)
        print(f"saved {sum(map(len, splits.values()))} clocks ({', '.join(f'{k} {len(v)}' for k, v in splits.items())})"
              f" to {output_dir}")
    if args.push_to_hub:
        with tempfile.TemporaryDirectory(prefix="tinyvision-clocks-") as tmp:
            folder = build_clock_dataset_release(splits, Path(tmp) / "clocks", **release)
            commit = publish(folder, args.repo_id, repo_type="dataset", private=args.private,
                             create_pr=args.create_pr, api=api,
                             commit_message=f"Upload generated clocks (generator v{GENERATOR_VERSION}, "
                                            f"seed {args.seed})")
        print(f"pushed to https://huggingface.co/datasets/{args.repo_id}: "
              f"{getattr(commit, 'pr_url', None) or getattr(commit, 'commit_url', None) or commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
