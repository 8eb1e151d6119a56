"""Task 1: train an MLP or CNN image classifier (Fashion-MNIST, CIFAR-10 or any image/label set)."""

from __future__ import annotations

import inspect
import json
from dataclasses import asdict, dataclass, field, replace

import torch
from accelerate.utils import set_seed
from torch.nn import functional as F

from ..data import ImageClassificationData, load_image_classification
from ..data.augment import augment as augment_images
from ..models import CNNConfig, CNNForImageClassification, MLPConfig, MLPForImageClassification
from ..models import TinyVisionImageProcessor
from ..presets import MODEL_DEFAULTS, get_preset
from ..training import Engine, SupervisedStep, TrainingArguments, TrainResult

MODEL_FAMILIES = {"mlp": (MLPConfig, MLPForImageClassification), "cnn": (CNNConfig, CNNForImageClassification)}
DEFAULT_DATASET = "zalando-datasets/fashion_mnist"


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
    augment: str | None = field(
        default=None, metadata={"help": "Training augmentation: none, crop or crop_flip (default: the preset's)."}
    )
    model: str | None = field(default=None, metadata={"help": "mlp or cnn (default: the preset's, else mlp)."})
    preset: str | None = field(default=None, metadata={"help": "mlp1, mlp2 or cnn1: model and training together."})
    config_overrides: str | None = field(
        default=None,
        metadata={"help": 'Model config fields as JSON, e.g. \'{"activation": "tanh", "hidden_sizes": [256]}\'.'},
    )
    push_to_hub: bool = field(default=False, metadata={"help": "Upload the trained model to the Hub."})
    hub_model_id: str | None = field(default=None, metadata={"help": "Hub repo id for --push_to_hub."})
    hub_private_repo: bool = field(default=False, metadata={"help": "Create the Hub repo as private."})


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


def parse_config_overrides(text: str | None) -> dict:
    if not text:
        return {}
    try:
        overrides = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--config_overrides must be a JSON object: {error}") from error
    if not isinstance(overrides, dict):
        raise ValueError(f"--config_overrides must be a JSON object, got {type(overrides).__name__}")
    return overrides


def resolve_recipe(args: ClassifierArguments, training_args: TrainingArguments):
    """(family, config overrides, training args, classifier args): explicit > preset > model defaults."""
    preset = get_preset(args.preset) if args.preset else None
    family = args.model or (preset.model if preset else "mlp")
    if family not in MODEL_FAMILIES:
        raise ValueError(f"--model must be one of {sorted(MODEL_FAMILIES)}, got {family!r}")
    if preset and preset.model != family:
        raise ValueError(f"preset {args.preset!r} is a {preset.model} recipe but --model is {family!r}")
    config_overrides = {**(preset.config if preset else {}), **parse_config_overrides(args.config_overrides)}
    if args.augment is None and preset is not None:
        args = replace(args, augment=preset.data.get("augment"))
    training_args = training_args.with_defaults(**(preset.training if preset else {})).with_defaults(
        **MODEL_DEFAULTS[family]
    )
    return family, config_overrides, training_args, args


def check_config_fields(config_class, overrides: dict) -> None:
    """transformers configs keep unknown keyword arguments silently; a typo must not train the default."""
    known = set(inspect.signature(config_class.__init__).parameters) | {"id2label", "label2id", "num_labels"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(
            f"unknown {config_class.__name__} field(s) {unknown}; valid fields: {sorted(known - {'self', 'kwargs'})}"
        )


def build_classifier(family: str, data: ImageClassificationData, config_overrides: dict):
    config_class, model_class = MODEL_FAMILIES[family]
    check_config_fields(config_class, config_overrides)
    config = config_class(
        **{
            "image_size": data.image_size,
            "num_channels": data.num_channels,
            "id2label": data.id2label,
            **config_overrides,
        }
    )
    processor = TinyVisionImageProcessor(
        size={"height": config.image_size, "width": config.image_size},
        num_channels=config.num_channels,
        image_mean=data.image_mean,
        image_std=data.image_std,
    )
    return model_class(config), processor


def train_classifier(args: ClassifierArguments, training_args: TrainingArguments) -> TrainResult:
    """Load data, build the model from the recipe, train it with the engine, save (and push) it."""
    family, config_overrides, training_args, args = resolve_recipe(args, training_args)
    data = load_image_classification(
        args.dataset_name,
        validation_split=args.validation_split,
        validation_seed=args.validation_seed,
        image_column=args.image_column,
        label_column=args.label_column,
        max_train_samples=args.max_train_samples,
        max_eval_samples=args.max_eval_samples,
    )
    set_seed(training_args.seed)  # the initial weights depend on the seed too
    model, processor = build_classifier(family, data, config_overrides)
    engine = Engine(
        ClassificationStep(model, processor, augment=args.augment, max_grad_norm=training_args.max_grad_norm),
        training_args,
        data.train,
        data.validation,
        test_dataset=data.test,
        run_config={
            "task": "image-classification",
            "model_family": family,
            "classifier_args": asdict(args),
            "model_config": model.config.to_dict(),
        },
    )
    result = engine.train()
    if args.push_to_hub and engine.accelerator.is_main_process:
        from ..hub import push_run_to_hub

        if not args.hub_model_id:
            raise ValueError("--push_to_hub needs --hub_model_id")
        push_run_to_hub(training_args.output_dir, args.hub_model_id, private=args.hub_private_repo)
    return result


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
