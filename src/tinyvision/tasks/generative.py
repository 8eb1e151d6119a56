"""Task 3: a GAN and a VAE that generate 64×64 cat faces, trained by the one engine.

    accelerate launch scripts/train_gan.py --profile cpu --output_dir outputs/gan-cpu
    accelerate launch scripts/train_vae.py --profile cpu --output_dir outputs/vae-cpu

* :class:`GANStep`: each batch, a least-squares discriminator step on real + generated images, then a
  generator step through the (frozen) discriminator; two optimizers, ``discriminator`` and ``generator``.
* :class:`VAEStep`: ``model(pixel_values).loss`` (reconstruction + KL) with one optimizer.

Both save, after every epoch, the images of a fixed set of latents (``samples/epoch-NNN.png``, epoch 0 =
the untrained model) and the per-batch losses (``loss_trace.jsonl``); at the end, the figures in
``figures/``: the final grid next to each image's nearest real image (pixel space), the evolution of the
fixed latents over the epochs, interpolation strips, and the loss curves.

Defaults are the seed's (batch 32 for the GAN, 8 for the VAE, 50 epochs, its architecture); the seed
names no optimizer, so the GAN uses Adam(2e-4, β₁ 0.5) (DCGAN / LSGAN) and the VAE Adam(1e-3).
``--profile cpu`` is a smaller recipe measured to give recognisable cats on a 2-core CPU (see
:data:`tinyvision.recipes.RECIPES`); anything given explicitly wins over the profile, and the profile over the
defaults. ``build(kind, args, training_args)`` assembles a run; ``train_gan`` / ``train_vae`` train it.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from accelerate.utils import set_seed

from ..data import CATS_DATASET, Splits, image_processor_for, load_cats, split_validation
from ..data.augment import diff_augment
from ..figures import (
    LOSS_TRACE,
    SAMPLES_DIR,
    grid_columns,
    image_grid,
    make_figures,
    save_png,
    to_uint8,
)
from ..models import GANConfig, GANModel, TinyVisionImageProcessor, VAEConfig, VAEModel
from ..models.modeling_gan import discriminator_loss, generator_loss
from ..recipes import get_recipe, resolve_training
from ..training import TrainingArguments, TrainResult, TrainStep
from .common import TaskRun, build_timed, check_config_fields, parse_config_overrides, train_run

logger = logging.getLogger(__name__)


@dataclass
class GenerativeArguments:
    """Data → model → samples; the engine's arguments (optimizer, epochs, batch size...) are separate."""

    dataset_name: str = field(
        default=CATS_DATASET,
        metadata={"help": "Hub id, local dataset folder (parquet, save_to_disk), .npy array (N, 64, 64, 3) or "
                          "image folder."},
    )
    image_column: str | None = field(default=None, metadata={"help": "Image column (default: image or img)."})
    dedupe: bool | None = field(
        default=None, metadata={"help": "Drop byte-identical images (15,747 → 9,303 cats); default: the profile's, "
                                        "else no (the seed used all rows)."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Train on at most this many images."})
    validation_split: float = field(default=0.0, metadata={"help": "Fraction held out for per-epoch evaluation."})
    image_size: int = field(default=64, metadata={"help": "Images are resized to this side if they differ."})
    profile: str | None = field(default=None, metadata={"help": "A recipe of tinyvision.recipes; 'cpu': one that "
                                                                 "trains in under an hour on 2 CPU cores."})
    config_overrides: str | None = field(
        default=None, metadata={"help": 'Model config fields as JSON, e.g. \'{"latent_dim": 64}\'.'})
    num_sample_images: int = field(default=64, metadata={"help": "Fixed latents drawn into each epoch's grid."})
    sample_seed: int = field(default=2024, metadata={"help": "Seed of the fixed latents and of the figures."})
    make_figures: bool = field(default=True, metadata={"help": "Draw the end-of-run figures."})


@dataclass
class GANArguments(GenerativeArguments):
    generator_learning_rate: float | None = field(default=None, metadata={"help": "Default: --learning_rate."})
    discriminator_learning_rate: float | None = field(default=None, metadata={"help": "Default: --learning_rate."})
    gan_adam_beta1: float = field(
        default=0.5, metadata={"help": "Adam β₁ of both players (DCGAN's 0.5; --adam_beta1 is not used by the GAN)."})
    reuse_fakes: bool | None = field(
        default=None, metadata={"help": "Train the generator on the discriminator step's fakes (one generator "
                                        "pass less per step) instead of fresh noise (Géron's Keras loop); "
                                        "default: the profile's, else no."})


@dataclass
class VAEArguments(GenerativeArguments):
    pass


# ------------------------------------------------------------------------------------- steps
class GenerativeStep(TrainStep):
    """What the GAN and VAE steps share: uint8 batches → the model's pixel range, fixed-latent samples
    after each epoch, the per-batch loss trace, saving the model with its image processor."""

    trace_names: tuple[str, ...] = ()
    kind: str = ""

    def __init__(self, model, processor: TinyVisionImageProcessor, *, output_dir: str, num_sample_images: int = 64,
                 sample_seed: int = 2024, figure_images: torch.Tensor | None = None):
        self.pretrained = model  # the unwrapped model: generation and saving
        self.processor = processor
        self.output_dir = Path(output_dir)
        self.num_sample_images = num_sample_images
        self.sample_seed = sample_seed
        self.fixed_latents = model.sample_latents(num_sample_images, seed=sample_seed)
        self.figure_images = figure_images  # real images for the end-of-run figures (None: no figures)
        self._trace: list[torch.Tensor] = []

    def inputs(self, batch: dict) -> torch.Tensor:
        return self.processor.normalize_uint8(batch["pixel_values"])

    @property
    def sampler(self):
        """The model that draws the samples and figures and is saved: the trained one (the GAN with a moving
        average: its averaged generator)."""
        return self.pretrained

    def record(self, accelerator, *values: torch.Tensor) -> None:
        if accelerator.is_main_process:
            self._trace.append(torch.stack([value.detach().float() for value in values]))

    def save_samples(self, epoch: int) -> Path:
        """The fixed latents' images as one grid, ``samples/epoch-{epoch:03d}.png`` (epoch 0 = untrained)."""
        images = to_uint8(self.sampler.generate(latents=self.fixed_latents))
        path = self.output_dir / SAMPLES_DIR / f"epoch-{epoch:03d}.png"
        save_png(image_grid(images, grid_columns(len(images))), path)
        return path

    def on_epoch_end(self, epoch: int, engine) -> None:
        self.save_samples(epoch + 1)
        if self._trace:
            values = torch.stack(self._trace).cpu().tolist()
            # CPU seconds of this (main) process so far: on a shared machine, wall time says little.
            line = {"epoch": epoch + 1, "step": engine.global_step, "process_cpu_s": time.process_time(),
                    **{name: [row[i] for row in values] for i, name in enumerate(self.trace_names)}}
            with open(self.output_dir / LOSS_TRACE, "a") as handle:
                handle.write(json.dumps(line) + "\n")
        self._trace = []

    def on_train_end(self, engine) -> None:
        """The end-of-run figures, before the engine publishes the folder (so they travel with the model)."""
        if self.figure_images is not None:
            make_figures(self.output_dir, self.sampler, self.figure_images, kind=self.kind, seed=self.sample_seed,
                         num_sample_images=self.num_sample_images)

    def save_pretrained(self, output_dir: str, accelerator) -> None:
        self.sampler.save_pretrained(output_dir, is_main_process=accelerator.is_main_process)
        if accelerator.is_main_process:
            self.processor.save_pretrained(output_dir)


class GANStep(GenerativeStep):
    """One iteration = a discriminator step, then a generator step (the seed's order), the config's losses.

    Discriminator: ``D(cat[real, G(z)])`` against labels real/fake (Keras' concatenated batch; two
    forward passes, all-real and all-fake, when it has batch norm), G not differentiated. Generator: ``mean((D(G(z')) - real)²)`` with fresh noise z' (or the same fakes with
    ``reuse_fakes``), through the discriminator with its parameters frozen (Keras' ``trainable=False``),
    which also keeps its accumulated gradients intact under gradient accumulation.

    With ``config.diffaugment`` every image the discriminator sees in training, real or generated, in
    either step, first goes through the same kind of random differentiable augmentation. With
    ``config.ema_decay`` the step keeps ``averaged``: a copy of the model whose generator is the moving
    average of the trained one (updated after each generator step, warming up as ``min(decay, (1 + t) /
    (10 + t))``) and whose discriminator is the trained one itself; it draws the samples and figures and
    is what gets saved, while checkpoints carry both generators.
    """

    model_attributes = ("generator", "discriminator")
    trace_names = ("discriminator_loss", "generator_loss")
    kind = "gan"
    manual_optimization = True  # two optimizers, stepped in the seed's order inside train_step

    def __init__(self, model: GANModel, processor, *, generator_learning_rate: float | None = None,
                 discriminator_learning_rate: float | None = None, adam_beta1: float = 0.5, adam_beta2: float = 0.999,
                 reuse_fakes: bool = False, **kwargs):
        super().__init__(model, processor, **kwargs)
        self.generator = model.generator
        self.discriminator = model.discriminator
        self.learning_rates = {"generator": generator_learning_rate, "discriminator": discriminator_learning_rate}
        self.betas = (adam_beta1, adam_beta2)
        self.reuse_fakes = reuse_fakes
        self.averaged = None
        if model.config.ema_decay > 0:
            self.averaged = copy.deepcopy(model)
            self.averaged.discriminator = model.discriminator  # shared: only the generator is averaged
            self.averaged.generator.requires_grad_(False)

    @property
    def sampler(self):
        return self.averaged if self.averaged is not None else self.pretrained

    def checkpoint_objects(self):
        return [self.averaged.generator] if self.averaged is not None else []

    @torch.no_grad()
    def update_average(self, step: int) -> None:
        """Move the averaged generator towards the trained one (after the generator's optimizer step)."""
        averaged, trained = self.averaged.generator, self.pretrained.generator
        parameters = list(trained.parameters())
        if next(averaged.parameters()).device != parameters[0].device:
            averaged.to(parameters[0].device)
        decay = min(self.pretrained.config.ema_decay, (1 + step) / (10 + step))
        torch._foreach_lerp_(list(averaged.parameters()), parameters, 1.0 - decay)
        # (its batch-norm statistics are measured by refresh_average_statistics before any use of it)

    @torch.no_grad()
    def refresh_average_statistics(self, num_batches: int = 8, batch_size: int = 64) -> None:
        """Batch-norm statistics of the averaged generator measured on its own activations ("standing
        statistics": fresh noise, train mode, a plain mean over ``num_batches``), instead of the trained
        generator's copied running statistics, which belong to different weights."""
        generator = self.averaged.generator
        norms = [m for m in generator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        if not norms:
            return
        device = next(generator.parameters()).device
        momenta = [m.momentum for m in norms]
        was_training = generator.training
        # Sampling here must not shift the training's random streams (CPU, and the GPU's when on one).
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.sample_seed)
            try:
                for norm in norms:
                    norm.reset_running_stats()
                    norm.momentum = None  # cumulative average
                generator.train()
                for _ in range(num_batches):
                    generator(torch.randn(batch_size, self.pretrained.config.latent_dim, device=device))
            finally:
                for norm, momentum in zip(norms, momenta):
                    norm.momentum = momentum
                generator.train(was_training)

    def on_epoch_end(self, epoch: int, engine) -> None:
        if self.averaged is not None:
            self.refresh_average_statistics()
        super().on_epoch_end(epoch, engine)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        config = self.pretrained.config
        return diff_augment(images, config.diffaugment, config.pixel_range) if config.diffaugment else images

    def parameter_groups(self):
        return {"discriminator": list(self.discriminator.parameters()), "generator": list(self.generator.parameters())}

    def optimizer_overrides(self, name):
        overrides = {"betas": self.betas}
        if self.learning_rates[name] is not None:
            overrides["lr"] = self.learning_rates[name]
        return overrides

    def _noise(self, count: int, device) -> torch.Tensor:
        return torch.randn(count, self.pretrained.config.latent_dim, device=device)

    def train_step(self, batch, engine):
        config = self.pretrained.config
        real = self.inputs(batch)
        count = len(real)
        # 1. discriminator: real → real_label, G(z) → fake_label.
        if self.reuse_fakes:
            fakes = self.generator(self._noise(count, real.device))
            detached = fakes.detach()
        else:
            with torch.no_grad():
                detached = self.generator(self._noise(count, real.device))
        if config.discriminator_batch_norm:  # batch statistics of all-real and all-fake batches, as DCGAN
            scores = torch.cat([self.discriminator(self.augment(real)), self.discriminator(self.augment(detached))])
        else:
            scores = self.discriminator(self.augment(torch.cat([real, detached])))
        d_loss = discriminator_loss(config, scores[:count], scores[count:])
        engine.optimizer_step(d_loss, "discriminator")
        # 2. generator: D(G(z')) → real_label, through the frozen, unwrapped discriminator (only G's
        # gradients are wanted, and only G's are all-reduced).
        if not self.reuse_fakes:
            fakes = self.generator(self._noise(count, real.device))
        critic = self.pretrained.discriminator
        critic.requires_grad_(False)
        try:
            g_loss = generator_loss(config, critic(self.augment(fakes)))
            engine.optimizer_step(g_loss, "generator")
        finally:
            critic.requires_grad_(True)
        if self.averaged is not None and engine.accelerator.sync_gradients:
            self.update_average(engine.global_step)
        self.record(engine.accelerator, d_loss, g_loss)
        with torch.no_grad():
            return {"loss": (d_loss + g_loss).detach(), "discriminator_loss": d_loss.detach(),
                    "generator_loss": g_loss.detach(), "d_real": scores[:count].mean().detach(),
                    "d_fake": scores[count:].mean().detach()}

    @torch.no_grad()
    def eval_step(self, batch):
        config = self.pretrained.config
        real = self.inputs(batch)
        # Latents seeded by the batch's pixels: the same fakes every epoch, on every process.
        generator = torch.Generator().manual_seed(int(batch["pixel_values"][:, :, :4, :4].sum().item()))
        latents = torch.randn(len(real), config.latent_dim, generator=generator).to(real.device)
        real_scores = self.discriminator(real)[:, 0].float()
        fake_scores = self.discriminator(self.generator(latents))[:, 0].float()
        return {"d_real": real_scores, "d_fake": fake_scores,
                "discriminator_loss": discriminator_loss(config, real_scores, fake_scores, per_example=True),
                "generator_loss": generator_loss(config, fake_scores, per_example=True)}


class VAEStep(GenerativeStep):
    """``model(pixel_values).loss`` (reconstruction + KL, see ``configuration_vae``), one optimizer."""

    model_attributes = ("model",)
    trace_names = ("loss", "reconstruction_loss", "kl_loss")
    kind = "vae"

    def __init__(self, model: VAEModel, processor, **kwargs):
        super().__init__(model, processor, **kwargs)
        self.model = model

    def train_step(self, batch, engine):
        outputs = self.model(pixel_values=self.inputs(batch))
        self.record(engine.accelerator, outputs.loss, outputs.reconstruction_loss, outputs.kl_loss)
        return {"loss": outputs.loss, "reconstruction_loss": outputs.reconstruction_loss.detach(),
                "kl_loss": outputs.kl_loss.detach()}

    @torch.no_grad()
    def eval_step(self, batch):
        losses, _ = self.pretrained.per_example_losses(self.inputs(batch), sample=False)
        return {name: value.float() for name, value in losses.items()}


# ------------------------------------------------------------------------------------- recipe
MODELS = {"gan": (GANConfig, GANModel), "vae": (VAEConfig, VAEModel)}
# Each kind's data options (task arguments a profile may set) and the seed's value of each: every row, fresh noise
# for the generator step.
DATA_DEFAULTS = {"gan": {"dedupe": False, "max_train_samples": None, "reuse_fakes": False},
                 "vae": {"dedupe": False, "max_train_samples": None}}


def resolve_recipe(kind: str, args: GenerativeArguments, training_args: TrainingArguments):
    """(config overrides, data options, training args): explicit values > profile > the seed's defaults."""
    profile = get_recipe(kind, args.profile) if args.profile is not None else None
    config_overrides = {**(profile.config if profile else {}), **parse_config_overrides(args.config_overrides)}
    check_config_fields(MODELS[kind][0], config_overrides)
    data = dict(profile.data) if profile else {}
    for name, default in DATA_DEFAULTS[kind].items():
        if getattr(args, name) is not None:
            data[name] = getattr(args, name)
        data.setdefault(name, default)
    return config_overrides, data, resolve_training(training_args, kind, profile)


def load_training_images(args: GenerativeArguments, data: dict) -> Splits:
    images = load_cats(args.dataset_name, dedupe=data["dedupe"], image_size=args.image_size,
                       image_column=args.image_column)
    train_idx, val_idx = split_validation(len(images), args.validation_split, seed=0)
    if data["max_train_samples"] is not None:
        train_idx = train_idx[:data["max_train_samples"]]
    validation = images.select(val_idx) if len(val_idx) else None
    return Splits(images.select(train_idx), validation, source=args.dataset_name)


def build_model(kind: str, config_overrides: dict, image_size: int):
    """The model and its processor: the generators' pixel range is fixed by the config (not by the data)."""
    config_class, model_class = MODELS[kind]
    config = config_class(**{"image_size": image_size, **config_overrides})
    processor = image_processor_for(image_size=config.image_size, num_channels=config.num_channels,
                                    image_mean=config.image_mean, image_std=config.image_std)
    return model_class(config), processor


def build(kind: str, args: GenerativeArguments, training_args: TrainingArguments) -> TaskRun:
    """The GAN's or VAE's run: recipe, cats, model, step (its figures drawn at the end, before publishing)."""
    if kind not in MODELS:
        raise ValueError(f"kind must be one of {sorted(MODELS)}, got {kind!r}")
    config_overrides, data, training_args = resolve_recipe(kind, args, training_args)
    splits = load_training_images(args, data)
    set_seed(training_args.seed)  # the initial weights depend on the seed too
    model, processor = build_model(kind, config_overrides, args.image_size)
    figure_images = None
    if args.make_figures:
        figure_images = load_cats(args.dataset_name, dedupe=True, image_size=args.image_size,
                                  image_column=args.image_column).columns["pixel_values"]
    common = dict(output_dir=training_args.output_dir, num_sample_images=args.num_sample_images,
                  sample_seed=args.sample_seed, figure_images=figure_images)
    if kind == "gan":
        step = GANStep(model, processor, generator_learning_rate=args.generator_learning_rate,
                       discriminator_learning_rate=args.discriminator_learning_rate, adam_beta1=args.gan_adam_beta1,
                       adam_beta2=training_args.adam_beta2, reuse_fakes=data["reuse_fakes"], **common)
    else:
        step = VAEStep(model, processor, **common)
    run_config = {"task": f"image-generation-{kind}", "generative_args": asdict(args),
                  "data": {**data, "num_train": len(splits.train)}, "data_source": splits.source,
                  "model_config": model.config.to_dict()}
    return TaskRun(step, splits, run_config, training_args)


def _train(kind: str, args: GenerativeArguments, training_args: TrainingArguments) -> TrainResult:
    run = build_timed(build, kind, args, training_args)
    if not (Path(run.training_args.output_dir) / SAMPLES_DIR / "epoch-000.png").exists() and \
            os.environ.get("RANK", "0") == "0":
        run.step.save_samples(0)  # the untrained model's grid (epoch 0); a resumed run keeps its own
    return train_run(run)


def load_checkpoint_generator(model: GANModel, checkpoint: str | Path, *, averaged: bool = False) -> GANModel:
    """Put the generator of a training checkpoint (``checkpoint-N`` of a GAN run) into ``model``: the trained
    (raw) weights, or with ``averaged`` the moving average the checkpoint carries (``ema_decay`` runs)."""
    from safetensors.torch import load_file

    checkpoint = Path(checkpoint)
    if averaged:
        path = checkpoint / "custom_checkpoint_0.pkl"  # GANStep.checkpoint_objects()[0]
        if not path.exists():
            raise FileNotFoundError(f"{checkpoint} carries no moving average (was the run's ema_decay 0?)")
        state = torch.load(path, map_location="cpu", weights_only=True)
    else:
        state = load_file(checkpoint / "model.safetensors")  # the first prepared model: the generator
    model.generator.load_state_dict(state)
    return model


def train_gan(args: GANArguments, training_args: TrainingArguments) -> TrainResult:
    """Load the cats, build the GAN from the recipe, train it with the engine, save it and its figures."""
    return _train("gan", args, training_args)


def train_vae(args: VAEArguments, training_args: TrainingArguments) -> TrainResult:
    """Load the cats, build the VAE from the recipe, train it with the engine, save it and its figures."""
    return _train("vae", args, training_args)
