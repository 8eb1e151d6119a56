"""Where a run's data came from, for its card: the dataset, background photos, generator version and seeds.

Read from ``run_config.json`` (``data_source``, ``backgrounds``, ``data_seeds``, ``generator_version`` /
``scene_generator_version``) and the task's arguments; older runs that recorded less fall back to what
can be derived from them.
"""

from __future__ import annotations

import re
from pathlib import Path

from .catalogue import _REPO_ID, Family, _known_dataset
from .formatting import _public_path, _public_text


def _is_local_path(name: str) -> bool:
    """A folder on this machine, not a Hub id (``user/name``)."""
    return name.startswith((".", "/", "~")) or name.count("/") != 1 or Path(name).expanduser().exists()


def _dataset_context(family: Family, run: dict, task_args: dict) -> dict:
    run_config = run["run_config"]
    name = task_args.get("dataset_name") or task_args.get("dataset")
    source = _known_dataset(name) if name else None
    local = bool(name) and _is_local_path(str(name))
    hub_id = source.hub_id if source else (str(name) if name and not local and _REPO_ID.match(str(name)) else None)
    generated = family.generator is not None and not name
    data_source = str(run_config.get("data_source") or "")
    if name:
        data_source = data_source.replace(str(name), _public_path(str(name)))
    if generated:
        display, type_ = family.generator.name, family.generator.type
    elif source:
        display = source.name
        type_ = hub_id or source.key
    else:
        display = _public_path(str(name)) if name else str(run_config.get("data_source", "unknown"))
        type_ = hub_id or (Path(str(name)).name if name else "unknown")
    return {
        "name": display,
        "type": type_,
        "hub_id": hub_id,
        "given": _public_path(str(name)) if name else None,
        "local": local,
        "generated": generated,
        "source": source,
        "license": source.license if source else None,
        "url": source.url if source else (f"https://huggingface.co/datasets/{hub_id}" if hub_id else None),
        "note": source.note if source else "",
        "data_source": _public_text(data_source) or None,
    }


def _backgrounds(run_config: dict) -> dict:
    """The photo collections a scene run drew its backgrounds from (procedural backgrounds: none).

    Runs record them as ``"backgrounds": {"count": 20000, "sources": ["data/cifar10", "user/walls"]}``;
    older runs only in their ``data_source`` text (``"... 20000 background photos from A, B, 5% without a
    clock"``), which is read as a fallback."""
    recorded = run_config.get("backgrounds")
    if isinstance(recorded, dict):
        count, given = int(recorded.get("count") or 0), [str(name) for name in recorded.get("sources") or []]
    else:
        found = re.search(r"(\d+) background photos from (.+), [\d.]+% without",
                          str(run_config.get("data_source", "")))
        if not found:
            return {"count": 0, "sources": []}
        count, given = int(found.group(1)), found.group(2).split(", ")
    if not count:
        return {"count": 0, "sources": []}
    return {"count": count, "sources": [_background_source(name) for name in given]}


def _background_source(given: str) -> dict:
    known = _known_dataset(given)
    return {"given": _public_path(given), "name": known.name if known else _public_path(given),
            "hub_id": known.hub_id if known else None, "license": known.license if known else None,
            "url": known.url if known else None, "citations": known.citations if known else ()}


def _seed_rows(family: Family, task_args: dict, training_args: dict) -> dict:
    seeds = {"training seed (weights, shuffling, dropout)": training_args.get("seed")}
    if "validation_seed" in task_args:
        seeds["validation split seed"] = task_args["validation_seed"]
    if "data_seed" in task_args:
        seeds["data seed"] = task_args["data_seed"]
    return {key: value for key, value in seeds.items() if value is not None}


def _clock_generator(family: Family, run_config: dict, task_args: dict) -> dict | None:
    """The version of the generator that rendered the run's data (the installed one if the run did not say)."""
    if family.generator is None:
        return None
    key = family.generator.version_key
    recorded = run_config.get(key) or task_args.get(key)
    if recorded is not None:
        return {"version": str(recorded), "recorded": True}
    import importlib

    module, _, attribute = family.generator.version_attr.partition(":")
    try:
        return {"version": str(getattr(importlib.import_module(module), attribute)), "recorded": False}
    except (ImportError, AttributeError):  # pragma: no cover
        return {"version": None, "recorded": False}


def _clock_seeds(run_config: dict, task_args: dict) -> dict | None:
    """The generator seed of each split when train_clock rendered the clocks itself (``data_seeds`` where
    the run recorded them, else derived from ``data_seed``)."""
    if task_args.get("dataset_name"):
        return None
    if isinstance(run_config.get("data_seeds"), dict):
        return run_config["data_seeds"]
    if task_args.get("data_seed") is None:
        return None
    from ..data.clocks import split_seeds  # numpy and PIL: only when needed

    return split_seeds(task_args["data_seed"])
