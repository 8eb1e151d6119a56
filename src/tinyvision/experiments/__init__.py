"""The Task 1 study: experiment definitions (data), a resumable, shardable runner, and the report."""

from .definitions import EXPERIMENTS, PROFILES, Axis, Profile, Variant, axes_for
from .report import aggregate, mean_std, plot_experiment, write_report
from .runner import Unit, expand, load_results, merge, run_study, run_unit, unique_runs

__all__ = [
    "EXPERIMENTS",
    "PROFILES",
    "Axis",
    "Profile",
    "Unit",
    "Variant",
    "aggregate",
    "axes_for",
    "expand",
    "load_results",
    "mean_std",
    "merge",
    "plot_experiment",
    "run_study",
    "run_unit",
    "unique_runs",
    "write_report",
]
