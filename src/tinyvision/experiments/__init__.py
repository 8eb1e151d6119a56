"""The studies (Task 1 classifiers, Task 2 clock-reader heads): experiment definitions (data), a resumable,
shardable runner, and the report."""

from .definitions import EXPERIMENTS, PROFILES, TASKS, Axis, Profile, Task, Variant, axes_for, task_of
from .report import aggregate, best_variant, mean_std, plot_experiment, write_report
from .runner import Unit, expand, load_results, merge, run_study, run_unit, unique_runs

__all__ = [
    "EXPERIMENTS",
    "PROFILES",
    "TASKS",
    "Axis",
    "Profile",
    "Task",
    "Unit",
    "Variant",
    "aggregate",
    "axes_for",
    "best_variant",
    "expand",
    "load_results",
    "mean_std",
    "merge",
    "plot_experiment",
    "run_study",
    "run_unit",
    "task_of",
    "unique_runs",
    "write_report",
]
