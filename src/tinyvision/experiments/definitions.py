"""The Task 1 study as data: experiments → axes → named variants, each one change from the default.

A variant is a name plus overrides (model config fields, training arguments, a preset, a dataset);
nothing here is code that trains. ``runner.expand`` turns these into (variant, seed) units.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    name: str
    config: dict = field(default_factory=dict)  # MLPConfig / CNNConfig overrides
    training: dict = field(default_factory=dict)  # TrainingArguments overrides
    preset: str | None = None
    dataset: str = "fashion_mnist"  # folder name under --data_dir, or a Hub id


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


EXPERIMENTS = {
    "exp1": {"title": "Experiment 1: initialisation, activation, regularisation, batch norm", "axes": _exp1},
    "exp2": {"title": "Experiment 2: architecture", "axes": _exp2},
    "exp3": {"title": "Experiment 3: optimizer and learning rate", "axes": _exp3},
    "best": {"title": "Best models on Fashion-MNIST (Table 1)", "axes": lambda f: _best(f, "fashion_mnist")},
    "transfer": {"title": "Best models on CIFAR-10 (Figure 7)", "axes": lambda f: _best(f, "cifar10")},
}
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


PROFILES = {
    # The seed's schedule on all the data.
    "full": Profile("full", {"mlp": 50, "cnn": 20}, None, None, {"mlp": 50, "cnn": 20}, None),
    # Sized for a 2-core CPU: short runs on subsets; every conclusion must still be visible.
    # MLP: 6,000 train / 2,000 validation images, 8 epochs; CNN (about 50x the MLP's cost per image on
    # CPU): 2,000 / 1,000 images, 3 epochs; best/transfer on 12,000 images, tested on the full test set.
    "quick": Profile("quick", {"mlp": 8, "cnn": 3}, {"mlp": 6000, "cnn": 2000}, {"mlp": 2000, "cnn": 1000},
                     {"mlp": 8, "cnn": 3}, 12000),
}


def axes_for(experiment: str, family: str) -> tuple[Axis, ...]:
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; choose from {sorted(EXPERIMENTS)} or 'all'")
    return EXPERIMENTS[experiment]["axes"](family)
