"""Task 1: train an MLP or CNN image classifier (Fashion-MNIST, CIFAR-10 or any image/label set).

``build(args, training_args)`` assembles the run (recipe, data, model, processor, step); ``train_classifier``
trains it. Recipes (``--preset``) and defaults live in :mod:`tinyvision.recipes`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import torch
from accelerate.utils import set_seed
from torch.nn import functional as F

from ..data import Splits, image_processor_for, load_image_classification
from ..data.augment import augment as augment_images
from ..models import (
    CNNConfig,
    CNNForImageClassification,
    MLPConfig,
    MLPForImageClassification,
    TinyVisionImageProcessor,
)
from ..recipes import get_recipe, resolve_training
from ..training import SupervisedStep, TrainingArguments, TrainResult
from .common import TaskRun, build_timed, check_config_fields, data_record, parse_config_overrides, train_run

MODEL_FAMILIES = {"mlp": (MLPConfig, MLPForImageClassification), "cnn": (CNNConfig, CNNForImageClassification)}
DEFAULT_DATASET = "zalando-datasets/fashion_mnist"
EVAL_SPLITS = ("validation", "test")


@dataclass
class ClassifierArguments:
    """What to train on and what to train (data → model); the engine's arguments are separate."""

    dataset_name: str = field(
        default=DEFAULT_DATASET,
        metadata={"help": "Hub id or local folder (parquet, save_to_disk), e.g. ../shared/data/fashion_mnist."},
    )
    image_column: str | None = field(default=None, metadata={"help": "Image column (default: image or img)."})
    label_column: str = field(default="label", metadata={"help": "Label column."})
    validation_split: float = field(default=0.1, metadata={"help": "Fraction of train held out for validation."})
    validation_seed: int = field(default=0, metadata={"help": "Seed of the train/validation split (fixed)."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Train on at most this many examples."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Evaluate on at most this many examples."})
    eval_split: str = field(
        default="validation",
        metadata={"help": "Split evaluated after every epoch: validation, or test (the seed's Figure 7 plots test "
                          "accuracy per epoch of the models trained on all of train)."},
    )
    augment: str | None = field(
        default=None, metadata={"help": "Training augmentation: none, crop or crop_flip (default: the preset's)."}
    )
    model: str | None = field(default=None, metadata={"help": "mlp or cnn (default: the preset's, else mlp)."})
    preset: str | None = field(
        default=None, metadata={"help": "A recipe of tinyvision.recipes: mlp1, mlp2, cnn1 or augmented (model, "
                                        "training and augmentation together)."})
    config_overrides: str | None = field(
        default=None,
        metadata={"help": 'Model config fields as JSON, e.g. \'{"activation": "tanh", "hidden_sizes": [256]}\'.'},
    )

    def __post_init__(self):
        if self.eval_split not in EVAL_SPLITS:
            raise ValueError(f"--eval_split must be one of {list(EVAL_SPLITS)}, got {self.eval_split!r}")


class ClassificationStep(SupervisedStep):
    """Normalises uint8 batches with the processor's constants; measures loss and accuracy."""

    def __init__(self, model, processor: TinyVisionImageProcessor, *, augment: str | None = None, **kwargs):
        super().__init__(model, **kwargs)
        self.processor = processor
        self.augment = augment
        augment_images(torch.zeros(1, 1, 4, 4, dtype=torch.uint8), augment)  # fail early on a bad name

    def model_inputs(self, batch, training):
        images = batch["pixel_values"]
        if training:
            images = augment_images(images, self.augment)
        return {"pixel_values": self.processor.normalize_uint8(images), "labels": batch["labels"]}

    def train_metrics(self, outputs, inputs):
        return {"accuracy": (outputs.logits.argmax(-1) == inputs["labels"]).float().mean()}

    def eval_step(self, batch):
        inputs = self.model_inputs(batch, training=False)
        logits = self.model(pixel_values=inputs["pixel_values"]).logits.float()
        return {
            "loss": F.cross_entropy(logits, inputs["labels"], reduction="none"),
            "accuracy": (logits.argmax(-1) == inputs["labels"]).float(),
        }

    def save_pretrained(self, output_dir, accelerator):
        super().save_pretrained(output_dir, accelerator)
        if accelerator.is_main_process:
            self.processor.save_pretrained(output_dir)


def resolve_recipe(args: ClassifierArguments, training_args: TrainingArguments):
    """(family, config overrides, training args, classifier args): explicit > preset > the family's defaults."""
    preset = get_recipe("classifier", args.preset) if args.preset else None
    family = args.model or (preset.model if preset else "mlp")
    if family not in MODEL_FAMILIES:
        raise ValueError(f"--model must be one of {sorted(MODEL_FAMILIES)}, got {family!r}")
    if preset and preset.model != family:
        raise ValueError(f"preset {args.preset!r} is a {preset.model} recipe but --model is {family!r}")
    config_overrides = {**(preset.config if preset else {}), **parse_config_overrides(args.config_overrides)}
    check_config_fields(MODEL_FAMILIES[family][0], config_overrides)
    if args.augment is None and preset is not None:
        args = replace(args, augment=preset.data.get("augment"))
    return family, config_overrides, resolve_training(training_args, family, preset), args


def build_classifier(family: str, splits: Splits, config_overrides: dict):
    """The model and its processor for ``splits`` (size, channels, labels and normalisation from the data)."""
    config_class, model_class = MODEL_FAMILIES[family]
    check_config_fields(config_class, config_overrides)
    config = config_class(**{"image_size": splits.image_size, "num_channels": splits.num_channels,
                             "id2label": splits.id2label, **config_overrides})
    processor = image_processor_for(image_size=config.image_size, num_channels=config.num_channels,
                                    image_mean=splits.image_mean, image_std=splits.image_std)
    return model_class(config), processor


def build(args: ClassifierArguments, training_args: TrainingArguments, *, splits: Splits | None = None) -> TaskRun:
    """The run ``args`` asks for: recipe, data (``splits`` if given, e.g. already loaded), model, step."""
    family, config_overrides, training_args, args = resolve_recipe(args, training_args)
    if splits is None:
        splits = load_image_classification(
            args.dataset_name,
            validation_split=args.validation_split,
            validation_seed=args.validation_seed,
            image_column=args.image_column,
            label_column=args.label_column,
            max_train_samples=args.max_train_samples,
            max_eval_samples=args.max_eval_samples,
        )
    if args.eval_split == "test":
        if splits.test is None:
            raise ValueError(f"--eval_split test: {args.dataset_name} has no test split")
        splits = replace(splits, validation=splits.test)
    set_seed(training_args.seed)  # the initial weights depend on the seed too
    model, processor = build_classifier(family, splits, config_overrides)
    run_config = {
        "task": "image-classification",
        "model_family": family,
        "classifier_args": asdict(args),
        **data_record(splits),
        "model_config": model.config.to_dict(),
    }
    return TaskRun(ClassificationStep(model, processor, augment=args.augment), splits, run_config, training_args)


def train_classifier(args: ClassifierArguments, training_args: TrainingArguments) -> TrainResult:
    """Load data, build the model from the recipe, train it with the engine, save (and push) it."""
    return train_run(build_timed(build, args, training_args))


def evaluate_accuracy(model, processor, dataset, batch_size: int = 1000) -> float:
    """Accuracy of a trained model on a :class:`TensorDataset` (no engine needed)."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = dataset[list(range(start, min(start + batch_size, len(dataset))))]
            logits = model(pixel_values=processor.normalize_uint8(batch["pixel_values"])).logits
            correct += (logits.argmax(-1) == batch["labels"]).sum().item()
    return correct / len(dataset)
