"""Aggregate unit results over seeds, draw the seed-style figures and write report.md.

What is plotted and tabulated, and which way is better, comes from the experiment's task
(``definitions.TASKS``): accuracy (higher is better) for the classifiers, the common-sense error in
minutes (lower is better, log axis) for the clock reader.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np

from .definitions import EXPERIMENTS, FULL_TRAIN_EXPERIMENTS, PROFILES, Task, task_of
from .runner import Unit


def mean_std(series: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population, ddof=0) standard deviation per epoch over seeds; ragged runs are cut
    to the shortest."""
    length = min(len(values) for values in series)
    stacked = np.array([values[:length] for values in series], dtype=float)
    return stacked.mean(axis=0), stacked.std(axis=0)


def aggregate(units: list[Unit], results: dict[str, dict]) -> dict:
    """(experiment, family) → axis → variant → {curve: (mean, std), test metric: (mean, std), 'seeds': n}."""
    table: dict = {}
    for unit in units:
        result = results.get(unit.key)
        if result is None:
            continue
        cell = (table.setdefault((unit.experiment, unit.family), {}).setdefault(unit.axis, {})
                .setdefault(unit.variant.name, {"results": []}))
        cell["results"].append(result)
    for (experiment, _), axes in table.items():
        task = task_of(experiment)
        for variants in axes.values():
            for cell in variants.values():
                results_ = cell.pop("results")
                cell["seeds"] = len(results_)
                for curve in task.curves:
                    series = [[record[curve] for record in r["history"] if curve in record] for r in results_]
                    if all(series):
                        cell[curve] = mean_std(series)
                for name in (*task.test_metrics, "train_time_s"):
                    values = [r["metrics"][name] for r in results_ if name in r["metrics"]]
                    if values:
                        cell[name] = (float(np.mean(values)), float(np.std(values)))
                cell["wall_time_s"] = float(sum(r["wall_time_s"] for r in results_))
    return table


def headline(cell: dict, task: Task, full_train: bool = False) -> tuple[float, float] | None:
    """The number a variant is judged by: its first test metric where there is one (best/transfer, and the
    clock reader's fresh test clocks), else its final validation value; (mean, std) over seeds."""
    test = task.test_metrics[0]
    if (full_train or task.name != "classification") and test in cell:
        return cell[test]
    if task.eval_curve in cell:
        mean, std = cell[task.eval_curve]
        return float(mean[-1]), float(std[-1])
    return None


def best_variant(variants: dict, task: Task, full_train: bool = False) -> str | None:
    """The variant with the best headline mean, in the task's direction (lower wins for errors)."""
    scored = {name: value[0] for name, cell in variants.items() if (value := headline(cell, task, full_train))}
    if not scored:
        return None
    return (max if task.higher_is_better else min)(scored, key=scored.get)


def plot_experiment(experiment: str, family: str, axes: dict, path: Path) -> Path:
    """One panel per axis, one colour per variant, train solid, validation dotted, ±std shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    task = task_of(experiment)
    names = list(axes)
    columns = min(len(names), 3)
    rows = math.ceil(len(names) / columns)
    figure, panels = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.0 * rows), squeeze=False,
                                  sharey=task.log_scale)
    eval_label = "test" if experiment in FULL_TRAIN_EXPERIMENTS else "validation"
    for panel, axis_name in zip(panels.flat, names):
        for colour, (variant, cell) in zip(plt.cm.tab10.colors, axes[axis_name].items()):
            for curve, style in ((task.train_curve, "-"), (task.eval_curve, ":")):
                if curve not in cell:
                    continue
                mean, std = cell[curve]
                epochs = np.arange(1, len(mean) + 1)
                # One legend entry per variant (the title says solid = train, dotted = validation/test).
                label = variant if curve == task.train_curve else None
                panel.plot(epochs, mean, style, color=colour, label=label, linewidth=1.8)
                # On a log axis the band must stay positive.
                lower = np.maximum(mean - std, mean / 10) if task.log_scale else mean - std
                panel.fill_between(epochs, lower, mean + std, color=colour, alpha=0.15)
        if task.log_scale:
            panel.set_yscale("log")
        panel.set_title(axis_name)
        panel.set_xlabel("epoch")
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
        panel.set_ylabel(task.metric_label)
        panel.grid(alpha=0.3, which="both" if task.log_scale else "major")
        panel.legend(fontsize=7, loc="lower right" if task.higher_is_better else "best")
    for panel in list(panels.flat)[len(names):]:
        panel.axis("off")
    seeds = max(cell["seeds"] for variants in axes.values() for cell in variants.values())
    figure.suptitle(f"{_heading(experiment, family)} "
                    f"(mean ± std over {seeds} seed(s); solid train, dotted {eval_label})")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _heading(experiment: str, family: str) -> str:
    """The experiment's title, with the model family where the experiment trains several."""
    title = EXPERIMENTS[experiment]["title"]
    return title if len(task_of(experiment).families) == 1 else f"{title} — {family.upper()}"


def _fmt(pair, percent: bool = True) -> str:
    mean, std = pair
    return f"{100 * mean:.2f} ± {100 * std:.2f}" if percent else f"{mean:.1f} ± {std:.1f}"


def _final(cell: dict, curve: str):
    return (cell[curve][0][-1], cell[curve][1][-1]) if curve in cell else None


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _profile_notes(tasks: set[str], profile: str) -> list[str]:
    """What the quick profile cuts, per task in the study."""
    spec = PROFILES[profile]
    notes = []
    if profile == "quick" and "classification" in tasks:
        notes += [(f"**Quick profile**: MLP {spec.epochs['mlp']} epochs on {spec.max_train_samples['mlp']:,} "
                   f"training / {spec.max_eval_samples['mlp']:,} validation images; CNN {spec.epochs['cnn']} "
                   f"epochs on {spec.max_train_samples['cnn']:,} / {spec.max_eval_samples['cnn']:,}; best and "
                   f"transfer models on {spec.best_max_train_samples:,} training images, tested on the full test "
                   "sets. Numbers are lower than a full run's; compare variants with each other."), ""]
    if "clock" in tasks:
        if spec.clock:
            sizes = (f"{spec.epochs.get('clock', 'train_clock default')} epochs on "
                     f"{spec.clock['num_train_examples']:,} generated training clocks at "
                     f"{spec.clock['image_size']}×{spec.clock['image_size']}, "
                     f"{spec.clock['num_eval_examples']:,} validation and {spec.clock['num_test_examples']:,} "
                     "fresh test clocks")
        else:
            sizes = "train_clock's default sizes (96×96, 40,000 training / 1,000 validation / 2,000 test clocks)"
        notes += [(f"**{profile.capitalize()} profile (clock reader)**: {sizes}; otherwise train_clock's recipe "
                   "(AdamW, one-cycle to 3e-3, batch 32, quarter-turn augmentation). Every unit sees the same "
                   "clocks (data_seed 0); the seeds change the initial weights and the batch order. Errors are "
                   "common-sense errors in minutes (lower is better)"
                   + (", higher than a full run's; compare variants with each other." if spec.clock else ".")), ""]
    return notes


def _table(experiment: str, axes: dict) -> list[str]:
    task = task_of(experiment)
    full = experiment in FULL_TRAIN_EXPERIMENTS
    if task.name == "classification":
        header = "| axis | variant | seeds | final train acc % | final " + (
            "test acc % |" if full else "validation acc % |")
        lines = [header, "| --- | --- | --- | --- | --- |"]
        for axis_name, variants in axes.items():
            for variant, cell in variants.items():
                final_eval = cell.get("test_accuracy") if full else _final(cell, "eval_accuracy")
                lines.append(f"| {axis_name} | {variant} | {cell['seeds']} | {_fmt(_final(cell, 'train_accuracy'))} | "
                             f"{_fmt(final_eval) if final_eval else 'n/a'} |")
        return lines
    # The clock reader: test errors (minutes) and hour accuracy on fresh clocks, plus the final curves.
    lines = [("| axis | variant | seeds | test cse mean | test cse median | test cse p90 | test hour acc % | "
              "final train cse | final validation cse | train time s |"),
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for axis_name, variants in axes.items():
        for variant, cell in variants.items():
            cells = [cell.get("test_cse_mean"), cell.get("test_cse_median"), cell.get("test_cse_p90")]
            row = [_fmt(value, percent=False) if value else "n/a" for value in cells]
            row.append(_fmt(cell["test_hour_accuracy"]) if "test_hour_accuracy" in cell else "n/a")
            row += [_fmt(value, percent=False) if value else "n/a"
                    for value in (_final(cell, "train_cse"), _final(cell, "eval_cse_mean"))]
            row.append(f"{cell['train_time_s'][0]:.0f}" if "train_time_s" in cell else "n/a")
            lines.append(f"| {axis_name} | {variant} | {cell['seeds']} | " + " | ".join(row) + " |")
    return lines


def _best_line(experiment: str, axes: dict) -> list[str]:
    task = task_of(experiment)
    full = experiment in FULL_TRAIN_EXPERIMENTS or task.name != "classification"
    judged_by = task.test_metrics[0] if full else f"final {task.eval_curve}"
    direction = "higher" if task.higher_is_better else "lower"
    picks = [f"{axis_name}: {best}" for axis_name, variants in axes.items()
             if len(variants) > 1 and (best := best_variant(variants, task, full))]
    return [f"Best by {judged_by} ({direction} is better): " + "; ".join(picks) + ".", ""] if picks else []


def write_report(units: list[Unit], results: dict[str, dict], output_dir: str | Path, *, command: str,
                 profile: str) -> Path:
    output_dir = Path(output_dir)
    table = aggregate(units, results)
    tasks = {unit.task.name for unit in units}
    title = " + ".join(dict.fromkeys(unit.task.title for unit in units)) or "Study"
    lines = [f"# {title} ({profile} profile)", ""]
    lines += _profile_notes(tasks, profile)
    total_time = sum(result["wall_time_s"] for result in results.values())
    planned = len({unit.key for unit in units})
    lines += [f"Command: `{command}`  ", f"Commit: `{_commit()}`  ",
              f"Units finished: {len(results)} of {planned}; summed training wall time {total_time / 60:.1f} min.",
              ""]
    if len(results) < planned:
        lines += [(f"**Partial report**: {planned - len(results)} unit(s) had not finished; the tables and figures "
                   "show what had (the seeds column says how many runs each row averages)."), ""]
    if any(unit.variant.dataset == "cifar10" for unit in units):
        lines += [("CIFAR-10 test accuracy is measured on the first 1,000 official test images (all that "
                   "`../shared/data/cifar10` holds)."), ""]
    for (experiment, family), axes in table.items():
        families = task_of(experiment).families
        stem = experiment if len(families) == 1 else f"{experiment}_{family}"
        figure = plot_experiment(experiment, family, axes, output_dir / f"{stem}.png")
        lines += [f"## {_heading(experiment, family)}", "",
                  f"![{experiment} {family}]({figure.name})", ""]
        lines += _table(experiment, axes)
        lines.append("")
        lines += _best_line(experiment, axes)
    path = output_dir / "report.md"
    output_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
