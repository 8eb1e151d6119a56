"""Every run's hyperparameters in one place: named recipes and the defaults beneath them.

A value a run uses comes from the first of these that sets it:

1. what the user gave (command line or Python: a ``TrainingArguments`` field that is not None, a
   ``--config_overrides`` field, a task argument);
2. the named :class:`Recipe` the user chose (``--preset`` for the classifiers, ``--profile`` for the GAN
   and VAE: the same kind of thing, a model config, training arguments and data options set together);
3. the model family's :data:`TRAINING_DEFAULTS` (the seed study's choices, or the clock readers' tuned recipe);
4. :data:`ENGINE_DEFAULTS`, what the engine falls back to for any task.

``python -c "from tinyvision.recipes import describe; print(describe('gan', 'cpu'))"`` prints one run's
resolved recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipe:
    """Choices made together: model config fields, ``TrainingArguments`` fields and the task's data options."""

    model: str | None = None  # the model family the recipe is for ("mlp", "cnn"); None: the task's only family
    config: dict = field(default_factory=dict)  # model config overrides
    training: dict = field(default_factory=dict)  # TrainingArguments fields
    data: dict = field(default_factory=dict)  # task argument fields (augment, dedupe, ...)
    description: str = ""


# What a TrainingArguments field left at None means when neither a recipe nor the family chose a value.
ENGINE_DEFAULTS = {
    "optimizer": "sgd", "learning_rate": 0.01, "num_train_epochs": 1, "per_device_train_batch_size": 32,
    "momentum": 0.0, "weight_decay": 0.0, "lr_scheduler_type": "constant", "warmup_ratio": 0.0,
}

_CLOCK_READER = {  # tuned on the Task 2 study (reports/task2): AdamW on a one-cycle schedule, clipped gradients
    "optimizer": "adamw", "learning_rate": 3e-3, "weight_decay": 1e-4, "lr_scheduler_type": "one_cycle",
    "warmup_ratio": 0.15, "num_train_epochs": 3, "per_device_train_batch_size": 32, "max_grad_norm": 2.0,
}

# Per model family. The classifiers, GAN and VAE: the seed's defaults (SGD 0.01, batch 32, 50 epochs for the MLP,
# 20 for the CNN; batch 32 GAN / 8 VAE, 50 epochs; the seed names no optimizer for Task 3, so the GAN uses
# DCGAN's Adam 2e-4 (β₁ 0.5, set by the GAN's arguments) and the VAE Adam 1e-3).
TRAINING_DEFAULTS: dict[str, dict] = {
    "mlp": {"optimizer": "sgd", "learning_rate": 0.01, "per_device_train_batch_size": 32, "num_train_epochs": 50},
    "cnn": {"optimizer": "sgd", "learning_rate": 0.01, "per_device_train_batch_size": 32, "num_train_epochs": 20},
    "clock_reader": _CLOCK_READER,
    # The photo reader: the reader's recipe, one epoch more (the scenes are harder than centred clocks).
    "clock_photo_reader": {**_CLOCK_READER, "num_train_epochs": 5},
    "gan": {"optimizer": "adam", "learning_rate": 2e-4, "per_device_train_batch_size": 32, "num_train_epochs": 50},
    "vae": {"optimizer": "adam", "learning_rate": 1e-3, "per_device_train_batch_size": 8, "num_train_epochs": 50},
}

# Named recipes per task. The classifier's mlp1, mlp2 and cnn1 are the seed study's best models (its Table 1);
# the GAN's and VAE's cpu recipes were measured on this project's 2-core CPU (reports/task3/report.md).
RECIPES: dict[str, dict[str, Recipe]] = {
    "classifier": {
        "mlp1": Recipe(
            model="mlp",
            training={"optimizer": "sgd", "learning_rate": 0.01},
            description="MLP1: the default MLP (784-512-512-10, ReLU, dropout 0.2) with SGD 0.01.",
        ),
        "mlp2": Recipe(
            model="mlp",
            training={"optimizer": "adagrad", "learning_rate": 0.01},
            description="MLP2: the default MLP with Adagrad 0.01.",
        ),
        "cnn1": Recipe(
            model="cnn",
            config={"initializer": "he_uniform", "fc_activation": "tanh", "batch_norm": True},
            training={"optimizer": "adam", "learning_rate": 0.001},
            description="CNN1: the default CNN with He-uniform init, tanh in the FC part, batch norm after "
            "the convolutions, Adam 0.001.",
        ),
        "augmented": Recipe(
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
    },
    "gan": {
        "seed": Recipe(
            config={"latent_dim": 32, "generator_filters": [128] * 5, "discriminator_filters": [128] * 5,
                    "generator_kernel_size": 3, "discriminator_kernel_size": 3, "leaky_relu_slope": 0.3,
                    "discriminator_noise_std": 0.01, "loss_type": "lsgan", "ema_decay": 0.0, "diffaugment": ""},
            training={"per_device_train_batch_size": 32, "num_train_epochs": 50},
            data={"dedupe": False},
            description="Exactly the seed's GAN: LSGAN, 5 x Conv(3, s2, 128) discriminator with LeakyReLU 0.3 and "
            "Gaussian noise 0.01, Dense(1024) -> 5 x ConvTranspose(3, s2, 128) generator, 32-d noise, batch 32, "
            "50 epochs over all 15,747 rows (the defaults, named).",
        ),
        "cpu": Recipe(
            config={"generator_filters": [128, 128, 64, 32, 32], "discriminator_filters": [32, 64, 128, 128, 128],
                    "generator_kernel_size": 4, "discriminator_kernel_size": 4, "generator_batch_norm": True,
                    "discriminator_batch_norm": True, "latent_dim": 100, "ema_decay": 0.995, "loss_type": "hinge"},
            training={"num_train_epochs": 33},
            data={"dedupe": True, "reuse_fakes": True},
            description="The seed's layer structure made DCGAN-like: filters tapered where the maps are large "
            "(generator 128-128-64-32-32, discriminator 32-64-128-128-128), kernel 4 (no checkerboard from "
            "stride-2 transposed convolutions), batch norm in both players, 100-d noise (Adam beta1 0.5, as "
            "every GAN run here); the hinge loss; a moving average of the generator (decay 0.995, about 200 "
            "steps: 0.999 lagged the generator and blurred it); the generator trained on the discriminator "
            "step's fakes (one generator pass less per step); the 9,303 distinct cats, 33 epochs (48.8 minutes "
            "on two CPU cores on 2026-12-03: the GAN uses every core by default). "
            "Measured (reports/task3): FID 93.2 for the saved average after 33 epochs; with decay 0.999, 134.6 "
            "after 27 epochs and 146.9 after 30; a cosine learning-rate decay collapsed towards a few faces "
            "(249.1 after 27); the hinge loss 151.8 after 24 epochs against least squares 243.7 after 11; "
            "DiffAugment (colour, translation, cutout) made the run collapse to a single face by its second "
            "epoch, so it is off; with kernel 3, batch norm in the generator only and 32-d noise, the run "
            "collapsed within 6 epochs.",
        ),
        "gpu": Recipe(
            config={"generator_filters": [512, 256, 128, 64, 32], "discriminator_filters": [64, 128, 256, 512, 512],
                    "generator_dense_size": 4096, "generator_kernel_size": 4, "discriminator_kernel_size": 4,
                    "generator_batch_norm": True, "discriminator_batch_norm": True, "latent_dim": 128,
                    "ema_decay": 0.999, "loss_type": "hinge"},
            training={"num_train_epochs": 300, "per_device_train_batch_size": 64},
            data={"dedupe": True},
            description="The cpu recipe (hinge loss, moving average) widened for one GPU (generator "
            "512-256-128-64-32 from a 1024 x 2 x 2 start, discriminator 64-128-256-512-512, 128-d noise), "
            "batch 64, 300 epochs (about 44k steps); "
            "run it with --mixed_precision bf16 where the GPU has it. Not yet run (no GPU here); for runs this "
            "long DiffAugment is the literature's remedy for a discriminator that overfits 9,303 images, to be "
            "measured (--config_overrides '{\"diffaugment\": \"translation,cutout\"}').",
        ),
    },
    "vae": {
        "seed": Recipe(
            config={"latent_dim": 32, "decoder_filters": [128] * 5, "encoder_filters": [128] * 5},
            training={"per_device_train_batch_size": 8, "num_train_epochs": 50},
            data={"dedupe": False},
            description="Exactly the seed's VAE: 5 x Conv(3, s2, 128) encoder to a 32-d latent, the GAN's "
            "generator as decoder, batch 8, 50 epochs over all 15,747 rows (the defaults, named).",
        ),
        "cpu": Recipe(
            config={"decoder_filters": [128, 128, 64, 32, 32], "encoder_filters": [32, 64, 128, 128, 128]},
            training={"num_train_epochs": 10, "per_device_train_batch_size": 32},
            data={"dedupe": True},
            description="The seed's layer structure with tapered filters (as the GAN's cpu recipe), "
            "batch 32, the 9,303 distinct cats, 10 epochs.",
        ),
    },
}
# The names the classifier's `--preset` accepts (the Space lists them too).
PRESETS = RECIPES["classifier"]


def get_recipe(task: str, name: str) -> Recipe:
    """The recipe ``name`` of ``task`` ("classifier", "gan", "vae"), with an error that lists the choices."""
    table = RECIPES.get(task)
    if table is None:
        raise ValueError(f"no recipes for task {task!r}; tasks with recipes: {sorted(RECIPES)}")
    if name not in table:
        option = "preset" if task == "classifier" else "profile"
        raise ValueError(f"unknown {option} {name!r} for the {task}; choose one of {sorted(table)}")
    return table[name]


def resolve_training(training_args, family: str, recipe: Recipe | None = None):
    """``training_args`` with every field still None filled from the recipe, then the family's defaults.

    (The engine fills what is left from :data:`ENGINE_DEFAULTS`.)"""
    if family not in TRAINING_DEFAULTS:
        raise ValueError(f"no training defaults for model family {family!r}; known: {sorted(TRAINING_DEFAULTS)}")
    return training_args.with_defaults(**(recipe.training if recipe else {})).with_defaults(
        **TRAINING_DEFAULTS[family])


def describe(task: str, name: str | None = None, family: str | None = None) -> dict:
    """The training arguments a run of ``task`` with recipe ``name`` gets when nothing is given explicitly."""
    recipe = get_recipe(task, name) if name else None
    family = family or (recipe.model if recipe and recipe.model else {"classifier": "mlp"}.get(task, task))
    training = {**ENGINE_DEFAULTS, **TRAINING_DEFAULTS[family], **(recipe.training if recipe else {})}
    return {"family": family, "training": training, "config": dict(recipe.config) if recipe else {},
            "data": dict(recipe.data) if recipe else {}}
