"""The studies as data: experiments → axes → named variants, each one change from the default.

A variant is a name plus overrides (model config fields, training arguments, a preset, a dataset);
nothing here is code that trains. ``runner.expand`` turns these into (variant, seed) units.
Each experiment belongs to a task (Task 1 classifiers, Task 2 clock reader); the task says which model
families it trains, which curves and test metrics a report shows, and whether lower is better.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    name: str
    config: dict = field(default_factory=dict)  # MLPConfig / CNNConfig overrides
    training: dict = field(default_factory=dict)  # TrainingArguments overrides
    preset: str | None = None
    dataset: str = "fashion_mnist"  # folder name under --data_dir, a Hub id, or GENERATED (clocks rendered on the spot)
    data: dict = field(default_factory=dict)  # ClockArguments data fields (the clock study only)


GENERATED = "generated"


@dataclass(frozen=True)
class Task:
    """What a study of one task measures: the per-epoch curves, the test metrics, the metric's direction."""

    name: str
    title: str  # the report's heading
    families: tuple[str, ...]  # model families (--model) this task trains
    train_curve: str  # history key plotted solid
    eval_curve: str  # history key plotted dotted
    metric_label: str  # y-axis label
    higher_is_better: bool
    log_scale: bool  # errors spanning 1-180 minutes read better on a log axis
    percent: bool  # show as % (accuracies)
    curves: tuple[str, ...]  # history keys averaged per epoch over seeds
    test_metrics: tuple[str, ...]  # all_results keys averaged over seeds


TASKS = {
    "classification": Task(
        "classification", "Task 1 study", ("mlp", "cnn"), "train_accuracy", "eval_accuracy", "accuracy",
        higher_is_better=True, log_scale=False, percent=True,
        curves=("train_accuracy", "eval_accuracy", "train_loss", "eval_loss"), test_metrics=("test_accuracy",)),
    "clock": Task(
        "clock", "Task 2 study: clock-reader heads", ("clock",), "train_cse", "eval_cse_mean",
        "common-sense error (minutes)", higher_is_better=False, log_scale=True, percent=False,
        curves=("train_cse", "eval_cse_mean", "eval_cse_median", "train_hour_accuracy", "eval_hour_accuracy",
                "train_loss", "eval_loss"),
        test_metrics=("test_cse_mean", "test_cse_median", "test_cse_p90", "test_hour_accuracy")),
}


@dataclass(frozen=True)
class Axis:
    name: str
    variants: tuple[Variant, ...]


DEFAULT = Variant("default")
LEARNING_RATES = (0.0005, 0.001, 0.005, 0.01, 0.05)


def _grid_optimizers() -> tuple[Variant, ...]:
    return tuple(
        Variant(f"{optimizer} {lr:g}", training={"optimizer": optimizer, "learning_rate": lr})
        for optimizer in ("sgd", "adagrad", "adam")
        for lr in LEARNING_RATES
    )


def _exp1(family: str) -> tuple[Axis, ...]:
    activation_field = "activation" if family == "mlp" else "fc_activation"
    return (
        Axis("weight initialisation", (
            Variant("glorot uniform (default)"),
            Variant("glorot normal", {"initializer": "glorot_normal"}),
            Variant("he uniform", {"initializer": "he_uniform"}),
            Variant("he normal", {"initializer": "he_normal"}),
        )),
        Axis("activation" if family == "mlp" else "activation of the FC part", (
            Variant("relu (default)"),
            Variant("tanh", {activation_field: "tanh"}),
            Variant("sigmoid", {activation_field: "sigmoid"}),
        )),
        Axis("regularisation", (
            Variant("dropout 0.2 (default)"),
            Variant("none", {"dropout": 0.0}),
            Variant("L1 1e-4", {"dropout": 0.0, "l1": 1e-4}),
            Variant("L2 1e-3", {"dropout": 0.0, "l2": 1e-3}),
        )),
        Axis("batch normalisation" if family == "mlp" else "batch norm after convs", (
            Variant("off (default)"),
            Variant("on", {"batch_norm": True}),
        )),
    )


def _exp2(family: str) -> tuple[Axis, ...]:
    if family == "mlp":
        return (
            Axis("hidden layers (512 units)", (
                Variant("1 layer", {"hidden_sizes": [512]}),
                Variant("2 layers (default)"),
                Variant("3 layers", {"hidden_sizes": [512, 512, 512]}),
            )),
            Axis("units per layer (2 layers)", (
                Variant("256", {"hidden_sizes": [256, 256]}),
                Variant("512 (default)"),
                Variant("1024", {"hidden_sizes": [1024, 1024]}),
            )),
        )
    return (
        Axis("FC layers", (
            Variant("1 layer: 128", {"fc_hidden_sizes": [128]}),
            Variant("2 layers: 128-64 (default)"),
            Variant("3 layers: 128-64-32", {"fc_hidden_sizes": [128, 64, 32]}),
        )),
        Axis("FC width", (
            Variant("64-32", {"fc_hidden_sizes": [64, 32]}),
            Variant("128-64 (default)"),
            Variant("512-256", {"fc_hidden_sizes": [512, 256]}),
        )),
    )


def _exp3(family: str) -> tuple[Axis, ...]:
    grid = _grid_optimizers()
    return tuple(
        Axis(optimizer, tuple(v for v in grid if v.training["optimizer"] == optimizer))
        for optimizer in ("sgd", "adagrad", "adam")
    )


def _best(family: str, dataset: str) -> tuple[Axis, ...]:
    if family == "mlp":
        variants = (Variant("MLP1", preset="mlp1", dataset=dataset), Variant("MLP2", preset="mlp2", dataset=dataset))
    else:
        variants = (Variant("CNN1", preset="cnn1", dataset=dataset),)
    return (Axis("best models" if dataset == "fashion_mnist" else "best models on CIFAR-10", variants),)


CLASSIFICATION_INTERVALS = (60, 15, 5)  # minutes per class: 12, 48 and 144 classes


UPRIGHT = {"max_rotation": 0.0, "augment": False}
# At the angles head's peak learning rate (3e-3) the two-branch heads sat at their constant-output loss
# on all 3 seeds in the quick budget (hybrid: ln 12 + 0.5); at 3e-4 hybrid learned (67 min mean, seed 0).
UPRIGHT_TRAINING = {"learning_rate": 3e-4}


def _clock_heads(family: str) -> tuple[Axis, ...]:
    """The six heads (Figures 8-10), and the classification head's class width. A variant is a set of
    ClockReaderConfig overrides; 'classification 15 min' is in both axes and trains once per seed.

    On dials turned to any angle the heads that see only the time stay at chance on a CPU budget, so the
    third axis compares them on upright dials (no quarter-turn augmentation either) at a tenth of the
    learning rate, where they learn and the seed's question, whether the hybrid head beats the multi-head,
    gets an answer."""
    classification = {f"classification {m} min": {"head": "classification", "interval_minutes": m}
                      for m in CLASSIFICATION_INTERVALS}
    heads = {"regression": {"head": "regression"}, "classification 15 min": classification["classification 15 min"],
             "multihead": {"head": "multihead"}, "periodic": {"head": "periodic"}, "hybrid": {"head": "hybrid"},
             "angles": {"head": "angles"}}
    return (
        Axis("head", tuple(Variant(name, config, dataset=GENERATED) for name, config in heads.items())),
        Axis("classification interval", tuple(Variant(name, config, dataset=GENERATED)
                                              for name, config in classification.items())),
        Axis("upright dials", tuple(Variant(f"{name} (upright)", config, training=UPRIGHT_TRAINING, dataset=GENERATED,
                                            data=UPRIGHT)
                                    for name, config in heads.items() if name != "angles")),
    )


EXPERIMENTS = {
    "exp1": {"title": "Experiment 1: initialisation, activation, regularisation, batch norm", "axes": _exp1,
             "task": "classification"},
    "exp2": {"title": "Experiment 2: architecture", "axes": _exp2, "task": "classification"},
    "exp3": {"title": "Experiment 3: optimizer and learning rate", "axes": _exp3, "task": "classification"},
    "best": {"title": "Best models on Fashion-MNIST (Table 1)", "axes": lambda f: _best(f, "fashion_mnist"),
             "task": "classification"},
    "transfer": {"title": "Best models on CIFAR-10 (Figure 7)", "axes": lambda f: _best(f, "cifar10"),
                 "task": "classification"},
    "clock_heads": {"title": "Clock-reader heads (Figures 8-10)", "axes": _clock_heads, "task": "clock"},
}
# `--experiment all` means the Task 1 study; the clock study is asked for by name.
ALL_EXPERIMENTS = ("exp1", "exp2", "exp3", "best", "transfer")
# exp1-3 compare variants on the validation split; best/transfer train on all of train and test.
FULL_TRAIN_EXPERIMENTS = ("best", "transfer")


@dataclass(frozen=True)
class Profile:
    name: str
    epochs: dict  # per family
    max_train_samples: dict | None  # per family; None = all
    max_eval_samples: dict | None
    best_epochs: dict  # epochs for best/transfer
    best_max_train_samples: int | None
    clock: dict = field(default_factory=dict)  # ClockArguments overrides; empty = train_clock's defaults


PROFILES = {
    # The seed's schedule on all the data; the clock reader with train_clock's recipe (96 px, 40,000 clocks,
    # its own epochs: no "clock" entry in `epochs`).
    "full": Profile("full", {"mlp": 50, "cnn": 20}, None, None, {"mlp": 50, "cnn": 20}, None),
    # Sized for a 2-core CPU: short runs on subsets; every conclusion must still be visible.
    # MLP: 6,000 train / 2,000 validation images, 8 epochs; CNN (about 50x the MLP's cost per image on
    # CPU): 2,000 / 1,000 images, 3 epochs; best/transfer on 12,000 images, tested on the full test set.
    # Clock reader: about a minute a unit on one core, so clock_heads' 24 units take ~25 min. The default polar
    # CNN costs ~8 ms per 64-px clock per epoch there, which buys 3 epochs of 2,000 clocks (4,000 took ~110 s).
    "quick": Profile("quick", {"mlp": 8, "cnn": 3, "clock": 3}, {"mlp": 6000, "cnn": 2000},
                     {"mlp": 2000, "cnn": 1000}, {"mlp": 8, "cnn": 3}, 12000,
                     clock={"image_size": 64, "num_train_examples": 2000, "num_eval_examples": 500,
                            "num_test_examples": 1000}),
}


def task_of(experiment: str) -> Task:
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; choose from {sorted(EXPERIMENTS)} or 'all'")
    return TASKS[EXPERIMENTS[experiment]["task"]]


def axes_for(experiment: str, family: str) -> tuple[Axis, ...]:
    task_of(experiment)  # validates the name
    return EXPERIMENTS[experiment]["axes"](family)
