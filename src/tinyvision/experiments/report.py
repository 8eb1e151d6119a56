"""Aggregate unit results over seeds, draw the seed-style figures and write report.md."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np

from .definitions import EXPERIMENTS, FULL_TRAIN_EXPERIMENTS, PROFILES, axes_for
from .runner import Unit

CURVES = ("train_accuracy", "eval_accuracy", "train_loss", "eval_loss")


def mean_std(series: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population, ddof=0) standard deviation per epoch over seeds; ragged runs are cut
    to the shortest."""
    length = min(len(values) for values in series)
    stacked = np.array([values[:length] for values in series], dtype=float)
    return stacked.mean(axis=0), stacked.std(axis=0)


def aggregate(units: list[Unit], results: dict[str, dict]) -> dict:
    """(experiment, family) → axis → variant → {curve: (mean, std), 'final': ..., 'seeds': n}."""
    table: dict = {}
    for unit in units:
        result = results.get(unit.key)
        if result is None:
            continue
        cell = (table.setdefault((unit.experiment, unit.family), {}).setdefault(unit.axis, {})
                .setdefault(unit.variant.name, {"results": []}))
        cell["results"].append(result)
    for axes in table.values():
        for variants in axes.values():
            for cell in variants.values():
                results_ = cell.pop("results")
                cell["seeds"] = len(results_)
                for curve in CURVES:
                    series = [[record[curve] for record in r["history"] if curve in record] for r in results_]
                    if all(series):
                        cell[curve] = mean_std(series)
                tests = [r["metrics"]["test_accuracy"] for r in results_ if "test_accuracy" in r["metrics"]]
                if tests:
                    cell["test_accuracy"] = (float(np.mean(tests)), float(np.std(tests)))
                cell["wall_time_s"] = float(sum(r["wall_time_s"] for r in results_))
    return table


def plot_experiment(experiment: str, family: str, axes: dict, path: Path) -> Path:
    """One panel per axis, one colour per variant, train solid, validation dotted, ±std shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(axes)
    columns = min(len(names), 3)
    rows = math.ceil(len(names) / columns)
    figure, panels = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.0 * rows), squeeze=False)
    eval_label = "test" if experiment in FULL_TRAIN_EXPERIMENTS else "validation"
    for panel, axis_name in zip(panels.flat, names):
        for colour, (variant, cell) in zip(plt.cm.tab10.colors, axes[axis_name].items()):
            for curve, style in (("train_accuracy", "-"), ("eval_accuracy", ":")):
                if curve not in cell:
                    continue
                mean, std = cell[curve]
                epochs = np.arange(1, len(mean) + 1)
                label = f"{variant} ({'train' if curve.startswith('train') else eval_label})"
                panel.plot(epochs, mean, style, color=colour, label=label, linewidth=1.8)
                panel.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.15)
        panel.set_title(axis_name)
        panel.set_xlabel("epoch")
        panel.set_ylabel("accuracy")
        panel.grid(alpha=0.3)
        panel.legend(fontsize=7, loc="lower right")
    for panel in list(panels.flat)[len(names):]:
        panel.axis("off")
    seeds = max(cell["seeds"] for variants in axes.values() for cell in variants.values())
    figure.suptitle(f"{EXPERIMENTS[experiment]['title']} — {family.upper()} "
                    f"(mean ± std over {seeds} seed(s); solid train, dotted {eval_label})")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _fmt(pair) -> str:
    mean, std = pair
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_report(units: list[Unit], results: dict[str, dict], output_dir: str | Path, *, command: str,
                 profile: str) -> Path:
    output_dir = Path(output_dir)
    table = aggregate(units, results)
    lines = [f"# Task 1 study ({profile} profile)", ""]
    if profile == "quick":
        spec = PROFILES["quick"]
        lines += [f"**Quick profile**: MLP {spec.epochs['mlp']} epochs on {spec.max_train_samples['mlp']:,} "
                  f"training / {spec.max_eval_samples['mlp']:,} validation images; CNN {spec.epochs['cnn']} "
                  f"epochs on {spec.max_train_samples['cnn']:,} / {spec.max_eval_samples['cnn']:,}; best and "
                  f"transfer models on {spec.best_max_train_samples:,} training images, tested on the full test "
                  "sets. Numbers are lower than a full run's; compare variants with each other.", ""]
    total_time = sum(result["wall_time_s"] for result in results.values())
    planned = len({unit.key for unit in units})
    lines += [f"Command: `{command}`  ", f"Commit: `{_commit()}`  ",
              f"Units finished: {len(results)} of {planned}; summed training wall time {total_time / 60:.1f} min.",
              ""]
    if len(results) < planned:
        lines += [f"**Partial report**: {planned - len(results)} unit(s) had not finished; the tables and figures "
                  "show what had (the seeds column says how many runs each row averages).", ""]
    if any(unit.variant.dataset == "cifar10" for unit in units):
        lines += ["CIFAR-10 test accuracy is measured on the first 1,000 official test images (all that "
                  "`../shared/data/cifar10` holds).", ""]
    for (experiment, family), axes in table.items():
        figure = plot_experiment(experiment, family, axes, output_dir / f"{experiment}_{family}.png")
        lines += [f"## {EXPERIMENTS[experiment]['title']} — {family.upper()}", "",
                  f"![{experiment} {family}]({figure.name})", ""]
        full = experiment in FULL_TRAIN_EXPERIMENTS
        header = "| axis | variant | seeds | final train acc % | final " + (
            "test acc % |" if full else "validation acc % |")
        lines += [header, "| --- | --- | --- | --- | --- |"]
        for axis_name, variants in axes.items():
            for variant, cell in variants.items():
                final_train = (cell["train_accuracy"][0][-1], cell["train_accuracy"][1][-1])
                final_eval = cell.get("test_accuracy") if full else (
                    cell["eval_accuracy"][0][-1], cell["eval_accuracy"][1][-1])
                lines.append(f"| {axis_name} | {variant} | {cell['seeds']} | {_fmt(final_train)} | "
                             f"{_fmt(final_eval) if final_eval else 'n/a'} |")
        lines.append("")
    path = output_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


