"""Task 2 ("Tell-the-time"): train a :class:`~tinyvision.models.ClockReader` on analog clocks.

Data (``--dataset_name``):

* nothing (default): clocks rendered on the spot by :mod:`tinyvision.data.clocks` at ``--image_size``,
  with the angle columns every head can train on; train, validation and test use different seeds
  (``--data_seed``, ``+1_000_000``, ``+2_000_000``), so the test clocks are always fresh;
* a folder with the course's ``images.npy`` (N, H, W) and ``labels.npy`` (N, 2) = [hour, minute];
* a Hub id or local folder (parquet, ``save_to_disk``) with ``image``, ``hour`` and ``minute`` columns
  (and the angle columns, if it was made by ``make_clock_dataset``).

Without a validation / test split, 10% / 10% of train are held out (fixed ``--data_seed``).
Every loader returns :class:`~tinyvision.data.TensorDataset` splits: ``pixel_values`` uint8
(N, 1, H, W), ``hour`` and ``minute`` int64, and the angles as float32 degrees when known.

The default recipe (``accelerate launch scripts/train_clock.py`` with no arguments): the ``angles`` head
on the polar-grid CNN (:class:`~tinyvision.models.ClockReaderConfig`'s defaults) at 96×96, 40,000 fresh
training clocks seen 3 times, each batch turned by random quarter turns, AdamW (weight decay 1e-4) with a
one-cycle schedule peaking at 3e-3, batch 32, gradients clipped at 2; validation on 1,000 and the final
test on 2,000 further fresh clocks. One torch thread (the engine's CPU default); the clocks are rendered
on every core first.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate.utils import set_seed
from PIL import Image

from ..data import DataError, TensorDataset, channel_stats, load_hf_dataset
from ..data.sources import DEFAULT_CACHE_DIR, decode_images_cached, find_image_column
from ..metrics import clock_error_summary, common_sense_error
from ..models import ClockReader, ClockReaderConfig, TinyVisionImageProcessor
from ..models.configuration_clock import ANGLE_COLUMNS, HEADS
from ..training import Engine, SupervisedStep, TrainingArguments, TrainResult
from .classification import check_config_fields, parse_config_overrides

DEFAULT_OUTPUT_DIR = "outputs/clock-reader"
# The default recipe (see the module docstring): what `accelerate launch scripts/train_clock.py` trains with
# no arguments. Explicit command-line values win.
TRAINING_DEFAULTS = {
    "optimizer": "adamw",
    "learning_rate": 3e-3,
    "weight_decay": 1e-4,
    "lr_scheduler_type": "one_cycle",
    "warmup_ratio": 0.15,
    "num_train_epochs": 3,
    "per_device_train_batch_size": 32,
    "max_grad_norm": 2.0,
}
VALIDATION_SEED_OFFSET = 1_000_000
TEST_SEED_OFFSET = 2_000_000
TIME_COLUMNS = ("hour", "minute")
CLOCK_MODELS = ("photo", "reader")


@dataclass
class ClockArguments:
    """What to train on and which reader to train; the engine's arguments are separate."""

    model: str = field(
        default="photo",
        metadata={"help": "photo: the two-stage reader (find the dial in a whole photo, then read it), trained on "
                          "photo-like clock scenes; reader: the seed's single-stage reader on centred clocks."},
    )
    head: str = field(default="angles", metadata={"help": f"One of {', '.join(HEADS)}."})
    interval_minutes: int = field(
        default=30, metadata={"help": "Class width of the classification head; must divide 720 (1, 5, 15, 30, 60)."}
    )
    image_size: int | None = field(
        default=None,
        metadata={"help": "Model input side; clocks are rendered / resized to it (default: 256 for the photo "
                          "reader's letterboxed scenes, 96 for the reader)."},
    )
    num_train_examples: int | None = field(
        default=None,
        metadata={"help": "Generated training clocks (for a dataset: use at most this many); default 30,000 scenes "
                          "for the photo reader, 40,000 clocks for the reader."},
    )
    num_eval_examples: int = field(
        default=1_000, metadata={"help": "Validation clocks evaluated after each epoch (at most, for a dataset)."}
    )
    num_test_examples: int = field(
        default=2_000, metadata={"help": "Fresh test clocks for the final metrics (at most, for a dataset)."}
    )
    dataset_name: str | None = field(
        default=None,
        metadata={"help": "Hub id or local folder with image/hour/minute columns, or a folder with the course's "
                          "images.npy + labels.npy; default: clocks generated on the spot."},
    )
    data_seed: int = field(default=0, metadata={"help": "Seed of the generated clocks / of the held-out splits."})
    orientation: str = field(
        default="world",
        metadata={"help": "Photo scenes: how dials are turned. world: 70% upright within a tilt, 30% at any angle; "
                          "any: uniformly (the seed's task); upright."},
    )
    backgrounds: str = field(
        default="auto",
        metadata={"help": "Photo scenes: comma-separated dataset folders (or Hub ids) whose images become scene "
                          "backgrounds; 'auto': ../shared/data/cifar10 and ../shared/data/cats_64x64 where they "
                          "exist; 'none': procedural textures only."},
    )
    empty_fraction: float = field(
        default=0.05, metadata={"help": "Photo scenes: the fraction without a clock (the reader learns to say so)."}
    )
    max_rotation: float = field(
        default=180.0,
        metadata={"help": "Generated dials are turned by a random angle within ± this many degrees "
                          "(180: any orientation, the task as set; 0: upright)."},
    )
    num_proc: int | None = field(default=None, metadata={"help": "Processes rendering clocks (default: all cores)."})
    augment: bool = field(
        default=True,
        metadata={"help": "Rotate training images by random multiples of 90 degrees (angle labels follow)."},
    )
    config_overrides: str | None = field(
        default=None, metadata={"help": 'ClockReaderConfig fields as JSON, e.g. \'{"fc_hidden_sizes": [128]}\'.'}
    )
    push_to_hub: bool = field(default=False, metadata={"help": "Upload the trained model to the Hub."})
    hub_model_id: str | None = field(default=None, metadata={"help": "Hub repo id for --push_to_hub."})
    hub_private_repo: bool = field(default=False, metadata={"help": "Create the Hub repo as private."})

    def __post_init__(self):
        if self.model not in CLOCK_MODELS:
            raise ValueError(f"--model must be one of {list(CLOCK_MODELS)}, got {self.model!r}")
        photo = self.model == "photo"
        if self.image_size is None:
            self.image_size = 256 if photo else 96
        if self.num_train_examples is None:
            self.num_train_examples = 30_000 if photo else 40_000
        if photo:
            if self.head != "angles":
                raise ValueError("the photo reader reads with the 'angles' head; other heads need --model reader")
            if self.dataset_name is not None:
                raise ValueError("the photo reader trains on generated scenes (it needs each dial's homography); "
                                 "a --dataset_name needs --model reader")
            if self.max_rotation != 180.0:
                raise ValueError("--max_rotation shapes the reader's clocks; photo scenes use --orientation")
        from ..data.clock_scenes import ORIENTATIONS

        if self.orientation not in ORIENTATIONS:
            raise ValueError(f"--orientation must be one of {list(ORIENTATIONS)}, got {self.orientation!r}")
        if not 0.0 <= self.empty_fraction < 1.0:
            raise ValueError(f"--empty_fraction must be in [0, 1), got {self.empty_fraction}")
        if self.head not in HEADS:
            raise ValueError(f"--head must be one of {list(HEADS)}, got {self.head!r}")
        for name in ("image_size", "num_train_examples", "num_eval_examples", "num_test_examples"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be at least 1, got {getattr(self, name)}")
        from ..data.clocks import check_max_rotation

        check_max_rotation(self.max_rotation)
        if self.dataset_name is not None and self.max_rotation != 180.0:
            raise ValueError("--max_rotation shapes generated clocks only; a --dataset_name brings its own")


@dataclass
class ClockData:
    """Train / validation / test splits of clock images with their labels."""

    train: TensorDataset
    validation: TensorDataset | None
    test: TensorDataset | None
    image_mean: list[float]
    image_std: list[float]
    source: str

    @property
    def image_size(self) -> int:
        return self.train.columns["pixel_values"].shape[-1]

    @property
    def num_channels(self) -> int:
        return self.train.columns["pixel_values"].shape[1]

    @property
    def has_angles(self) -> bool:
        return all(name in self.train.columns for name in ANGLE_COLUMNS)


# ------------------------------------------------------------------------------------- data
def _announce(message: str) -> None:
    """Print once per machine (rendering takes minutes: say so)."""
    if os.environ.get("LOCAL_RANK", "0") == "0":
        print(message, flush=True)


def _clock_split(images: np.ndarray, labels: dict[str, np.ndarray]) -> TensorDataset:
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
    from ..data.clocks import make_clock_arrays

    images, labels = make_clock_arrays(n, size=image_size, seed=seed, num_proc=num_proc, mode="L",
                                       max_rotation=max_rotation)
    return _clock_split(images, labels)


def _resize_all(images: np.ndarray, image_size: int) -> np.ndarray:
    """(N, H, W[, C]) uint8 → (N, S, S) grayscale with the image processor's conversion and resampling."""
    processor = TinyVisionImageProcessor(size={"height": image_size, "width": image_size}, num_channels=1)
    if images.ndim == 3 and images.shape[1:] == (image_size, image_size) and images.dtype == np.uint8:
        return images
    return np.stack([processor.to_uint8(Image.fromarray(_as_uint8(image)))[0].numpy() for image in images])


def _as_uint8(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.dtype == np.uint8:
        return image
    if np.issubdtype(image.dtype, np.floating) and image.size and image.max() <= 1.0:
        image = image * 255.0
    return np.clip(image, 0, 255).round().astype(np.uint8)


def _hold_out(dataset: TensorDataset, seed: int, need_validation: bool, need_test: bool):
    """Carve 10% validation and/or 10% test from ``dataset`` with a fixed permutation."""
    n = len(dataset)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    tenth = max(1, round(0.1 * n)) if n >= 10 else 0
    validation = test = None
    start = 0
    if need_test and tenth:
        test, start = dataset.select(order[:tenth]), tenth
    if need_validation and tenth:
        validation, start = dataset.select(order[start:start + tenth]), start + tenth
    return dataset.select(order[start:]), validation, test


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
    return _clock_split(resized, {"hour": labels[:, 0].astype(np.int64), "minute": labels[:, 1].astype(np.int64)})


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
    return _clock_split(images[:, 0], labels)


def load_clock_data(args: ClockArguments, *, cache_dir=DEFAULT_CACHE_DIR) -> ClockData:
    """The splits ``args`` asks for (see the module docstring)."""
    if args.dataset_name is None:
        started = time.perf_counter()
        _announce(f"rendering {args.num_train_examples} + {args.num_eval_examples} + {args.num_test_examples} "
                  f"clocks (train + validation + test) at {args.image_size}x{args.image_size}...")
        render = functools.partial(generate_clock_split, image_size=args.image_size, num_proc=args.num_proc,
                                   max_rotation=args.max_rotation)
        train = render(args.num_train_examples, seed=args.data_seed)
        validation = render(args.num_eval_examples, seed=args.data_seed + VALIDATION_SEED_OFFSET)
        test = render(args.num_test_examples, seed=args.data_seed + TEST_SEED_OFFSET)
        turned = "" if args.max_rotation == 180.0 else f", dials within ±{args.max_rotation:g}°"
        source = f"generated clocks (data_seed={args.data_seed}{turned})"
        _announce(f"rendered in {time.perf_counter() - started:.0f} s")
    elif (Path(args.dataset_name).expanduser() / "images.npy").exists():
        folder = Path(args.dataset_name).expanduser()
        train, validation, test = _hold_out(load_course_npy(folder, image_size=args.image_size), args.data_seed,
                                            need_validation=True, need_test=True)
        source = f"course npy files in {folder}"
    else:
        dataset = load_hf_dataset(args.dataset_name)
        if "train" not in dataset:
            raise DataError(f"{args.dataset_name} has no 'train' split; it has {list(dataset)}")
        train = _hf_split(dataset["train"], args.image_size, cache_dir)
        validation = _hf_split(dataset["validation"], args.image_size, cache_dir) if "validation" in dataset else None
        test = _hf_split(dataset["test"], args.image_size, cache_dir) if "test" in dataset else None
        train, carved_validation, carved_test = _hold_out(train, args.data_seed, validation is None, test is None)
        validation = validation if validation is not None else carved_validation
        test = test if test is not None else carved_test
        source = args.dataset_name
    if args.dataset_name is not None:
        train = train.select(range(min(args.num_train_examples, len(train))))
        if validation is not None:
            validation = validation.select(range(min(args.num_eval_examples, len(validation))))
        if test is not None:
            test = test.select(range(min(args.num_test_examples, len(test))))
    # Normalisation constants of the training images (a subset is plenty).
    pixels = train.columns["pixel_values"]
    mean, std = channel_stats(pixels[: min(len(pixels), 4096)])
    std = [max(value, 1e-3) for value in std]
    return ClockData(train, validation, test, mean, std, source)


# ------------------------------------------------------------------------------------- step
def rotate_quarter_turns(pixel_values: torch.Tensor, angles: dict[str, torch.Tensor], turns: torch.Tensor):
    """Rotate each image clockwise by ``turns[i]`` × 90°; every absolute angle label gains ``90 * turns[i]``.

    The time does not change: the whole clock turns, marker included. Exact (no resampling).
    """
    rotated = pixel_values.clone()
    for quarter in (1, 2, 3):
        chosen = (turns == quarter).nonzero(as_tuple=True)[0]
        if len(chosen):
            rotated[chosen] = torch.rot90(pixel_values[chosen], -quarter, dims=(2, 3))
    shifted = {name: (value + 90.0 * turns.to(value.dtype)).remainder(360.0) for name, value in angles.items()}
    return rotated, shifted


class ClockStep(SupervisedStep):
    """Normalises uint8 clocks, augments by quarter turns, measures the common-sense error."""

    def __init__(self, model, processor: TinyVisionImageProcessor, *, augment: bool = True, **kwargs):
        super().__init__(model, **kwargs)
        self.processor = processor
        self.augment = augment

    def model_inputs(self, batch, training):
        pixels = batch["pixel_values"]
        angles = {name: batch[name] for name in ANGLE_COLUMNS if name in batch}
        if training and self.augment:
            turns = torch.randint(0, 4, (len(pixels),), device=pixels.device)
            pixels, angles = rotate_quarter_turns(pixels, angles, turns)
        inputs = {"pixel_values": self.processor.normalize_uint8(pixels), **angles}
        for name in TIME_COLUMNS:
            if name in batch:
                inputs[name] = batch[name]
        return inputs

    def train_metrics(self, outputs, inputs):
        errors = common_sense_error(outputs.hour, outputs.minute, inputs["hour"], inputs["minute"]).float()
        return {"cse": errors.mean(), "hour_accuracy": (outputs.hour == inputs["hour"].remainder(12)).float().mean()}

    def eval_step(self, batch):
        inputs = self.model_inputs(batch, training=False)
        has_targets = all(name in inputs for name in _unwrap(self.model).config.required_columns)
        outputs = self.model(**(inputs if has_targets else {"pixel_values": inputs["pixel_values"]}))
        values = {
            "cse": common_sense_error(outputs.hour, outputs.minute, inputs["hour"], inputs["minute"]).float(),
            "hour_correct": (outputs.hour == inputs["hour"].remainder(12)).float(),
        }
        if outputs.loss is not None:
            values["loss"] = outputs.loss.detach().float().expand(len(values["cse"]))
        return values

    def compute_metrics(self, gathered):
        metrics = clock_error_summary(gathered["cse"])
        metrics["hour_accuracy"] = gathered["hour_correct"].float().mean().item()
        if "loss" in gathered:
            metrics["loss"] = gathered["loss"].float().mean().item()
        return metrics

    def save_pretrained(self, output_dir, accelerator):
        super().save_pretrained(output_dir, accelerator)
        if accelerator.is_main_process:
            self.processor.save_pretrained(output_dir)


def _unwrap(model):
    return getattr(model, "module", model)


# ----------------------------------------------------------------------------------- recipe
def build_clock_reader(args: ClockArguments, data: ClockData) -> tuple[ClockReader, TinyVisionImageProcessor]:
    """The reader and its processor for ``data`` (explicit overrides win over the arguments)."""
    overrides = parse_config_overrides(args.config_overrides)
    check_config_fields(ClockReaderConfig, overrides)
    config = ClockReaderConfig(
        **{
            "image_size": data.image_size,
            "num_channels": data.num_channels,
            "head": args.head,
            "interval_minutes": args.interval_minutes,
            **overrides,
        }
    )
    if config.image_size != data.image_size:
        raise ValueError(f"config_overrides sets image_size={config.image_size} but the data is "
                         f"{data.image_size}x{data.image_size}: use --image_size instead")
    processor = TinyVisionImageProcessor(
        size={"height": config.image_size, "width": config.image_size},
        num_channels=config.num_channels,
        image_mean=data.image_mean,
        image_std=data.image_std,
    )
    return ClockReader(config), processor


def train_clock(args: ClockArguments, training_args: TrainingArguments) -> TrainResult:
    """Load or generate clocks, build the reader, train it with the engine, save (and push) it."""
    if args.push_to_hub and not args.hub_model_id:
        raise ValueError("--push_to_hub needs --hub_model_id")
    if args.model == "photo":
        from .clock_photo import train_clock_photo

        return train_clock_photo(args, training_args)
    training_args = training_args.with_defaults(**TRAINING_DEFAULTS)
    data = load_clock_data(args)
    set_seed(training_args.seed)  # the initial weights depend on the seed too
    model, processor = build_clock_reader(args, data)
    if model.config.head == "angles" and not data.has_angles:
        raise ValueError(
            f"the 'angles' head needs the columns {list(ANGLE_COLUMNS)}, which {data.source} lacks (only clocks "
            "made by tinyvision.data.clocks carry them); pick --head hybrid, multihead, periodic, classification "
            "or regression"
        )
    engine = Engine(
        ClockStep(model, processor, augment=args.augment, max_grad_norm=training_args.max_grad_norm),
        training_args,
        data.train,
        data.validation,
        test_dataset=data.test,
        run_config={
            "task": "clock-reading",
            "clock_args": asdict(args),
            "data_source": data.source,
            "model_config": model.config.to_dict(),
        },
    )
    result = engine.train()
    if args.push_to_hub and engine.accelerator.is_main_process:
        from ..hub import publish

        publish(training_args.output_dir, args.hub_model_id, private=args.hub_private_repo)
    return result
