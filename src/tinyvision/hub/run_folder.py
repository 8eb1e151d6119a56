"""Reading a finished training run folder: its JSON files, weights, modeling code and figures.

A run folder is what :class:`~tinyvision.training.Engine` writes: weights, configs, modeling code,
``all_results.json``, ``history.json``, ``run_config.json`` and checkpoints.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .catalogue import FAMILIES, Family
from .formatting import _safe_name

__all__ = ["CURVES_FIGURE", "EVIDENCE_FILES", "ReleaseError", "detect_family", "is_run_folder", "list_folder"]

# The evidence shipped next to the weights: every number on the card comes from one of these.
EVIDENCE_FILES = ("all_results.json", "history.json", "fid_kid.json", "fid_kid_untrained.json")
# scripts/evaluate_generator.py writes a generative run's FID/KID here (and the untrained baseline's).
GENERATOR_EVALUATION = "fid_kid.json"
GENERATOR_BASELINE = "fid_kid_untrained.json"
FIGURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg")
FIGURE_FOLDERS = ("figures", "samples")  # sub-folders of a run whose images are shipped too
LATEST_ONLY_FOLDERS = ("samples",)  # one image per epoch: ship the last one only
CURVES_FIGURE = "figures/training_curves.png"
# transformers' own regexes for the sibling modules a remote-code file imports.
_RELATIVE_IMPORT = (re.compile(r"^\s*import\s+\.(\S+)\s*$", re.MULTILINE),
                    re.compile(r"^\s*from\s+\.(\S+)\s+import", re.MULTILINE))


class ReleaseError(ValueError):
    """A run folder that cannot become a release (unfinished, incomplete or of an unknown family)."""


def is_run_folder(folder) -> bool:
    """Whether ``folder`` is a training run (it has ``run_config.json``) rather than a release."""
    return (Path(folder) / "run_config.json").is_file()


def list_folder(folder) -> list[str]:
    """Every file under ``folder`` as a sorted relative POSIX path (what an upload would send)."""
    folder = Path(folder)
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ReleaseError(f"{path} is not valid JSON ({error}); was the run interrupted while writing it?") from error


def _load_run(run_dir) -> dict:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReleaseError(f"{run_dir} is not a folder")
    if not (run_dir / "all_results.json").is_file():
        hint = " It has checkpoints: finish it with --resume_from_checkpoint latest." if any(
            run_dir.glob("checkpoint-*")) else ""
        raise ReleaseError(
            f"{run_dir} has no final metrics (all_results.json is missing): the run did not finish, so there is "
            f"nothing trustworthy to put on a model card.{hint}"
        )
    metrics = _read_json(run_dir / "all_results.json")
    for name in ("config.json", "run_config.json"):
        if not (run_dir / name).is_file():
            raise ReleaseError(f"{run_dir} has no {name}: it is not a finished tinyvision run")
    if not _weight_files(run_dir):
        raise ReleaseError(f"{run_dir} has no model.safetensors: it is not a finished tinyvision run")
    history = _read_json(run_dir / "history.json") if (run_dir / "history.json").is_file() else []
    preprocessor = run_dir / "preprocessor_config.json"
    optional = {name: _read_json(run_dir / name) if (run_dir / name).is_file() else None
                for name in (GENERATOR_EVALUATION, GENERATOR_BASELINE)}
    return {
        "generator_evaluation": optional[GENERATOR_EVALUATION],
        "generator_baseline": optional[GENERATOR_BASELINE],
        "dir": run_dir,
        "metrics": metrics,
        "history": history,
        "run_config": _read_json(run_dir / "run_config.json"),
        "config": _read_json(run_dir / "config.json"),
        "preprocessor": _read_json(preprocessor) if preprocessor.is_file() else None,
    }


def detect_family(config: dict, run_config: dict | None = None) -> Family:
    """The model family of a run, from ``config.json``'s ``model_type`` (else the run's task)."""
    model_type = str(config.get("model_type", ""))
    task = str((run_config or {}).get("task", ""))
    for family in FAMILIES.values():
        if model_type in family.model_types:
            return family
    for family in FAMILIES.values():
        if task in family.tasks:
            return family
    for key in ("gan", "vae"):  # e.g. tinyvision_dcgan, tinyvision_conv_vae
        if key in model_type.lower():
            return FAMILIES[key]
    raise ReleaseError(
        f"no model card template for model_type {model_type!r} (task {task!r}); known families: "
        + ", ".join(f"{f.key} ({', '.join(f.model_types)})" for f in FAMILIES.values())
    )


def _task_args(run_config: dict) -> dict:
    """The task's own arguments in run_config.json (``classifier_args``, ``clock_args``, ...)."""
    for key, value in run_config.items():
        if key.endswith("_args") and key != "training_args" and isinstance(value, dict):
            return value
    return {}


def _weight_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.safetensors") if path.is_file())


def _code_files(run_dir: Path, run: dict) -> list[Path]:
    """The modeling code a ``trust_remote_code`` load needs: auto_map targets and what they import."""
    references = []
    for config in (run["config"], run["preprocessor"] or {}):
        for value in (config.get("auto_map") or {}).values():
            references += value if isinstance(value, (list, tuple)) else [value]
    for pipeline in (run["config"].get("custom_pipelines") or {}).values():
        references.append(pipeline.get("impl"))
    modules = [ref.split("--")[-1].rsplit(".", 1)[0] for ref in references if isinstance(ref, str) and ref]
    needed: dict[str, Path] = {}
    while modules:
        module = modules.pop()
        if module in needed:
            continue
        path = run_dir / f"{module}.py"
        if not path.is_file():
            raise ReleaseError(f"{run_dir} lacks {path.name}, which the saved config needs for trust_remote_code")
        needed[module] = path
        source = path.read_text()
        for pattern in _RELATIVE_IMPORT:
            modules += [name.split(".")[0] for name in pattern.findall(source)]
    return sorted(needed.values())


def _figure_sources(run_dir: Path) -> list[tuple[Path, str]]:
    """(file in the run, path in the release) for every image the run itself wrote: its top level and
    ``figures/`` as they are, and the latest image of ``samples/`` (one grid per epoch)."""
    found = {}
    for folder in (run_dir, *(run_dir / name for name in FIGURE_FOLDERS)):
        if not folder.is_dir():
            continue
        images = [path for path in sorted(folder.iterdir())
                  if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in FIGURE_SUFFIXES]
        if folder.name in LATEST_ONLY_FOLDERS and folder != run_dir:
            images = images[-1:]
        prefix = f"{folder.name}-" if folder.name in LATEST_ONLY_FOLDERS and folder != run_dir else ""
        for path in images:
            target = f"figures/{prefix}{_safe_name(path.name)}"
            if target != CURVES_FIGURE:  # the card's own curves are drawn from history.json
                found.setdefault(target, path)
    return [(path, target) for target, path in found.items()]
