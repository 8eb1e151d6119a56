"""Figures for cards and reports: training curves from ``history.json`` and grids of clock samples.

matplotlib is imported inside each function, so importing this module costs nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["plot_clock_grid", "plot_training_curves"]


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
