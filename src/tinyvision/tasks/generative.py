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

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate.utils import set_seed

from ..data import CATS_DATASET, Splits, image_processor_for, load_cats, split_validation
from ..models import GANConfig, GANModel, TinyVisionImageProcessor, VAEConfig, VAEModel
from ..models.modeling_gan import eval_mode, lsgan_discriminator_loss, lsgan_generator_loss
from ..recipes import get_recipe, resolve_training
from ..training import TrainingArguments, TrainResult, TrainStep
from .common import TaskRun, check_config_fields, parse_config_overrides, train_run

logger = logging.getLogger(__name__)

SAMPLES_DIR = "samples"
FIGURES_DIR = "figures"
LOSS_TRACE = "loss_trace.jsonl"

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
    reuse_fakes: bool = field(
        default=False, metadata={"help": "Train the generator on the discriminator step's fakes (one generator "
                                         "pass less) instead of fresh noise (Géron's Keras loop, the default)."})


@dataclass
class VAEArguments(GenerativeArguments):
    pass


# ------------------------------------------------------------------------------------ images
def image_grid(images: torch.Tensor | np.ndarray, columns: int, padding: int = 2, pad_value: int = 255) -> np.ndarray:
    """uint8 images (N, C, H, W) → one (rows·(H+p)+p, columns·(W+p)+p, 3) uint8 grid."""
    images = np.asarray(images)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    count, _, height, width = images.shape
    rows = -(-count // columns)
    grid = np.full((rows * (height + padding) + padding, columns * (width + padding) + padding, 3), pad_value,
                   np.uint8)
    for index, image in enumerate(images):
        row, col = divmod(index, columns)
        top, left = padding + row * (height + padding), padding + col * (width + padding)
        grid[top:top + height, left:left + width] = image.transpose(1, 2, 0)
    return grid


def grid_tiles(grid: np.ndarray, size: int, count: int, columns: int, padding: int = 2) -> np.ndarray:
    """The inverse of :func:`image_grid`: uint8 images (count, 3, size, size) read back from a grid."""
    tiles = []
    for index in range(count):
        row, col = divmod(index, columns)
        top, left = padding + row * (size + padding), padding + col * (size + padding)
        tiles.append(grid[top:top + size, left:left + size].transpose(2, 0, 1))
    return np.stack(tiles)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    return (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)


def grid_columns(count: int) -> int:
    return max(1, int(np.ceil(np.sqrt(count))))


def save_png(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


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

    def record(self, accelerator, *values: torch.Tensor) -> None:
        if accelerator.is_main_process:
            self._trace.append(torch.stack([value.detach().float() for value in values]))

    def save_samples(self, epoch: int) -> Path:
        """The fixed latents' images as one grid, ``samples/epoch-{epoch:03d}.png`` (epoch 0 = untrained)."""
        images = to_uint8(self.pretrained.generate(latents=self.fixed_latents))
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
            make_figures(self.output_dir, self.pretrained, self.figure_images, kind=self.kind, seed=self.sample_seed,
                         num_sample_images=self.num_sample_images)

    def save_pretrained(self, output_dir: str, accelerator) -> None:
        self.pretrained.save_pretrained(output_dir, is_main_process=accelerator.is_main_process)
        if accelerator.is_main_process:
            self.processor.save_pretrained(output_dir)


class GANStep(GenerativeStep):
    """One iteration = a discriminator step, then a generator step (the seed's order), LSGAN losses.

    Discriminator: ``D(cat[real, G(z)])`` against labels real/fake (Keras' concatenated batch; two
    forward passes, all-real and all-fake, when it has batch norm), G not differentiated. Generator: ``mean((D(G(z')) - real)²)`` with fresh noise z' (or the same fakes with
    ``reuse_fakes``), through the discriminator with its parameters frozen (Keras' ``trainable=False``),
    which also keeps its accumulated gradients intact under gradient accumulation.
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
            scores = torch.cat([self.discriminator(real), self.discriminator(detached)])
        else:
            scores = self.discriminator(torch.cat([real, detached]))
        d_loss = lsgan_discriminator_loss(scores[:count], scores[count:], config.real_label, config.fake_label)
        engine.optimizer_step(d_loss, "discriminator")
        # 2. generator: D(G(z')) → real_label, through the frozen, unwrapped discriminator (only G's
        # gradients are wanted, and only G's are all-reduced).
        if not self.reuse_fakes:
            fakes = self.generator(self._noise(count, real.device))
        critic = self.pretrained.discriminator
        critic.requires_grad_(False)
        try:
            g_loss = lsgan_generator_loss(critic(fakes), config.real_label)
            engine.optimizer_step(g_loss, "generator")
        finally:
            critic.requires_grad_(True)
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
        return {
            "d_real": real_scores,
            "d_fake": fake_scores,
            "discriminator_loss": ((real_scores - config.real_label) ** 2 + (fake_scores - config.fake_label) ** 2) / 2,
            "generator_loss": (fake_scores - config.real_label) ** 2,
        }


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


def resolve_recipe(kind: str, args: GenerativeArguments, training_args: TrainingArguments):
    """(config overrides, data options, training args): explicit values > profile > the seed's defaults."""
    profile = get_recipe(kind, args.profile) if args.profile is not None else None
    config_overrides = {**(profile.config if profile else {}), **parse_config_overrides(args.config_overrides)}
    check_config_fields(MODELS[kind][0], config_overrides)
    data = dict(profile.data) if profile else {}
    if args.dedupe is not None:
        data["dedupe"] = args.dedupe
    if args.max_train_samples is not None:
        data["max_train_samples"] = args.max_train_samples
    data.setdefault("dedupe", False)
    data.setdefault("max_train_samples", None)
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
                       adam_beta2=training_args.adam_beta2, reuse_fakes=args.reuse_fakes, **common)
    else:
        step = VAEStep(model, processor, **common)
    run_config = {"task": f"image-generation-{kind}", "generative_args": asdict(args),
                  "data": {**data, "num_train": len(splits.train)}, "data_source": splits.source,
                  "model_config": model.config.to_dict()}
    return TaskRun(step, splits, run_config, training_args)


def _train(kind: str, args: GenerativeArguments, training_args: TrainingArguments) -> TrainResult:
    run = build(kind, args, training_args)
    if not (Path(run.training_args.output_dir) / SAMPLES_DIR / "epoch-000.png").exists() and \
            os.environ.get("RANK", "0") == "0":
        run.step.save_samples(0)  # the untrained model's grid (epoch 0); a resumed run keeps its own
    return train_run(run)


def train_gan(args: GANArguments, training_args: TrainingArguments) -> TrainResult:
    """Load the cats, build the GAN from the recipe, train it with the engine, save it and its figures."""
    return _train("gan", args, training_args)


def train_vae(args: VAEArguments, training_args: TrainingArguments) -> TrainResult:
    """Load the cats, build the VAE from the recipe, train it with the engine, save it and its figures."""
    return _train("vae", args, training_args)


# ------------------------------------------------------------------------------------ figures
def nearest_real(generated: torch.Tensor, real: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Index of each generated image's nearest real image in pixel space (Euclidean, uint8 → [0, 1])."""
    queries = generated.flatten(1).float() / 255
    best_distance = torch.full((len(queries),), float("inf"))
    best_index = torch.zeros(len(queries), dtype=torch.long)
    for start in range(0, len(real), chunk):
        block = real[start:start + chunk].flatten(1).float() / 255
        distances = torch.cdist(queries, block)
        value, index = distances.min(dim=1)
        better = value < best_distance
        best_distance[better], best_index[better] = value[better], index[better] + start
    return best_index


def sample_epochs(output_dir: str | Path) -> list[int]:
    return sorted(int(path.stem.split("-")[1]) for path in (Path(output_dir) / SAMPLES_DIR).glob("epoch-*.png"))


def load_epoch_samples(output_dir: str | Path, epoch: int, count: int, num_sample_images: int,
                       size: int) -> np.ndarray:
    from PIL import Image

    grid = np.asarray(Image.open(Path(output_dir) / SAMPLES_DIR / f"epoch-{epoch:03d}.png").convert("RGB"))
    return grid_tiles(grid, size, count, grid_columns(num_sample_images))


def pick_evenly(values: list[int], count: int) -> list[int]:
    if len(values) <= count:
        return values
    return sorted({values[round(i * (len(values) - 1) / (count - 1))] for i in range(count)})


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_final_grid(model, real: torch.Tensor, path: Path, *, seed: int, title: str, grid_count: int = 36,
                    pairs: int = 6) -> None:
    """Left: generated images; right: some of them next to their nearest real image (pixel space)."""
    plt = _plt()
    generated = to_uint8(model.generate(grid_count, seed=seed))
    nearest = real[nearest_real(generated[:pairs], real)]
    comparison = torch.stack([torch.stack([g, r]) for g, r in zip(generated[:pairs], nearest)]).flatten(0, 1)
    figure, axes = plt.subplots(1, 2, figsize=(10, 6), gridspec_kw={"width_ratios": [3, 1.1]})
    axes[0].imshow(image_grid(generated, grid_columns(grid_count)))
    axes[0].set_title(f"{title}: {grid_count} samples (seed {seed})")
    axes[1].imshow(image_grid(comparison, 2))
    axes[1].set_title("generated | nearest real\n(pixel-space L2, distinct cats)", fontsize=9)
    for axis in axes:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_evolution(runs: dict[str, Path], path: Path, *, num_latents: int = 8, max_rows: int = 8,
                   num_sample_images: int = 64, size: int = 64) -> None:
    """Rows = epochs (evenly picked, 0 = untrained), columns = the first fixed latents; one panel per run."""
    plt = _plt()
    num_latents = min(num_latents, num_sample_images)
    picked = {name: pick_evenly(sample_epochs(output_dir), max_rows) for name, output_dir in runs.items()}
    rows = max(len(epochs) for epochs in picked.values())
    figure, axes = plt.subplots(1, len(runs), figsize=(5.6 * len(runs), 5.6 * rows / num_latents + 0.5),
                                squeeze=False)
    for axis, (name, output_dir) in zip(axes[0], runs.items()):
        epochs = picked[name]
        tiles = [load_epoch_samples(output_dir, epoch, num_latents, num_sample_images, size) for epoch in epochs]
        axis.imshow(image_grid(np.concatenate(tiles), num_latents))
        step = size + 2
        axis.set_yticks([2 + step * i + size / 2 for i in range(len(epochs))], [f"epoch {e}" for e in epochs])
        axis.set_xticks([])
        axis.set_title(f"{name}: the same {num_latents} latents over training")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_interpolations(models: dict[str, object], path: Path, *, seed: int, num_pairs: int = 4,
                        steps: int = 10) -> None:
    """Per model, ``num_pairs`` strips of linear interpolation between two random latents (seed's Figure 14)."""
    plt = _plt()
    strips = []
    for name, model in models.items():
        rows = [to_uint8(model.interpolate(seed * 1000 + 2 * i, seed * 1000 + 2 * i + 1, steps))
                for i in range(num_pairs)]
        strips.append((name, image_grid(torch.cat(rows), steps)))
    figure, axes = plt.subplots(len(strips), 1, figsize=(steps * 0.9, num_pairs * 1.0 * len(strips) + 0.6),
                                squeeze=False)
    for axis, (name, strip) in zip(axes[:, 0], strips):
        axis.imshow(strip)
        axis.set_title(f"{name}: linear interpolation between {num_pairs} random pairs of latents")
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def read_loss_trace(output_dir: str | Path) -> list[dict]:
    path = Path(output_dir) / LOSS_TRACE
    if not path.exists():
        return []
    by_epoch = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        by_epoch[record["epoch"]] = record  # a resumed epoch replaces its partial record
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]


def plot_losses(output_dir: str | Path, path: Path, *, kind: str) -> None:
    """Per-batch losses (light) with a moving average, against epochs; both players for the GAN."""
    plt = _plt()
    trace = read_loss_trace(output_dir)
    names = ("discriminator_loss", "generator_loss") if kind == "gan" else ("reconstruction_loss", "kl_loss")
    figure, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 3.6), squeeze=False)
    for axis, name in zip(axes[0], names):
        xs, ys = [], []
        for record in trace:
            values = record[name]
            xs += [record["epoch"] - 1 + (i + 1) / len(values) for i in range(len(values))]
            ys += values
        if ys:
            window = max(1, len(ys) // 100)
            smooth = np.convolve(ys, np.ones(window) / window, mode="valid")
            axis.plot(xs, ys, alpha=0.25, lw=0.5)
            axis.plot(xs[window - 1:], smooth, lw=1.5, label=f"moving average ({window} batches)")
            axis.legend(fontsize=8)
        unit = {"kl_loss": " (nats per image)", "reconstruction_loss": " (BCE/MSE per pixel value)"}.get(name, "")
        axis.set_title(name.replace("_", " ") + unit)
        axis.set_xlabel("epoch")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def make_report_figures(gan_dir: str | Path, vae_dir: str | Path, out_dir: str | Path, *, seed: int = 2024,
                        num_sample_images: int = 64) -> list[Path]:
    """The comparison figures of the report from two finished runs: the fixed latents of both models over
    the epochs side by side (the seed's Figure 13) and both models' interpolation strips (Figure 14)."""
    from transformers import AutoModel

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gan, vae = AutoModel.from_pretrained(gan_dir).eval(), AutoModel.from_pretrained(vae_dir).eval()
    plot_evolution({"GAN": Path(gan_dir), "VAE": Path(vae_dir)}, out_dir / "evolution_gan_vs_vae.png",
                   num_sample_images=num_sample_images, size=gan.config.image_size)
    plot_interpolations({"GAN": gan, "VAE": vae}, out_dir / "interpolation_gan_vs_vae.png", seed=seed)
    return [out_dir / "evolution_gan_vs_vae.png", out_dir / "interpolation_gan_vs_vae.png"]


def make_figures(output_dir: str | Path, model, real_images: torch.Tensor, *, kind: str, seed: int = 2024,
                 num_sample_images: int = 64) -> list[Path]:
    """The end-of-run figures of one run, in ``output_dir/figures``."""
    output_dir = Path(output_dir)
    figures = output_dir / FIGURES_DIR
    figures.mkdir(parents=True, exist_ok=True)
    name = kind.upper()
    size = model.config.image_size
    with eval_mode(model):
        plot_final_grid(model, real_images, figures / "final_grid.png", seed=seed, title=name)
        plot_interpolations({name: model}, figures / "interpolation.png", seed=seed)
    plot_evolution({name: output_dir}, figures / "evolution.png", num_sample_images=num_sample_images, size=size)
    plot_losses(output_dir, figures / "loss_curves.png", kind=kind)
    return sorted(figures.glob("*.png"))
