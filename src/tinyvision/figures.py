"""Figures for cards and reports: training curves from ``history.json``, grids of clock samples, and the
generative runs' figures (sample grids next to their nearest real images, the evolution of fixed latents,
interpolation strips, loss curves).

matplotlib is imported inside each function, so importing this module costs no matplotlib.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from .models.modeling_utils import eval_mode

__all__ = ["make_figures", "make_report_figures", "plot_clock_grid", "plot_training_curves"]

# What a generative run writes beside its model (tinyvision.tasks.generative).
SAMPLES_DIR = "samples"
FIGURES_DIR = "figures"
LOSS_TRACE = "loss_trace.jsonl"


def plot_training_curves(history: list[dict], path, *, aliases: dict | None = None, panels=()) -> Path:
    """One panel per measured quantity (train and validation together), x = epoch: the ``panels`` the
    history has, in that order, else the first six quantities found."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    aliases = aliases or {}
    skip = {"epoch", "step", "learning_rate", "epoch_time_s", "train_samples_per_second"}
    series: dict[str, list[str]] = {}
    for record in history:
        for key, value in record.items():
            if key in skip or key.endswith("num_examples") or not isinstance(value, (int, float)):
                continue
            prefix, _, base = key.partition("_")
            base = aliases.get(base, base) if prefix in ("train", "eval") else key
            if key not in series.setdefault(base, []):
                series[base].append(key)
    names = [name for name in panels if name in series] or list(series)[:6]
    figure = Figure(figsize=(4.2 * max(len(names), 1), 3.2), dpi=100, layout="constrained")
    axes = figure.subplots(1, max(len(names), 1), squeeze=False)[0]
    for axis, name in zip(axes, names):
        for key in series[name]:
            points = [(r["epoch"], r[key]) for r in history if isinstance(r.get(key), (int, float))]
            label = {"train": "train", "eval": "validation"}.get(key.partition("_")[0], key)
            axis.plot(*zip(*points), marker="o", markersize=3, label=label)
        axis.set_title(name.replace("_", " "))
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def plot_clock_grid(dataset, path, *, count: int = 16, columns: int = 8) -> Path:
    """The first ``count`` clocks of ``dataset`` with their labelled times, as a PNG."""
    from matplotlib.figure import Figure

    count = min(count, len(dataset))
    rows = max(1, math.ceil(count / columns))
    figure = Figure(figsize=(1.3 * columns, 1.5 * rows), dpi=100, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < count:
            row = dataset[index]
            axis.imshow(row["image"], cmap="gray", vmin=0, vmax=255)
            axis.set_title(f"{row['hour']}:{row['minute']:02d}", fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


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
