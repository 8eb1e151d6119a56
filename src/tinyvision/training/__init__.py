"""The one Accelerate training engine shared by every task."""

from .engine import Engine, TrainingArguments, TrainingDivergedError, TrainResult, list_checkpoints
from .steps import SupervisedStep, TrainStep
from .tracking import JSONLTracker, write_json_atomic

__all__ = [
    "Engine",
    "JSONLTracker",
    "SupervisedStep",
    "TrainResult",
    "TrainStep",
    "TrainingArguments",
    "TrainingDivergedError",
    "list_checkpoints",
    "write_json_atomic",
]
