"""The model card of a finished run: everything its template may use, read from the run's files only.

:func:`card_context` gathers the values (so every number on the card is one the run wrote) and
:func:`render_model_card` fills the family's template in ``model_cards/``.
"""

from __future__ import annotations

import fnmatch
import math
import shlex
from pathlib import Path

from .catalogue import CITATIONS, FAMILIES, SPLITS, Family
from .formatting import _describe, _safe_name, _show, render_template
from .provenance import _backgrounds, _clock_generator, _clock_seeds, _dataset_context, _seed_rows
from .run_folder import (
    CURVES_FIGURE,
    GENERATOR_EVALUATION,
    LATEST_ONLY_FOLDERS,
    ReleaseError,
    _code_files,
    _figure_sources,
    _load_run,
    _task_args,
    _weight_files,
    detect_family,
)

__all__ = ["card_context", "render_model_card"]

_HF_CONFIG_KEYS = {"_name_or_path", "architectures", "auto_map", "chunk_size_feed_forward", "custom_pipelines",
                   "dtype", "torch_dtype", "id2label", "is_encoder_decoder", "label2id", "model_type",
                   "output_attentions", "output_hidden_states", "problem_type", "return_dict",
                   "transformers_version", "tie_word_embeddings"}
# Training arguments that say where and how the run logged, not how it learned.
_BOOKKEEPING_ARGS = {"output_dir", "resume_from_checkpoint", "report_to", "disable_tqdm", "num_threads",
                     "checkpointing_steps", "checkpoints_total_limit", "per_device_eval_batch_size", "num_proc",
                     "push_to_hub", "hub_model_id", "hub_private_repo", "hub_token", "cache_dir"}
_BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def card_context(run_dir, *, repo_id: str | None = None) -> dict:
    """Everything a template may use, read from the run's files (nothing is typed in by hand)."""
    run = _load_run(run_dir)
    family = detect_family(run["config"], run["run_config"])
    metrics, run_config = run["metrics"], run["run_config"]
    training_args = run_config.get("training_args", {})
    task_args = _task_args(run_config)
    # A generator is judged by its samples: FID/KID first, where the run has them.
    results = _generator_results(family, run["generator_evaluation"]) + _results(family, metrics)
    if not results:
        wanted = ", ".join(f"{prefix}_{pattern}" for prefix, _ in SPLITS for pattern, _ in family.metrics)
        hint = (f" For a GAN or VAE, run `python scripts/evaluate_generator.py --model_dir {run['dir']}` "
                f"(it writes {GENERATOR_EVALUATION})." if family.key in ("gan", "vae") else "")
        raise ReleaseError(
            f"{run['dir']} has no final metrics for a {family.key} card: all_results.json has "
            f"{sorted(metrics)} but none of {wanted}. Evaluate the model (a test or validation split) first.{hint}"
        )
    dataset = _dataset_context(family, run, task_args)
    backgrounds = _backgrounds(run_config) if dataset["generated"] else {"count": 0, "sources": []}
    repo_id = repo_id or f"<your-username>/{_safe_name(run['dir'].resolve().name)}"
    id2label = run["config"].get("id2label") or {}
    labels = [id2label[key] for key in sorted(id2label, key=lambda k: int(k))] if family.key == "classifier" else []
    dataset_citations = dataset["source"].citations if dataset["source"] else ()
    background_citations = tuple(key for source in backgrounds["sources"] for key in source["citations"])
    citation_keys = list(dict.fromkeys(family.citations + dataset_citations + background_citations))
    parameter_counts = _parameter_counts(run["dir"])
    reader = run["config"].get("reader")  # the photo reader's second stage
    if isinstance(reader, dict):  # as saved, over the reader config's defaults (a saved dict holds only what was set)
        from ..models import ClockReaderConfig

        reader = {**ClockReaderConfig(**reader).to_dict(), **reader}
    from .. import __version__

    return {
        "repo_id": repo_id,
        "model_name": repo_id.split("/")[-1],
        "family": family.key,
        "pipeline_tag": family.pipeline_tag,
        "tags": list(family.tags),
        "license": "mit",
        "tinyvision_version": __version__,
        "config": run["config"],
        "model_class": (run["config"].get("architectures") or [None])[0],
        "model_type": run["config"].get("model_type"),
        "architecture": _architecture(run["config"]),
        "reader": reader,
        "reader_architecture": _architecture(reader) if isinstance(reader, dict) else [],
        "detection": _detection(run),
        "num_parameters": sum(parameter_counts.values()) or None,
        "parameter_counts": parameter_counts,
        "preprocessor": run["preprocessor"],
        "labels": labels,
        "run": run_config,
        "task": run_config.get("task"),
        "task_args": task_args,
        "task_rows": _task_rows(task_args),
        "training_args": training_args,
        "hyperparameters": _hyperparameters(training_args, metrics.get("num_processes")),
        "command": _command_line(family, task_args, training_args, dataset),
        "metrics": metrics,
        "results": results,
        "primary": results[0]["metrics"][0] | {"split": results[0]["split"], "n": results[0]["n"]},
        "history": run["history"],
        "seeds": _seed_rows(family, task_args, training_args),
        "dataset": dataset,
        "datasets": [name for name in dict.fromkeys([dataset["hub_id"], *(b["hub_id"] for b in backgrounds["sources"])])
                     if name],
        "backgrounds": backgrounds,
        "metric_types": list(dict.fromkeys(m["type"] for result in results for m in result["metrics"])),
        "compute": {
            "hardware": _describe(run_config.get("hardware") or metrics.get("hardware")),
            "num_processes": metrics.get("num_processes"),
            "mixed_precision": training_args.get("mixed_precision"),
            "train_time_s": metrics.get("train_time_s"),
            "epochs": metrics.get("epochs"),
            "global_step": metrics.get("global_step"),
            "samples_per_second": metrics.get("train_samples_per_second"),
        },
        "figures": _figures(run),
        "citations": [{"key": key, "text": CITATIONS[key][0], "bibtex": CITATIONS[key][1]} for key in citation_keys],
        "generator": _clock_generator(family, run_config, task_args),
        "generator_evaluation": run["generator_evaluation"],
        "generator_baseline": run["generator_baseline"],
        "data": run_config.get("data") or {},
        "clock_seeds": _clock_seeds(run_config, task_args) if dataset["generated"] else None,
        "code_files": [path.name for path in _code_files(run["dir"], run)],
    }


def render_model_card(run_dir, *, repo_id: str | None = None) -> str:
    """The README.md (model card) of a finished run, rendered from its family's template."""
    context = card_context(run_dir, repo_id=repo_id)
    return render_template(FAMILIES[context["family"]].template, context)


def _metric_label(spec: tuple[str, str], base: str) -> str:
    """``("kid*", "KID")`` names ``kid_mean`` "KID mean"; exact names keep their label."""
    pattern, label = spec
    stem = pattern.rstrip("*")
    rest = base[len(stem):].strip("_").replace("_", " ") if "*" in pattern else ""
    return f"{label} {rest}" if rest else label


def _results(family: Family, metrics: dict) -> list[dict]:
    """Evaluation results per split, in the family's metric order; values are the JSON's, untouched."""
    results = []
    for prefix, split in SPLITS:
        found = []
        for key, value in metrics.items():
            if not key.startswith(prefix + "_") or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            base = key[len(prefix) + 1:]
            order = next((i for i, (pattern, _) in enumerate(family.metrics) if fnmatch.fnmatchcase(base, pattern)),
                         None)
            if order is not None:
                label = _metric_label(family.metrics[order], base)
                found.append((order, {"key": key, "type": base, "label": label, "name": f"{label} ({split})",
                                      "value": value}))
        if found:
            found.sort(key=lambda item: item[0])
            results.append({"prefix": prefix, "split": split, "n": metrics.get(f"{prefix}_num_examples"),
                            "metrics": [entry for _, entry in found]})
    return results


def _generator_results(family: Family, evaluation: dict | None) -> list[dict]:
    """FID/KID from ``fid_kid.json`` (generated images against real training images): split "train"."""
    if not evaluation:
        return []
    found = []
    for key, value in evaluation.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        order = next((i for i, (pattern, _) in enumerate(family.metrics) if fnmatch.fnmatchcase(key, pattern)), None)
        if order is not None:
            label = _metric_label(family.metrics[order], key)
            found.append((order, {"key": key, "type": key, "label": label, "name": f"{label} (vs. training images)",
                                  "value": value}))
    found.sort(key=lambda item: item[0])
    if not found:
        return []
    return [{"prefix": "", "split": "train", "n": evaluation.get("num_generated"), "source": GENERATOR_EVALUATION,
             "metrics": [entry for _, entry in found]}]

def _detection(run: dict) -> dict | None:
    """A photo reader's ``detection_threshold``: the saved value, whether training calibrated it (each epoch's
    ``eval_calibrated_threshold`` becomes the model's threshold, rounded to 4 places) and the threshold in force
    when the last validation was measured (the one before that epoch's calibration)."""
    if not isinstance(run["config"].get("detection_threshold"), (int, float)):
        return None
    threshold = (run["run_config"].get("model_config") or {}).get("detection_threshold")  # before training
    last_validation, calibrated = threshold, None
    for record in run["history"]:
        last_validation = threshold
        value = record.get("eval_calibrated_threshold")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            calibrated, threshold = value, round(float(value), 4)
    value = run["config"]["detection_threshold"]
    return {"value": value, "calibrated": calibrated is not None and math.isclose(round(calibrated, 4), value),
            "last_validation": last_validation}


def _parameter_counts(run_dir: Path) -> dict[str, int]:
    """Parameters per top-level module (``generator``, ``discriminator``, ...), read from the
    safetensors headers without loading a tensor."""
    from safetensors import safe_open

    counts: dict[str, int] = {}
    for path in _weight_files(run_dir):
        with safe_open(str(path), framework="numpy") as handle:
            for name in handle.keys():  # noqa: SIM118 (a safetensors handle, not a dict)
                if name.endswith(_BUFFER_SUFFIXES):  # batch-norm statistics are not parameters
                    continue
                module = name.split(".")[0]
                counts[module] = counts.get(module, 0) + math.prod(handle.get_slice(name).get_shape())
    return counts


def _architecture(config: dict) -> list[tuple[str, str]]:
    return [(key, _show(value)) for key, value in config.items() if key not in _HF_CONFIG_KEYS]


def _defaults_of(spec: str | None) -> dict:
    """Default values of a task's argument dataclass, e.g. ``tinyvision.tasks.clock:ClockArguments``."""
    if not spec:
        return {}
    import dataclasses
    import importlib

    module, _, name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return {}
    defaults = {}
    for item in dataclasses.fields(cls):
        if item.default is not dataclasses.MISSING:
            defaults[item.name] = item.default
        elif item.default_factory is not dataclasses.MISSING:
            defaults[item.name] = item.default_factory()
    return defaults


def _training_defaults() -> dict:
    return _defaults_of("tinyvision.training:TrainingArguments")


def _command_line(family: Family, task_args: dict, training_args: dict, dataset: dict) -> str:
    """The command that repeats this run: the arguments that differ from their defaults."""
    task_defaults, training_defaults = _defaults_of(family.task_arguments), _training_defaults()
    parts = ["accelerate", "launch", family.script or "scripts/<train script>.py"]
    for values, defaults in ((task_args, task_defaults), (training_args, training_defaults)):
        for key, value in values.items():
            if key in _BOOKKEEPING_ARGS or value is None or (key in defaults and defaults[key] == value):
                continue
            if key == "dataset_name" and dataset.get("given"):
                value = dataset["hub_id"] or dataset["given"]
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            parts += [f"--{key}", shlex.quote(text)]
    return " ".join(parts)


def _hyperparameters(training_args: dict, num_processes) -> list[tuple[str, str]]:
    rows = [(key, _show(value)) for key, value in training_args.items()
            if key not in _BOOKKEEPING_ARGS and value is not None]
    batch = training_args.get("per_device_train_batch_size")
    if isinstance(batch, int) and isinstance(num_processes, int):
        effective = batch * training_args.get("gradient_accumulation_steps", 1) * num_processes
        rows.append(("effective batch size (per device × accumulation × processes)", str(effective)))
    return rows


def _task_rows(task_args: dict) -> list[tuple[str, str]]:
    skip = _BOOKKEEPING_ARGS | {"dataset_name", "config_overrides"}
    return [(key, _show(value)) for key, value in task_args.items() if key not in skip and value is not None]

def _caption(release_path: str) -> str:
    stem = Path(release_path).stem
    for name in LATEST_ONLY_FOLDERS:
        if stem.startswith(f"{name}-"):
            return f"{name.capitalize()} of the last epoch ({stem[len(name) + 1:]})"
    return stem.replace("_", " ").replace("-", " ").strip().capitalize()


def _figures(run: dict) -> list[dict]:
    figures = []
    if run["history"]:
        figures.append({"path": CURVES_FIGURE, "caption": "Training curves (per epoch, from history.json)"})
    figures += [{"path": target, "caption": _caption(target)} for _, target in _figure_sources(run["dir"])]
    return figures
