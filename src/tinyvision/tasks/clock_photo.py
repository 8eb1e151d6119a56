"""Task 2 in the wild: train the two-stage :class:`~tinyvision.models.ClockPhotoReader` on photo-like scenes.

``accelerate launch scripts/train_clock.py`` (``--model photo``, the default) renders letterboxed clock scenes
with :mod:`tinyvision.data.clock_scenes` (train, validation and test from different seeds, so the test scenes are
always fresh), over photographic backgrounds where ``--backgrounds`` finds them, and trains the dial detector
and the reader together: the detector on the dial's centre and ellipse, the reader on frontal crops of the true
dial (jittered). Validation and test read every scene through the whole pipeline (the detector's crop).

Default recipe: 40,000 scenes at 256×256, 5 epochs, batch 32, AdamW (weight decay 1e-4) with a one-cycle
schedule peaking at 3e-3, gradients clipped at 2; 5 % of the scenes hold no clock, and validation and test each
also hold 500 more scenes without one (``--num_clock_free_examples``). After each epoch the model's
``detection_threshold`` is calibrated on the validation scenes without a clock (at most 5 % of them flagged), so
the saved model says "no clock" at a measured false-alarm rate.
"""

from __future__ import annotations

from dataclasses import asdict

import torch
from accelerate.utils import set_seed
from torch.utils.data import SequentialSampler

from ..data import Splits, image_processor_for
from ..data.clock_data import SCENE_COLUMNS, load_scene_data
from ..metrics import clock_error_summary, common_sense_error
from ..models import ClockPhotoReader, ClockPhotoReaderConfig, TinyVisionImageProcessor
from ..models.configuration_clock_photo import DEFAULT_READER
from ..models.modeling_clock import split_dial_minutes
from ..models.modeling_clock_photo import dial_geometry, shape_to_params
from ..recipes import resolve_training
from ..training import TrainingArguments
from ..training.engine import batch_loader
from .clock import ClockStep, _unwrap
from .common import TaskRun, check_config_fields, data_record, parse_config_overrides

# After every epoch the detection threshold is set so that this share of the validation scenes without a clock
# is flagged as holding one (see ``calibrated_threshold``).
FALSE_ALARM_RATE = 0.05
# The reader's mark-vote weights (``ClockReaderConfig.mark_vote_weight``) tried on the validation scenes after the
# last epoch of a reader with ``mark_votes``; the model keeps the one that reads the most of them within 5 minutes.
MARK_VOTE_WEIGHTS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


class ClockPhotoStep(ClockStep):
    """Normalises uint8 scenes (no quarter turns: the scenes carry their orientation prior); reports the
    common-sense error of the whole pipeline and how well it finds dials. Saves the processor like ClockStep."""

    def __init__(self, model, processor: TinyVisionImageProcessor, **kwargs):
        super().__init__(model, processor, augment=False, **kwargs)

    def model_inputs(self, batch, training):
        inputs = {"pixel_values": self.processor.normalize_uint8(batch["pixel_values"])}
        inputs.update({name: batch[name] for name in SCENE_COLUMNS if name in batch})
        return inputs

    def train_metrics(self, outputs, inputs):
        has = inputs["has_clock"]
        errors = common_sense_error(outputs.hour, outputs.minute, inputs["hour"], inputs["minute"]).float()
        metrics = {"cse": errors[has].mean() if has.any() else errors.new_zeros(()),
                   "detector_loss": outputs.detector_loss.detach()}
        if outputs.rectifier_loss is not None:
            metrics["rectifier_loss"] = outputs.rectifier_loss.detach()
        return metrics

    def eval_step(self, batch):
        inputs = self.model_inputs(batch, training=False)
        outputs = self.model(**inputs)
        has = inputs["has_clock"]
        centre, shape = dial_geometry(torch.where(has[:, None, None], inputs["dial_homography"],
                                                  torch.eye(3, device=has.device).expand(len(has), 3, 3)))
        radius = shape.det().abs().sqrt()
        ellipse = shape_to_params(outputs.dial_shape)[:, 1:] - shape_to_params(shape)[:, 1:]
        return {
            "cse": common_sense_error(outputs.hour, outputs.minute, inputs["hour"], inputs["minute"]).float(),
            "hour_correct": (outputs.hour == inputs["hour"].remainder(12)).float(),
            "centre_error": ((outputs.dial_center - centre).norm(dim=-1) / radius).float(),
            "ellipse_error": ellipse.norm(dim=-1).float(),
            "confidence": outputs.confidence.float(),
            "has_clock": has.float(),
            "loss": outputs.loss.detach().float().expand(len(has)),
        }

    def compute_metrics(self, gathered):
        has = gathered["has_clock"].bool()
        metrics = {"loss": gathered["loss"].float().mean().item()}
        confidence = gathered["confidence"]
        found = confidence >= _unwrap(self.model).config.detection_threshold
        if has.any():
            errors = gathered["cse"][has]
            metrics.update(clock_error_summary(errors))
            metrics["within_1_min"] = (errors <= 1).float().mean().item()
            metrics["within_5_min"] = (errors <= 5).float().mean().item()
            metrics["hour_accuracy"] = gathered["hour_correct"][has].mean().item()
            metrics["centre_error_radii"] = gathered["centre_error"][has].median().item()
            metrics["ellipse_error"] = gathered["ellipse_error"][has].median().item()
            metrics["found_rate"] = found[has].float().mean().item()
        if (~has).any():
            metrics["false_alarm_rate"] = found[~has].float().mean().item()
            threshold = calibrated_threshold(confidence[~has])
            metrics["calibrated_threshold"] = threshold
            if has.any():
                metrics["found_rate_at_calibrated"] = (confidence[has] >= threshold).float().mean().item()
        return metrics

    def on_epoch_end(self, epoch: int, engine) -> None:
        """The model says it found a clock above the threshold calibrated on this epoch's validation scenes.
        After the last epoch, a reader with ``mark_votes`` also gets the mark-vote weight that reads the most
        validation scenes within 5 minutes (each tried weight's rate goes into the epoch's record)."""
        model = _unwrap(self.model)
        threshold = engine.history[-1].get("eval_calibrated_threshold")
        if threshold is not None:
            model.config.detection_threshold = round(float(threshold), 4)
        if epoch + 1 == engine.num_epochs and model.reader.config.mark_votes and engine.eval_dataset is not None:
            dataset = engine.eval_dataset
            loader = batch_loader(dataset, engine.args.per_device_eval_batch_size,
                                  SequentialSampler(range(len(dataset))))
            errors = mark_vote_weight_errors(model, self.processor, loader)
            if errors:
                weight = choose_mark_vote_weight(errors)
                set_mark_vote_weight(model, weight)
                engine.history[-1]["eval_mark_vote_weight"] = weight
                for tried, values in errors.items():
                    engine.history[-1][f"eval_within_5_min_at_mark_vote_weight_{tried:g}"] = \
                        (values <= 5).float().mean().item()


@torch.no_grad()
def pooled_readings(model: ClockPhotoReader, processor: TinyVisionImageProcessor, batches, decodings: dict
                    ) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Each scene with a clock in ``batches`` (dicts of scene columns) found and read once as inference does, its
    pooled votes decoded with every entry of ``decodings`` (key → keyword overrides of ``ClockReader.decode_votes``,
    e.g. ``{"mark_vote_weight": 0.1}``): (key → the readings' (hour, minute), the true hours, the true minutes), all
    on the CPU. The readings are empty when no scene holds a clock."""
    model.eval()
    device = next(model.parameters()).device
    readings: dict = {key: [] for key in decodings}
    hours, minutes = [], []
    for batch in batches:
        has = batch["has_clock"].bool()
        if not has.any():
            continue
        pixels = processor.normalize_uint8(batch["pixel_values"][has].to(device))
        _, centre, shape = model.locate(pixels)
        pooled = model.pooled_votes(pixels, centre, shape)
        for key, overrides in decodings.items():
            readings[key].append(model.reader.decode_votes(*pooled, **overrides)[1].cpu())
        hours.append(batch["hour"][has].cpu())
        minutes.append(batch["minute"][has].cpu())
    if not hours:
        return {}, torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    return ({key: split_dial_minutes(torch.cat(values)) for key, values in readings.items()},
            torch.cat(hours), torch.cat(minutes))


def mark_vote_weight_errors(model: ClockPhotoReader, processor: TinyVisionImageProcessor, batches,
                            weights=MARK_VOTE_WEIGHTS) -> dict[float, torch.Tensor]:
    """Per mark-vote weight, the common-sense errors of the scenes with a clock in ``batches`` (dicts of scene
    columns): each scene's dial is found and read as inference does (once), and its pooled votes decoded with
    every weight (:func:`pooled_readings`). Empty when no scene holds a clock."""
    readings, hours, minutes = pooled_readings(
        model, processor, batches, {float(weight): {"mark_vote_weight": float(weight)} for weight in weights})
    return {weight: common_sense_error(hour, minute, hours, minutes).float()
            for weight, (hour, minute) in readings.items()}


def choose_mark_vote_weight(errors: dict[float, torch.Tensor]) -> float:
    """The weight whose errors are most often within 5 minutes (then the lower mean, then the smaller weight)."""
    return min(errors, key=lambda w: (-(errors[w] <= 5).float().mean().item(), errors[w].mean().item(), w))


def set_mark_vote_weight(model: ClockPhotoReader, weight: float) -> None:
    """Read with ``weight`` from now on, and save it with the model (the reader stage's config and its dict)."""
    model.reader.config.mark_vote_weight = float(weight)
    model.config.reader["mark_vote_weight"] = float(weight)


def calibrated_threshold(empty_confidence: torch.Tensor, false_alarms: float = FALSE_ALARM_RATE) -> float:
    """The detection threshold that at most ``false_alarms`` of scenes without a clock exceed (within the
    confidence range [0.15, 0.85], so that a handful of scenes cannot push it to an extreme)."""
    quantile = torch.quantile(empty_confidence.float(), 1.0 - false_alarms).item()
    return float(min(max(quantile, 0.15), 0.85))


def build_clock_photo_reader(args, splits: Splits) -> tuple[ClockPhotoReader, TinyVisionImageProcessor]:
    """The two-stage reader and its letterboxing processor (``--config_overrides`` win over the defaults;
    ``{"reader": {...}}`` sets the reader stage's fields)."""
    overrides = parse_config_overrides(args.config_overrides)
    check_config_fields(ClockPhotoReaderConfig, overrides)
    reader = {**DEFAULT_READER, **overrides.pop("reader", {})}
    config = ClockPhotoReaderConfig(**{"image_size": args.image_size, "reader": reader, **overrides})
    if config.image_size != args.image_size:
        raise ValueError("config_overrides sets image_size; use --image_size instead")
    processor = image_processor_for(image_size=config.image_size, num_channels=config.num_channels,
                                    image_mean=splits.image_mean, image_std=splits.image_std, letterbox=True)
    return ClockPhotoReader(config), processor


def load_photo_data(args) -> Splits:
    """The scenes ``args`` (a ``ClockArguments`` with ``model='photo'``) asks for."""
    return load_scene_data(image_size=args.image_size, num_train_examples=args.num_train_examples,
                           num_eval_examples=args.num_eval_examples, num_test_examples=args.num_test_examples,
                           data_seed=args.data_seed, orientation=args.orientation, backgrounds=args.backgrounds,
                           empty_fraction=args.empty_fraction,
                           num_clock_free_examples=args.num_clock_free_examples, num_proc=args.num_proc)


def build_photo(args, training_args: TrainingArguments, *, splits: Splits | None = None) -> TaskRun:
    """The photo reader's run: scenes, the two-stage model, its step; the recipe of ``clock_photo_reader``."""
    training_args = resolve_training(training_args, "clock_photo_reader")
    splits = splits if splits is not None else load_photo_data(args)
    set_seed(training_args.seed)
    model, processor = build_clock_photo_reader(args, splits)
    run_config = {"task": "clock-reading", "clock_args": asdict(args), **data_record(splits),
                  "model_config": model.config.to_dict()}
    return TaskRun(ClockPhotoStep(model, processor), splits, run_config, training_args)
