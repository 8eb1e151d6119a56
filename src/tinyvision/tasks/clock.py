"""Task 2 ("Tell-the-time"): train a clock reader with the one engine.

``build(args, training_args)`` assembles the run and ``train_clock`` trains it. ``--model photo`` (the default)
is the two-stage :class:`~tinyvision.models.ClockPhotoReader` on photo-like scenes (:mod:`.clock_photo`);
``--model reader`` the seed's single-stage :class:`~tinyvision.models.ClockReader` on centred clocks, with any
of its heads, on generated clocks, the course's npy files or a dataset (:mod:`tinyvision.data.clock_data`).

The reader's default recipe: the ``angles`` head on the polar-grid CNN (:class:`~tinyvision.models.ClockReaderConfig`'s
defaults) at 96×96, 40,000 fresh training clocks seen 3 times, each batch turned by random quarter turns, AdamW
(weight decay 1e-4) with a one-cycle schedule peaking at 3e-3, batch 32, gradients clipped at 2
(:data:`tinyvision.recipes.TRAINING_DEFAULTS`); validation on 1,000 and the final test on 2,000 further fresh
clocks. One torch thread (the engine's CPU default); the clocks are rendered on every core first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from accelerate.utils import set_seed

from ..data import Splits, image_processor_for
from ..data.clock_data import TIME_COLUMNS, load_clock_data
from ..metrics import clock_error_summary, common_sense_error
from ..models import ClockReader, ClockReaderConfig, TinyVisionImageProcessor
from ..models.configuration_clock import ANGLE_COLUMNS, HEADS
from ..recipes import resolve_training
from ..training import SupervisedStep, TrainingArguments, TrainResult
from .common import TaskRun, build_timed, check_config_fields, data_record, parse_config_overrides, train_run

DEFAULT_OUTPUT_DIR = "outputs/clock-reader"
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
        metadata={"help": "Generated training clocks (for a dataset: use at most this many); default 40,000 scenes "
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
    orientation: str = field(  # help texts go through argparse's %-formatting: a percent sign is written %%
        default="world",
        metadata={"help": "Photo scenes: how dials are turned. world: 70%% upright within a tilt, 30%% at any angle; "
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
    num_clock_free_examples: int = field(
        default=500,
        metadata={"help": "Photo scenes: scenes without a clock added to the validation split (the detection "
                          "threshold is calibrated on them after each epoch) and as many to the test split (the "
                          "false-alarm rate is measured on them); 0: only the empty_fraction of each split."},
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

    def __post_init__(self):
        if self.model not in CLOCK_MODELS:
            raise ValueError(f"--model must be one of {list(CLOCK_MODELS)}, got {self.model!r}")
        photo = self.model == "photo"
        if self.image_size is None:
            self.image_size = 256 if photo else 96
        if self.num_train_examples is None:
            self.num_train_examples = 40_000
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
        if self.num_clock_free_examples < 0:
            raise ValueError(f"--num_clock_free_examples must be at least 0, got {self.num_clock_free_examples}")
        if self.head not in HEADS:
            raise ValueError(f"--head must be one of {list(HEADS)}, got {self.head!r}")
        for name in ("image_size", "num_train_examples", "num_eval_examples", "num_test_examples"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be at least 1, got {getattr(self, name)}")
        from ..data.clocks import check_max_rotation

        check_max_rotation(self.max_rotation)
        if self.dataset_name is not None and self.max_rotation != 180.0:
            raise ValueError("--max_rotation shapes generated clocks only; a --dataset_name brings its own")


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
def build_clock_reader(args: ClockArguments, splits: Splits) -> tuple[ClockReader, TinyVisionImageProcessor]:
    """The reader and its processor for ``splits`` (explicit overrides win over the arguments)."""
    overrides = parse_config_overrides(args.config_overrides)
    check_config_fields(ClockReaderConfig, overrides)
    config = ClockReaderConfig(**{"image_size": splits.image_size, "num_channels": splits.num_channels,
                                  "head": args.head, "interval_minutes": args.interval_minutes, **overrides})
    if config.image_size != splits.image_size:
        raise ValueError(f"config_overrides sets image_size={config.image_size} but the data is "
                         f"{splits.image_size}x{splits.image_size}: use --image_size instead")
    processor = image_processor_for(image_size=config.image_size, num_channels=config.num_channels,
                                    image_mean=splits.image_mean, image_std=splits.image_std)
    return ClockReader(config), processor


def load_reader_data(args: ClockArguments, **kwargs) -> Splits:
    """The single-stage reader's splits for ``args`` (see :func:`tinyvision.data.clock_data.load_clock_data`;
    ``kwargs``: its ``cache_dir``)."""
    return load_clock_data(args.dataset_name, image_size=args.image_size, num_train_examples=args.num_train_examples,
                           num_eval_examples=args.num_eval_examples, num_test_examples=args.num_test_examples,
                           data_seed=args.data_seed, max_rotation=args.max_rotation, num_proc=args.num_proc, **kwargs)


def build(args: ClockArguments, training_args: TrainingArguments, *, splits: Splits | None = None) -> TaskRun:
    """The run ``args`` asks for (``splits``: data already loaded for these arguments, e.g. by a study)."""
    if args.model == "photo":
        from .clock_photo import build_photo

        return build_photo(args, training_args, splits=splits)
    training_args = resolve_training(training_args, "clock_reader")
    splits = splits if splits is not None else load_reader_data(args)
    set_seed(training_args.seed)  # the initial weights depend on the seed too
    model, processor = build_clock_reader(args, splits)
    if model.config.head == "angles" and not splits.has_columns(ANGLE_COLUMNS):
        raise ValueError(
            f"the 'angles' head needs the columns {list(ANGLE_COLUMNS)}, which {splits.source} lacks (only clocks "
            "made by tinyvision.data.clocks carry them); pick --head hybrid, multihead, periodic, classification "
            "or regression"
        )
    run_config = {"task": "clock-reading", "clock_args": asdict(args), **data_record(splits),
                  "model_config": model.config.to_dict()}
    return TaskRun(ClockStep(model, processor, augment=args.augment), splits, run_config, training_args)


def train_clock(args: ClockArguments, training_args: TrainingArguments) -> TrainResult:
    """Load or generate clocks, build the reader, train it with the engine, save (and push) it."""
    return train_run(build_timed(build, args, training_args))
