"""The release folder: what goes to the Hub from a finished run, allow-listed file by file.

    build_release(run_dir, out_dir)   # weights, configs, code, evidence, figures + README.md (the card)
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from ..figures import plot_training_curves
from .cards import render_model_card
from .formatting import _public_json
from .run_folder import (
    CURVES_FIGURE,
    EVIDENCE_FILES,
    FIGURE_FOLDERS,
    ReleaseError,
    _code_files,
    _figure_sources,
    _load_run,
    _weight_files,
    detect_family,
    list_folder,
)

logger = logging.getLogger(__name__)

__all__ = ["build_release"]


def _release_plan(run_dir: Path, run: dict) -> dict[str, Path]:
    """Release path → run file, allow-listed: weights, configs, code, evidence and figures only."""
    plan = {"config.json": run_dir / "config.json"}
    for path in _weight_files(run_dir):
        plan[path.name] = path
    if (run_dir / "model.safetensors.index.json").is_file():
        plan["model.safetensors.index.json"] = run_dir / "model.safetensors.index.json"
    for name in ("preprocessor_config.json", *EVIDENCE_FILES):
        if (run_dir / name).is_file():
            plan[name] = run_dir / name
    for path in _code_files(run_dir, run):
        plan[path.name] = path
    for source, target in _figure_sources(run_dir):
        plan[target] = source
    return plan

def _copy_evidence(source: Path, destination: Path) -> None:
    """Copy a metrics JSON; numbers are untouched (floats round-trip exactly), local paths shortened."""
    destination.write_text(json.dumps(_public_json(json.loads(source.read_text())), indent=2) + "\n")


def build_release(run_dir, out_dir, *, repo_id: str | None = None, overwrite: bool = False) -> Path:
    """Make the folder that goes to the Hub from a finished run.

    Only allow-listed files are copied: ``*.safetensors``, ``config.json``, ``preprocessor_config.json``,
    the modeling code the config's ``auto_map`` needs (and its relative imports), ``all_results.json``
    and ``history.json`` (the evidence), the run's figures, plus the rendered ``README.md`` and
    ``figures/training_curves.png``. Checkpoints, optimizer states, pickles, logs, dotfiles and anything
    else in the run stay behind. Raises :class:`ReleaseError` for a run without final metrics.
    """
    run_dir, out_dir = Path(run_dir).resolve(), Path(out_dir).resolve()
    inside = run_dir in out_dir.parents
    if out_dir == run_dir or out_dir in run_dir.parents or inside and (
            out_dir.parent != run_dir or out_dir.name in FIGURE_FOLDERS or out_dir.name.startswith("checkpoint-")):
        raise ReleaseError(f"the release folder {out_dir} must be outside the run {run_dir} (or a new direct "
                           "sub-folder of it, such as release/)")
    card = render_model_card(run_dir, repo_id=repo_id)  # fails early, before anything is written
    run = _load_run(run_dir)
    plan = _release_plan(run_dir, run)
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out_dir} is not empty; pass overwrite=True (--overwrite) to replace it")
        if not ((out_dir / "README.md").is_file() and (out_dir / "config.json").is_file()):
            raise FileExistsError(f"{out_dir} is not empty and does not look like a release folder; not replacing it")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for target, source in plan.items():
        destination = out_dir / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        if target in EVIDENCE_FILES:
            _copy_evidence(source, destination)
        else:
            shutil.copy2(source, destination)
    if run["history"]:
        family = detect_family(run["config"], run["run_config"])
        plot_training_curves(run["history"], out_dir / CURVES_FIGURE, aliases=family.curve_aliases,
                             panels=family.curve_panels)
    (out_dir / "README.md").write_text(card, encoding="utf-8")
    logger.info("release of %s in %s: %d files", run_dir, out_dir, len(list_folder(out_dir)))
    return out_dir
