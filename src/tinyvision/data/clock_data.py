"""Clock data for Task 2 as :class:`~tinyvision.data.Splits`: generated, the course's npy files, or a dataset.

:func:`load_clock_data` (the single-stage reader's data):

* no ``dataset_name``: clocks rendered on the spot by :mod:`tinyvision.data.clocks` at ``image_size``, with
  the angle columns every head can train on; train, validation and test use different seeds (``data_seed``,
  ``+ VALIDATION_SEED_OFFSET``, ``+ TEST_SEED_OFFSET``), so the test clocks are always fresh;
* a folder with the course's ``images.npy`` (N, H, W) and ``labels.npy`` (N, 2) = [hour, minute];
* a Hub id or local folder (parquet, ``save_to_disk``) with ``image``, ``hour`` and ``minute`` columns (and the
  angle columns, if it was made by ``scripts/make_clock_dataset.py``).

Without a validation / test split, 10 % / 10 % of train are held out (fixed ``data_seed``). Every split holds
``pixel_values`` uint8 (N, 1, H, W), ``hour`` and ``minute`` int64, and the angles as float32 degrees when known.

:func:`load_scene_data` (the photo reader's data): letterboxed photo-like scenes from
:mod:`tinyvision.data.clock_scenes` with the time, each dial's homography and whether the scene holds a clock.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..models.configuration_clock import ANGLE_COLUMNS
from .clocks import split_seeds
from .sources import (
    DEFAULT_CACHE_DIR,
    DataError,
    Splits,
    TensorDataset,
    decode_images_cached,
    find_image_column,
    image_processor_for,
    load_hf_dataset,
    normalization_stats,
    split_validation,
)

TIME_COLUMNS = ("hour", "minute")
SCENE_COLUMNS = ("hour", "minute", "dial_homography", "has_clock")
# Clock images are many and large (scenes: 256²): the normalisation constants come from the first 4,096.
STATS_MAX_IMAGES = 4096
AUTO_BACKGROUNDS = ("../shared/data/cifar10", "../shared/data/cats_64x64")


def announce(message: str) -> None:
    """Print once per machine (rendering takes minutes: say so)."""
    if os.environ.get("LOCAL_RANK", "0") == "0":
        print(message, flush=True)


def _with_stats(train, validation, test, source: str, provenance: dict | None = None) -> Splits:
    mean, std = normalization_stats(train.columns["pixel_values"], STATS_MAX_IMAGES)
    return Splits(train, validation, test, mean, std, source=source, provenance=provenance or {})


# ------------------------------------------------------------------------------- the reader's clocks
def clock_split(images: np.ndarray, labels: dict[str, np.ndarray]) -> TensorDataset:
    """(N, H, W[, C]) uint8 images and their labels → a split; checks the time ranges, hour 12 → 0."""
    pixels = torch.from_numpy(np.ascontiguousarray(images))
    pixels = pixels[:, None] if pixels.dim() == 3 else pixels.permute(0, 3, 1, 2).contiguous()
    columns = {"pixel_values": pixels}
    for name in TIME_COLUMNS:
        columns[name] = torch.as_tensor(np.asarray(labels[name]), dtype=torch.long)
    for name in ANGLE_COLUMNS:
        if name in labels:
            columns[name] = torch.as_tensor(np.asarray(labels[name]), dtype=torch.float32)
    hours, minutes = columns["hour"], columns["minute"]
    if len(hours) and (hours.min() < 0 or hours.max() > 12 or minutes.min() < 0 or minutes.max() > 59):
        raise DataError(
            f"hour must lie in 0..12 and minute in 0..59; found hours {int(hours.min())}..{int(hours.max())}, "
            f"minutes {int(minutes.min())}..{int(minutes.max())}"
        )
    columns["hour"] = hours.remainder(12)
    return TensorDataset(**columns)


def generate_clock_split(n: int, *, image_size: int, seed: int, num_proc: int | None = None,
                         max_rotation: float = 180.0) -> TensorDataset:
    """``n`` fresh clocks rendered at ``image_size`` (grayscale), every column the generator knows."""
    from .clocks import make_clock_arrays

    images, labels = make_clock_arrays(n, size=image_size, seed=seed, num_proc=num_proc, mode="L",
                                       max_rotation=max_rotation)
    return clock_split(images, labels)


def _as_uint8(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.dtype == np.uint8:
        return image
    if np.issubdtype(image.dtype, np.floating) and image.size and image.max() <= 1.0:
        image = image * 255.0
    return np.clip(image, 0, 255).round().astype(np.uint8)


def _resize_all(images: np.ndarray, image_size: int) -> np.ndarray:
    """(N, H, W[, C]) → (N, S, S) uint8 grayscale with the image processor's conversion and resampling."""
    if images.ndim == 3 and images.shape[1:] == (image_size, image_size) and images.dtype == np.uint8:
        return images
    processor = image_processor_for(image_size=image_size, num_channels=1)
    return np.stack([processor.to_uint8(Image.fromarray(_as_uint8(image)))[0].numpy() for image in images])


def hold_out(dataset: TensorDataset, seed: int, *, validation: bool, test: bool, fraction: float = 0.1):
    """(train, validation, test): a ``fraction`` of ``dataset`` carved out for each split asked for, by the
    fixed permutation of :func:`~tinyvision.data.sources.split_validation` (nothing is carved from < 10 rows)."""
    parts = int(validation) + int(test)
    if not parts or len(dataset) < 10:
        return dataset, None, None
    share = max(1, round(fraction * len(dataset)))  # rows per carved split
    train_idx, held = split_validation(len(dataset), share * parts / len(dataset), seed)
    test_idx = held[:share] if test else None
    validation_idx = held[share:] if test and validation else held if validation else None
    pick = (lambda idx: None if idx is None else dataset.select(idx))
    return dataset.select(train_idx), pick(validation_idx), pick(test_idx)


def load_course_npy(folder: str | Path, *, image_size: int) -> TensorDataset:
    """The course's format: ``images.npy`` (N, H, W) and ``labels.npy`` (N, 2) rows of [hour, minute]."""
    folder = Path(folder)
    images = np.load(folder / "images.npy", mmap_mode="r")
    labels = np.load(folder / "labels.npy")
    if labels.ndim != 2 or labels.shape[1] < 2:
        raise DataError(f"{folder / 'labels.npy'} must have shape (N, 2) = [hour, minute], got {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"images.npy has {len(images)} images but labels.npy has {len(labels)} rows")
    if images.ndim not in (3, 4):
        raise DataError(f"images.npy must hold (N, H, W) or (N, H, W, C) images, got shape {images.shape}")
    if images.ndim == 4 and images.shape[-1] not in (1, 3, 4):
        raise DataError(f"images.npy must be channels-last (N, H, W, C), got shape {images.shape}")
    resized = _resize_all(np.asarray(images), image_size)
    return clock_split(resized, {"hour": labels[:, 0].astype(np.int64), "minute": labels[:, 1].astype(np.int64)})


def _hf_split(split, image_size: int, cache_dir) -> TensorDataset:
    missing = [name for name in TIME_COLUMNS if name not in split.column_names]
    if missing:
        raise DataError(f"a clock dataset needs the columns image, hour and minute; missing {missing} "
                        f"(columns are {split.column_names})")
    column = find_image_column(split)
    images = decode_images_cached(split, column, mode="L", image_size=image_size, cache_dir=cache_dir)
    labels = {name: np.asarray(split[name]) for name in TIME_COLUMNS}
    if all(name in split.column_names for name in ANGLE_COLUMNS):
        labels.update({name: np.asarray(split[name], dtype=np.float32) for name in ANGLE_COLUMNS})
    return clock_split(images[:, 0], labels)


def load_clock_data(dataset_name: str | None = None, *, image_size: int, num_train_examples: int,
                    num_eval_examples: int, num_test_examples: int, data_seed: int = 0, max_rotation: float = 180.0,
                    num_proc: int | None = None, cache_dir=DEFAULT_CACHE_DIR) -> Splits:
    """The reader's splits (see the module docstring); generated sets record their seeds and generator version."""
    provenance = {}
    if dataset_name is None:
        from .clocks import GENERATOR_VERSION

        started = time.perf_counter()
        announce(f"rendering {num_train_examples} + {num_eval_examples} + {num_test_examples} clocks "
                 f"(train + validation + test) at {image_size}x{image_size}...")
        render = functools.partial(generate_clock_split, image_size=image_size, num_proc=num_proc,
                                   max_rotation=max_rotation)
        seeds = split_seeds(data_seed)
        train = render(num_train_examples, seed=seeds["train"])
        validation = render(num_eval_examples, seed=seeds["validation"])
        test = render(num_test_examples, seed=seeds["test"])
        turned = "" if max_rotation == 180.0 else f", dials within ±{max_rotation:g}°"
        source = f"generated clocks (data_seed={data_seed}{turned})"
        provenance = {"data_seeds": seeds, "generator_version": GENERATOR_VERSION}
        announce(f"rendered in {time.perf_counter() - started:.0f} s")
        return _with_stats(train, validation, test, source, provenance)
    if (Path(dataset_name).expanduser() / "images.npy").exists():
        folder = Path(dataset_name).expanduser()
        train, validation, test = hold_out(load_course_npy(folder, image_size=image_size), data_seed,
                                           validation=True, test=True)
        source = f"course npy files in {folder}"
    else:
        dataset = load_hf_dataset(dataset_name)
        if "train" not in dataset:
            raise DataError(f"{dataset_name} has no 'train' split; it has {list(dataset)}")
        train = _hf_split(dataset["train"], image_size, cache_dir)
        validation = _hf_split(dataset["validation"], image_size, cache_dir) if "validation" in dataset else None
        test = _hf_split(dataset["test"], image_size, cache_dir) if "test" in dataset else None
        train, carved_validation, carved_test = hold_out(train, data_seed, validation=validation is None,
                                                         test=test is None)
        validation = validation if validation is not None else carved_validation
        test = test if test is not None else carved_test
        source = dataset_name
    limit = (lambda split, n: None if split is None else split.select(range(min(n, len(split)))))
    return _with_stats(limit(train, num_train_examples), limit(validation, num_eval_examples),
                       limit(test, num_test_examples), source)


# -------------------------------------------------------------------------------- the photo scenes
def background_sources(spec: str) -> list[str]:
    """The dataset folders / Hub ids a ``--backgrounds`` value names: comma-separated; ``auto``: the CIFAR-10 and
    cat folders of ``../shared/data`` where they exist; ``none``: procedural backgrounds only."""
    if spec.strip().lower() == "none":
        return []
    if spec.strip().lower() == "auto":
        return [path for path in AUTO_BACKGROUNDS if Path(path).is_dir()]
    return [part.strip() for part in spec.split(",") if part.strip()]


def background_pool(spec: str):
    """The background photos a ``--backgrounds`` value names (:func:`background_sources`), loaded into one pool
    (``clock_scenes.load_background_pool``); None for procedural backgrounds only."""
    from .clock_scenes import load_background_pool

    sources = background_sources(spec)
    return load_background_pool(sources) if sources else None


def generate_scene_split(n: int, *, image_size: int, seed: int, num_proc=None, orientation: str = "world",
                         backgrounds=None, empty_fraction: float = 0.0) -> TensorDataset:
    """``n`` fresh letterboxed scenes (grayscale uint8) with their time, homography and has_clock columns."""
    from .clock_scenes import make_scene_arrays

    images, labels = make_scene_arrays(n, size=image_size, seed=seed, num_proc=num_proc, mode="L",
                                       orientation=orientation, backgrounds=backgrounds, p_empty=empty_fraction)
    return TensorDataset(
        pixel_values=torch.from_numpy(np.ascontiguousarray(images))[:, None],
        hour=torch.as_tensor(labels["hour"], dtype=torch.long).remainder(12),
        minute=torch.as_tensor(labels["minute"], dtype=torch.long),
        dial_homography=torch.as_tensor(labels["homography"], dtype=torch.float32),
        has_clock=torch.as_tensor(labels["has_clock"], dtype=torch.bool),
    )


# Seeds of the clock-free scenes added to the validation and test splits: data_seed + these offsets.
CLOCK_FREE_SEED_OFFSETS = {"validation": 3_000_000, "test": 4_000_000}


def load_scene_data(*, image_size: int, num_train_examples: int, num_eval_examples: int, num_test_examples: int,
                    data_seed: int = 0, orientation: str = "world", backgrounds: str = "auto",
                    empty_fraction: float = 0.05, num_clock_free_examples: int = 0,
                    num_proc: int | None = None) -> Splits:
    """Train / validation / test scenes (different seeds) over the ``backgrounds`` photos (see
    :func:`background_sources`); records the seeds, the generator version and the background collections.

    ``num_clock_free_examples`` scenes without a clock (seeds of their own) follow the validation scenes and as many
    follow the test scenes: the photo reader's detection threshold is calibrated on the validation ones, and its
    false-alarm rate is measured on the test ones, each then on hundreds of scenes rather than the ~5 % of the
    split that ``empty_fraction`` leaves without a clock."""
    from .clock_scenes import SCENE_GENERATOR_VERSION, load_background_pool

    sources = background_sources(backgrounds)
    pool = load_background_pool(sources) if sources else None
    backdrop = f"{len(pool)} background photos from {', '.join(sources)}" if pool is not None else \
        "procedural backgrounds"
    started = time.perf_counter()
    extra = f" (+ {num_clock_free_examples} without a clock each)" if num_clock_free_examples else ""
    announce(f"rendering {num_train_examples} + {num_eval_examples} + {num_test_examples}{extra} clock scenes "
             f"(train + validation + test) at {image_size}x{image_size} over {backdrop}...")
    seeds = split_seeds(data_seed)
    train, validation, test = (
        generate_scene_split(n, image_size=image_size, seed=seeds[split], num_proc=num_proc, orientation=orientation,
                             backgrounds=pool, empty_fraction=empty_fraction)
        for n, split in ((num_train_examples, "train"), (num_eval_examples, "validation"), (num_test_examples, "test"))
    )
    clock_free_seeds = {split: data_seed + offset for split, offset in CLOCK_FREE_SEED_OFFSETS.items()}
    if num_clock_free_examples:
        validation, test = (
            TensorDataset.concatenate(split, generate_scene_split(
                num_clock_free_examples, image_size=image_size, seed=clock_free_seeds[name], num_proc=num_proc,
                orientation=orientation, backgrounds=pool, empty_fraction=1.0))
            for name, split in (("validation", validation), ("test", test))
        )
    announce(f"rendered in {time.perf_counter() - started:.0f} s")
    source = (f"generated clock scenes (data_seed={data_seed}, orientation={orientation}, "
              f"{backdrop}, {empty_fraction:.0%} without a clock"
              + (f"; validation and test each + {num_clock_free_examples} without a clock)" if num_clock_free_examples
                 else ")"))
    provenance = {"data_seeds": seeds, "scene_generator_version": SCENE_GENERATOR_VERSION,
                  "backgrounds": {"count": len(pool) if pool is not None else 0, "sources": sources}}
    if num_clock_free_examples:
        provenance["clock_free"] = {"count_per_split": num_clock_free_examples, "seeds": clock_free_seeds}
    return _with_stats(train, validation, test, source, provenance)
