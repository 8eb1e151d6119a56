"""Named recipes: a model config and its training hyperparameters, set together.

``mlp1``, ``mlp2`` and ``cnn1`` are the seed study's best models (its Table 1). Values not set by
a preset come from :data:`MODEL_DEFAULTS` (the seed's defaults: SGD 0.01, batch 32, 50 epochs for
the MLP, 20 for the CNN), and anything given explicitly (command line or Python) wins over both.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    model: str  # "mlp" or "cnn"
    config: dict = field(default_factory=dict)  # overrides of MLPConfig / CNNConfig fields
    training: dict = field(default_factory=dict)  # TrainingArguments fields
    data: dict = field(default_factory=dict)  # ClassifierArguments fields (augment)
    description: str = ""


MODEL_DEFAULTS = {
    "mlp": {"optimizer": "sgd", "learning_rate": 0.01, "per_device_train_batch_size": 32, "num_train_epochs": 50},
    "cnn": {"optimizer": "sgd", "learning_rate": 0.01, "per_device_train_batch_size": 32, "num_train_epochs": 20},
}

PRESETS: dict[str, Preset] = {
    "mlp1": Preset(
        model="mlp",
        training={"optimizer": "sgd", "learning_rate": 0.01},
        description="MLP1: the default MLP (784-512-512-10, ReLU, dropout 0.2) with SGD 0.01.",
    ),
    "mlp2": Preset(
        model="mlp",
        training={"optimizer": "adagrad", "learning_rate": 0.01},
        description="MLP2: the default MLP with Adagrad 0.01.",
    ),
    "cnn1": Preset(
        model="cnn",
        config={"initializer": "he_uniform", "fc_activation": "tanh", "batch_norm": True},
        training={"optimizer": "adam", "learning_rate": 0.001},
        description="CNN1: the default CNN with He-uniform init, tanh in the FC part, batch norm after "
        "the convolutions, Adam 0.001.",
    ),
    "augmented": Preset(
        model="cnn",
        config={
            # Six 3x3 convs (32-32-64-64-128-128) with batch norm and a pool after each pair: about a
            # fifth of the seed CNN's compute per image, so more epochs fit in a CPU hour.
            "conv_filters": [32, 32, 64, 64, 128, 128],
            "conv_kernel_sizes": [3] * 6,
            "conv_strides": [1] * 6,
            "pool_after": [False, True, False, True, False, True],
            "batch_norm": True,
            "initializer": "he_uniform",
            "fc_hidden_sizes": [256],
            "dropout": 0.3,
            "label_smoothing": 0.1,
        },
        training={"optimizer": "sgd", "momentum": 0.9, "weight_decay": 5e-4, "learning_rate": 0.05,
                  "lr_scheduler_type": "one_cycle", "warmup_ratio": 0.2, "per_device_train_batch_size": 128,
                  "num_train_epochs": 30},
        data={"augment": "crop_flip"},
        description="The recommended Fashion-MNIST / CIFAR-10 CNN: batch norm, random crop and flip, label "
        "smoothing 0.1, SGD with momentum on a one-cycle schedule.",
    ),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]
