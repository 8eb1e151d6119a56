"""Run records: the per-epoch history JSON, atomic JSON writes, and a JSONL tracker for Accelerate."""

from __future__ import annotations

import json
import os
from pathlib import Path

from accelerate.tracking import GeneralTracker, on_main_process


def write_json_atomic(path: str | Path, payload) -> None:
    """Write JSON next to ``path`` and rename it into place: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=False)
        handle.write("\n")
    os.replace(tmp, path)


class JSONLTracker(GeneralTracker):
    """An Accelerate tracker that needs nothing: one JSON object per ``log`` call in ``metrics.jsonl``."""

    name = "jsonl"
    requires_logging_directory = True
    main_process_only = True

    def __init__(self, run_name: str, logging_dir: str | os.PathLike):
        super().__init__()
        self.run_name = run_name
        self.path = Path(logging_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def tracker(self):
        return self.path

    @on_main_process
    def store_init_configuration(self, values: dict):
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"config": values}, default=str) + "\n")

    @on_main_process
    def log(self, values: dict, step: int | None = None, **kwargs):
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, **values}, default=str) + "\n")


def build_trackers(report_to: str, output_dir: str | Path) -> list:
    """``--report_to`` → the ``log_with`` list for Accelerator: none, all, jsonl, tensorboard, trackio, wandb..."""
    names = [name.strip() for name in report_to.split(",") if name.strip()]
    if not names or names == ["none"]:
        return []
    trackers: list = []
    for name in names:
        if name == "jsonl":
            trackers.append(JSONLTracker("tinyvision", output_dir))
        elif name == "all":
            trackers.extend([JSONLTracker("tinyvision", output_dir), "all"])
        else:
            trackers.append(name)
    return trackers
