"""What every task shares: the shape of a built run, config overrides, and training a built run.

Each task module exposes ``build(task_args, training_args, ...) -> TaskRun``: the resolved training arguments
(explicit > recipe > family defaults, see :mod:`tinyvision.recipes`), the step (model, processor, what to
measure), the data splits and the ``run_config`` the run records. ``scripts/train_*.py`` and the experiments
runner both call ``build`` and then :func:`train_run`, so a study's unit and the script's run are the same run.
"""

from __future__ import annotations

import inspect
import json
import time
from typing import NamedTuple

from ..data import Splits
from ..training import Engine, TrainingArguments, TrainResult, TrainStep


class TaskRun(NamedTuple):
    """A run ready to train: ``Engine(step, training_args, splits.train, splits.validation, test=splits.test)``."""

    step: TrainStep
    splits: Splits
    run_config: dict
    training_args: TrainingArguments
    data_seconds: float = 0.0  # building it: loading, rendering, deduplicating (set by build_timed)


def parse_config_overrides(text: str | None) -> dict:
    """``--config_overrides`` (a JSON object) → dict, with a clear error for anything else."""
    if not text:
        return {}
    try:
        overrides = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--config_overrides must be a JSON object: {error}") from error
    if not isinstance(overrides, dict):
        raise ValueError(f"--config_overrides must be a JSON object, got {type(overrides).__name__}")
    return overrides


def check_config_fields(config_class, overrides: dict) -> None:
    """transformers configs keep unknown keyword arguments silently; a typo must not train the default."""
    known = set(inspect.signature(config_class.__init__).parameters) | {"id2label", "label2id", "num_labels"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(
            f"unknown {config_class.__name__} field(s) {unknown}; valid fields: {sorted(known - {'self', 'kwargs'})}"
        )


def data_record(splits: Splits) -> dict:
    """What the run records about its data (``run_config.json``): where it came from and how to make it again."""
    return {"data_source": splits.source, **splits.provenance}


def make_engine(run: TaskRun) -> Engine:
    splits = run.splits
    return Engine(run.step, run.training_args, splits.train, splits.validation, test_dataset=splits.test,
                  run_config=run.run_config)


def build_timed(build, *args, **kwargs) -> TaskRun:
    """``build(*args, **kwargs)`` with the seconds it took (the data: loading or rendering) in the run."""
    start = time.perf_counter()
    run = build(*args, **kwargs)
    return run._replace(data_seconds=time.perf_counter() - start)


def train_run(run: TaskRun) -> TrainResult:
    """Train a built run with the one engine (which saves it, and publishes it with ``--push_to_hub``); the
    engine adds the build's seconds to its account of where the run's time went."""
    engine = make_engine(run)
    engine.timings["data"] += run.data_seconds
    return engine.train()
