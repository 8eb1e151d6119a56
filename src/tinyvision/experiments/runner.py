"""Expand the studies into (variant, seed) units, run them resumably and shardably, merge folders.

Each unit lives in ``<output_dir>/units/<key>/`` and is finished when its ``result.json`` exists.
The key hashes everything that determines the run (family, overrides, preset, dataset, profile,
seed), so a variant listed in several axes (the default model, say) trains once per seed.
A unit is built by its task's ``build`` (the function the training scripts call) and trained on the one engine.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .definitions import (
    ALL_EXPERIMENTS,
    FULL_TRAIN_EXPERIMENTS,
    GENERATED,
    PROFILES,
    TASKS,
    Profile,
    Task,
    Variant,
    axes_for,
    task_of,
)

FAMILIES = tuple(family for task in TASKS.values() for family in task.families)
RESULT_FILE = "result.json"


@dataclass(frozen=True)
class Unit:
    experiment: str
    family: str
    axis: str
    variant: Variant
    seed: int
    profile: str

    @property
    def task(self) -> Task:
        return task_of(self.experiment)

    @property
    def full_train(self) -> bool:
        return self.experiment in FULL_TRAIN_EXPERIMENTS

    def resolved_training(self) -> dict:
        """The training hyperparameters the run will use (so 'sgd 0.01' and 'default' are one run)."""
        from ..recipes import TRAINING_DEFAULTS, get_recipe

        if self.task.name == "clock":
            return {**TRAINING_DEFAULTS["clock_reader"], **self.variant.training}
        preset = get_recipe("classifier", self.variant.preset).training if self.variant.preset else {}
        return {**TRAINING_DEFAULTS[self.family], **preset, **self.variant.training}

    @property
    def key(self) -> str:
        """Same run ⇒ same key, whichever experiment or axis lists it."""
        identity = {
            "family": self.family, "config": self.variant.config, "training": self.resolved_training(),
            "preset": self.variant.preset, "dataset": self.variant.dataset, "seed": self.seed,
            "profile": self.profile, "full_train": self.full_train,
        }
        if self.variant.data:  # only when set, so that earlier studies keep their keys
            identity["data"] = self.variant.data
        digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
        return f"{self.family}-{digest}-s{self.seed}"


def expand(experiments, families, seeds: int, profile: str) -> list[Unit]:
    """All units of the requested experiments, in a stable order.

    ``"all"`` is the Task 1 study (``ALL_EXPERIMENTS``); ``families`` ``"both"`` means each experiment's own
    families (mlp and cnn, or clock), and an explicit list keeps the families each experiment trains.
    """
    experiments = list(ALL_EXPERIMENTS) if experiments in ("all", ["all"]) else list(experiments)
    families = list(FAMILIES) if families in ("both", ["both"]) else list(families)
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose from {sorted(PROFILES)}")
    for family in families:
        if family not in FAMILIES:
            raise ValueError(f"unknown model {family!r}; choose {', '.join(FAMILIES)} or both")
    units = []
    for experiment in experiments:
        own = task_of(experiment).families
        chosen = [family for family in families if family in own]
        if not chosen:
            raise ValueError(f"experiment {experiment!r} trains {list(own)}; --model {' '.join(families)} "
                             "names none of them")
        for family in chosen:
            for axis in axes_for(experiment, family):
                for variant in axis.variants:
                    units.extend(Unit(experiment, family, axis.name, variant, seed, profile) for seed in range(seeds))
    return units


def unique_runs(units: list[Unit]) -> list[Unit]:
    """One unit per key (the first that names it)."""
    seen, runs = set(), []
    for unit in units:
        if unit.key not in seen:
            seen.add(unit.key)
            runs.append(unit)
    return runs


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 1
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError as error:
        raise ValueError(f"--shard must look like i/n (e.g. 0/2), got {text!r}") from error
    if not 0 <= index < count:
        raise ValueError(f"--shard {text}: need 0 <= i < n")
    return index, count


def shard(runs: list[Unit], index: int, count: int) -> list[Unit]:
    return [run for position, run in enumerate(runs) if position % count == index]


def is_done(output_dir: Path, unit: Unit) -> bool:
    return (output_dir / "units" / unit.key / RESULT_FILE).exists()


def _dataset_path(data_dir: str, dataset: str) -> str:
    return str(Path(data_dir) / dataset) if (Path(data_dir) / dataset).exists() else dataset


def _unit_training_args(unit: Unit, run_dir: Path, disable_tqdm: bool, epochs: int | None):
    import torch

    from ..training import TrainingArguments

    # The study runs one process per core (shards side by side): each unit keeps the threads its process was
    # given (run_experiments.py --num_threads, 1 by default) instead of the engine's share of the machine.
    return TrainingArguments(output_dir=str(run_dir), seed=unit.seed, num_train_epochs=epochs,
                             checkpointing_steps="epoch", checkpoints_total_limit=1, resume_from_checkpoint="latest",
                             disable_tqdm=disable_tqdm, num_threads=torch.get_num_threads(),
                             **unit.variant.training)


def classifier_run(unit: Unit, data_dir: str, run_dir: Path, disable_tqdm: bool = True):
    """What ``train_classifier.py`` runs for this unit: its arguments, sized by the study profile."""
    from ..tasks.classification import ClassifierArguments, build

    if unit.variant.data:  # the classifier study sizes its data from the profile, not from the variant
        raise ValueError(f"variant {unit.variant.name!r}: data overrides {unit.variant.data} apply to the clock "
                         f"study only")
    profile: Profile = PROFILES[unit.profile]
    family = unit.family
    limit = (lambda table: None if table is None else table[family])
    if unit.full_train:  # all of train, evaluated on test after every epoch (the seed's Figure 7)
        sizes = dict(validation_split=0.0, max_train_samples=profile.best_max_train_samples, eval_split="test")
        epochs = profile.best_epochs[family]
    else:
        sizes = dict(max_train_samples=limit(profile.max_train_samples),
                     max_eval_samples=limit(profile.max_eval_samples))
        epochs = profile.epochs[family]
    classifier_args = ClassifierArguments(dataset_name=_dataset_path(data_dir, unit.variant.dataset), model=family,
                                          preset=unit.variant.preset, config_overrides=json.dumps(unit.variant.config),
                                          **sizes)
    return build(classifier_args, _unit_training_args(unit, run_dir, disable_tqdm, epochs))


# Every clock unit of a study trains on the same clocks (only the seed of the weights and the batch order
# changes), so a process renders them once: (data fields of ClockArguments) → Splits.
_CLOCK_DATA_CACHE: dict[tuple, object] = {}


def _clock_data(args):
    from ..tasks.clock import load_reader_data

    key = (args.dataset_name, args.image_size, args.num_train_examples, args.num_eval_examples,
           args.num_test_examples, args.data_seed, args.max_rotation)
    if key not in _CLOCK_DATA_CACHE:
        _CLOCK_DATA_CACHE[key] = load_reader_data(args)
    return _CLOCK_DATA_CACHE[key]


def clock_run(unit: Unit, data_dir: str, run_dir: Path, disable_tqdm: bool = True):
    """What ``train_clock.py --model reader`` runs for this unit: the variant's head and config, the profile's
    sizes (the clocks rendered once per process for every unit that shares them)."""
    from ..tasks.clock import ClockArguments, build

    profile: Profile = PROFILES[unit.profile]
    config = dict(unit.variant.config)
    dataset = None if unit.variant.dataset == GENERATED else _dataset_path(data_dir, unit.variant.dataset)
    clock_args = ClockArguments(model="reader", head=config.pop("head", "angles"),
                                interval_minutes=config.pop("interval_minutes", 30), dataset_name=dataset,
                                num_proc=1,  # the study runs one process per core (shards in parallel)
                                config_overrides=json.dumps(config), **{**profile.clock, **unit.variant.data})
    training_args = _unit_training_args(unit, run_dir, disable_tqdm, profile.epochs.get(unit.family))
    return build(clock_args, training_args, splits=_clock_data(clock_args))


RUN_BUILDERS = {"classification": classifier_run, "clock": clock_run}


def run_unit(unit: Unit, data_dir: str, output_dir: Path, *, disable_tqdm: bool = True) -> dict:
    """Train one unit with the engine and write its result.json (atomically, last)."""
    from ..tasks.common import make_engine
    from ..training import write_json_atomic

    unit_dir = output_dir / "units" / unit.key
    run_dir = unit_dir / "run"
    run = RUN_BUILDERS[unit.task.name](unit, data_dir, run_dir, disable_tqdm)
    engine = make_engine(run)
    num_train = len(run.splits.train)
    num_eval = len(run.splits.validation) if run.splits.validation is not None else 0
    start = time.perf_counter()
    result = engine.train()
    result_payload = {
        "unit": {"experiment": unit.experiment, "family": unit.family, "axis": unit.axis, "seed": unit.seed,
                 "profile": unit.profile, "variant": asdict(unit.variant), "key": unit.key},
        "history": result.history,
        "metrics": result.metrics,
        "wall_time_s": time.perf_counter() - start,
        "num_train": num_train,
        "num_eval": num_eval,
        "training_args": asdict(engine.args),
    }
    if engine.accelerator.is_main_process:
        for checkpoint in run_dir.glob("checkpoint-*"):
            shutil.rmtree(checkpoint, ignore_errors=True)
        if not unit.full_train:  # sweep units keep their numbers, not their weights
            for weights in run_dir.glob("*.safetensors"):
                weights.unlink()
        write_json_atomic(unit_dir / RESULT_FILE, result_payload)
    return result_payload


def run_study(units: list[Unit], data_dir: str, output_dir: str | Path, *, shard_spec: str | None = None,
              show_progress: bool = True) -> list[Unit]:
    """Run this shard's unfinished units (skipping finished ones); returns the units it ran."""
    output_dir = Path(output_dir)
    index, count = parse_shard(shard_spec)
    runs = shard(unique_runs(units), index, count)
    todo = [run for run in runs if not is_done(output_dir, run)]
    progress = tqdm(total=len(runs), initial=len(runs) - len(todo), desc=f"units (shard {index}/{count})",
                    unit="unit", disable=not show_progress)
    ran = []
    for unit in todo:
        if is_done(output_dir, unit):  # another worker on the same folder finished it meanwhile
            progress.update(1)
            continue
        progress.set_postfix_str(f"{unit.family} {unit.experiment} · {unit.variant.name} · seed {unit.seed}")
        run_unit(unit, data_dir, output_dir)
        ran.append(unit)
        progress.update(1)
    progress.close()
    return ran


def merge(sources, output_dir: str | Path) -> int:
    """Copy finished units from other study folders (other shards or machines) into ``output_dir``."""
    target = Path(output_dir) / "units"
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for source in sources:
        for result in sorted(Path(source).glob(f"units/*/{RESULT_FILE}")):
            destination = target / result.parent.name
            if (destination / RESULT_FILE).exists():
                continue
            shutil.copytree(result.parent, destination, dirs_exist_ok=True)
            copied += 1
    return copied


def load_results(output_dir: str | Path) -> dict[str, dict]:
    """key → result payload for every finished unit."""
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted(Path(output_dir).glob(f"units/*/{RESULT_FILE}"))
    }
