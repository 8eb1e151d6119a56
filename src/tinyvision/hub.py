"""Model cards, release folders and publishing to the Hugging Face Hub.

A training run folder (what :class:`~tinyvision.training.Engine` writes: weights, configs, modeling
code, ``all_results.json``, ``history.json``, ``run_config.json``, checkpoints) becomes a *release*:

    build_release(run_dir, out_dir)   # allow-listed files + README.md (card) + figures/
    publish(out_dir, "user/name")     # one HfApi.upload_folder call

The card is rendered from a Jinja template in ``model_cards/`` (one per model family) with values
read from the run's JSON files only, so every number on the card is one the run wrote. Nothing
here reaches the network except :func:`publish`, and a token given to it is handed to
``huggingface_hub`` and never written to disk or to a log.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import os
import re
import shlex
import shutil
import site
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = [
    "DATASETS",
    "FAMILIES",
    "ReleaseError",
    "build_clock_dataset_release",
    "build_release",
    "card_context",
    "detect_family",
    "find_templates_dir",
    "list_folder",
    "publish",
    "push_run_to_hub",
    "render_dataset_card",
    "render_model_card",
    "render_template",
]

TEMPLATES_ENV = "TINYVISION_MODEL_CARDS"  # a folder of templates that overrides the packaged ones
# The evidence shipped next to the weights: every number on the card comes from one of these.
EVIDENCE_FILES = ("all_results.json", "history.json", "fid_kid.json", "fid_kid_untrained.json")
# scripts/evaluate_generator.py writes a generative run's FID/KID here (and the untrained baseline's).
GENERATOR_EVALUATION = "fid_kid.json"
GENERATOR_BASELINE = "fid_kid_untrained.json"
FIGURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg")
FIGURE_FOLDERS = ("figures", "samples")  # sub-folders of a run whose images are shipped too
LATEST_ONLY_FOLDERS = ("samples",)  # one image per epoch: ship the last one only
CURVES_FIGURE = "figures/training_curves.png"
# Defence in depth for upload_folder: a release folder already holds only allow-listed files.
MODEL_ALLOW_PATTERNS = ["*.safetensors", "*.json", "*.py", "*.md", *(f"*{suffix}" for suffix in FIGURE_SUFFIXES)]
DATASET_ALLOW_PATTERNS = ["*.parquet", "*.json", "*.md", *(f"*{suffix}" for suffix in FIGURE_SUFFIXES)]
IGNORE_PATTERNS = [".*", "*/.*", "*.env", "*.bin", "*.pt", "*.pth", "*.pkl", "*.pickle", "*.ckpt", "*.npy", "*.tmp",
                   "checkpoint-*", "*optimizer*", "*scheduler*", "random_states*", "token", "*/token", "*.token",
                   "stored_tokens"]
# transformers' own regexes for the sibling modules a remote-code file imports.
_RELATIVE_IMPORT = (re.compile(r"^\s*import\s+\.(\S+)\s*$", re.MULTILINE),
                    re.compile(r"^\s*from\s+\.(\S+)\s+import", re.MULTILINE))
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")
_HF_CONFIG_KEYS = {"_name_or_path", "architectures", "auto_map", "chunk_size_feed_forward", "custom_pipelines",
                   "dtype", "torch_dtype", "id2label", "is_encoder_decoder", "label2id", "model_type",
                   "output_attentions", "output_hidden_states", "problem_type", "return_dict",
                   "transformers_version", "tie_word_embeddings"}
# Training arguments that say where and how the run logged, not how it learned.
_BOOKKEEPING_ARGS = {"output_dir", "resume_from_checkpoint", "report_to", "disable_tqdm", "num_threads",
                     "checkpointing_steps", "checkpoints_total_limit", "per_device_eval_batch_size", "num_proc",
                     "push_to_hub", "hub_model_id", "hub_private_repo", "hub_token", "cache_dir"}


_BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


class ReleaseError(ValueError):
    """A run folder that cannot become a release (unfinished, incomplete or of an unknown family)."""


# ------------------------------------------------------------------------------------ catalogue
CITATIONS = {
    "geron2022": (
        "A. Géron. *Hands-On Machine Learning with Scikit-Learn, Keras, and TensorFlow*, 3rd edition. "
        "O'Reilly Media, 2022.",
        "@book{geron2022handson,\n  title     = {Hands-On Machine Learning with Scikit-Learn, Keras, and TensorFlow},\n"
        "  author    = {G{\\'e}ron, Aur{\\'e}lien},\n  edition   = {3},\n  publisher = {O'Reilly Media, Inc.},\n"
        "  year      = {2022}\n}",
    ),
    "xiao2017": (
        "H. Xiao, K. Rasul, R. Vollgraf. *Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning "
        "Algorithms.* arXiv:1708.07747, 2017.",
        "@article{xiao2017fashionmnist,\n  title   = {Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine "
        "Learning Algorithms},\n  author  = {Xiao, Han and Rasul, Kashif and Vollgraf, Roland},\n"
        "  journal = {arXiv preprint arXiv:1708.07747},\n  year    = {2017}\n}",
    ),
    "krizhevsky2009": (
        "A. Krizhevsky. *Learning Multiple Layers of Features from Tiny Images.* Technical report, University of "
        "Toronto, 2009.",
        "@techreport{krizhevsky2009learning,\n"
        "  title       = {Learning Multiple Layers of Features from Tiny Images},\n"
        "  author      = {Krizhevsky, Alex},\n  institution = {University of Toronto},\n  year        = {2009}\n}",
    ),
    "cats_kaggle": (
        "spandan2. *Cats faces 64x64 (For generative models).* Kaggle dataset "
        "(kaggle.com/datasets/spandan2/cats-faces-64x64-for-generative-models). Likely cropped from the CAT "
        "dataset of Zhang et al. (2008), not confirmed.",
        "@misc{spandan2_cats64,\n  title        = {Cats faces 64x64 (For generative models)},\n"
        "  author       = {spandan2},\n  howpublished = {Kaggle, "
        "\\url{https://www.kaggle.com/datasets/spandan2/cats-faces-64x64-for-generative-models}}\n}",
    ),
    "zhang2008": (
        "W. Zhang, J. Sun, X. Tang. *Cat Head Detection — How to Effectively Exploit Shape and Texture Features.* "
        "ECCV 2008.",
        "@inproceedings{zhang2008cathead,\n  title     = {Cat Head Detection -- How to Effectively Exploit Shape and "
        "Texture Features},\n  author    = {Zhang, Weiwei and Sun, Jian and Tang, Xiaoou},\n"
        "  booktitle = {European Conference on Computer Vision (ECCV)},\n  year      = {2008}\n}",
    ),
    "zhou2019": (
        "X. Zhou, D. Wang, P. Krähenbühl. *Objects as Points.* arXiv:1904.07850, 2019 (CenterNet).",
        "@article{zhou2019objects,\n  title   = {Objects as Points},\n"
        "  author  = {Zhou, Xingyi and Wang, Dequan and Kr{\\\"a}henb{\\\"u}hl, Philipp},\n"
        "  journal = {arXiv preprint arXiv:1904.07850},\n  year    = {2019}\n}",
    ),
    "goodfellow2014": (
        "I. Goodfellow, J. Pouget-Abadie, M. Mirza, B. Xu, D. Warde-Farley, S. Ozair, A. Courville, Y. Bengio. "
        "*Generative Adversarial Nets.* NeurIPS 2014.",
        "@inproceedings{goodfellow2014gan,\n  title     = {Generative Adversarial Nets},\n"
        "  author    = {Goodfellow, Ian and Pouget-Abadie, Jean and Mirza, Mehdi and Xu, Bing and Warde-Farley, "
        "David and Ozair, Sherjil and Courville, Aaron and Bengio, Yoshua},\n"
        "  booktitle = {Advances in Neural Information Processing Systems},\n  year      = {2014}\n}",
    ),
    "kingma2014": (
        "D. P. Kingma, M. Welling. *Auto-Encoding Variational Bayes.* ICLR 2014 (arXiv:1312.6114).",
        "@inproceedings{kingma2014vae,\n  title     = {Auto-Encoding Variational Bayes},\n"
        "  author    = {Kingma, Diederik P. and Welling, Max},\n"
        "  booktitle = {International Conference on Learning Representations},\n  year      = {2014}\n}",
    ),
    "heusel2017": (
        "M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter. *GANs Trained by a Two Time-Scale "
        "Update Rule Converge to a Local Nash Equilibrium.* NeurIPS 2017 (FID).",
        "@inproceedings{heusel2017fid,\n  title     = {GANs Trained by a Two Time-Scale Update Rule Converge to a "
        "Local Nash Equilibrium},\n  author    = {Heusel, Martin and Ramsauer, Hubert and Unterthiner, Thomas and "
        "Nessler, Bernhard and Hochreiter, Sepp},\n  booktitle = {Advances in Neural Information Processing "
        "Systems},\n  year      = {2017}\n}",
    ),
    "binkowski2018": (
        "M. Bińkowski, D. J. Sutherland, M. Arbel, A. Gretton. *Demystifying MMD GANs.* ICLR 2018 (KID).",
        "@inproceedings{binkowski2018kid,\n  title     = {Demystifying {MMD} {GAN}s},\n"
        "  author    = {Bi{\\'n}kowski, Miko{\\l}aj and Sutherland, Danica J. and Arbel, Michael and Gretton, "
        "Arthur},\n  booktitle = {International Conference on Learning Representations},\n  year      = {2018}\n}",
    ),
}


@dataclass(frozen=True)
class DatasetSource:
    """A dataset a card can name: its Hub id (for the metadata), citation and licence."""

    key: str
    name: str
    hub_id: str | None
    aliases: tuple[str, ...]
    license: str
    citations: tuple[str, ...] = ()
    url: str | None = None
    note: str = ""
    official_test_size: int | None = None  # to flag results on a subset of the official test split


DATASETS = {
    "fashion_mnist": DatasetSource(
        key="fashion_mnist", name="Fashion-MNIST", hub_id="zalando-datasets/fashion_mnist",
        aliases=("fashion_mnist", "fashion-mnist", "fashionmnist", "zalando-datasets/fashion_mnist"),
        license="MIT (Copyright (c) 2017 Zalando SE)", citations=("xiao2017",),
        url="https://github.com/zalandoresearch/fashion-mnist",
        note="70,000 28×28 grayscale images of clothing in 10 classes (60,000 train, 10,000 test).",
        official_test_size=10_000,
    ),
    "cifar10": DatasetSource(
        key="cifar10", name="CIFAR-10", hub_id="uoft-cs/cifar10",
        aliases=("cifar10", "cifar-10", "cifar_10", "uoft-cs/cifar10"),
        license="no explicit licence from the authors (the CIFAR page asks users to cite the report)",
        citations=("krizhevsky2009",), url="https://www.cs.toronto.edu/~kriz/cifar.html",
        note="60,000 32×32 colour images in 10 classes (50,000 train, 10,000 test).",
        official_test_size=10_000,
    ),
    "cats": DatasetSource(
        key="cats", name="Cat faces 64×64 (Kaggle, spandan2)", hub_id=None,
        aliases=("cats_64x64", "cats", "cat_faces", "cats-faces-64x64", "cats-faces-64x64-for-generative-models"),
        license="as given on the Kaggle page; check it before redistributing generated images",
        citations=("cats_kaggle", "zhang2008"),
        url="https://www.kaggle.com/datasets/spandan2/cats-faces-64x64-for-generative-models",
        note="15,747 64×64 RGB cat-face crops, of which 9,303 are distinct images (the rest repeat earlier files).",
    ),
}


@dataclass(frozen=True)
class Generator:
    """Training data a family's runs render themselves (when no dataset is named): how the card names it."""

    name: str  # on the card
    type: str  # model-index dataset type
    version_key: str  # run_config.json key of the generator version the run used
    version_attr: str  # "module:ATTR" of the installed generator's version (for runs that did not record it)


@dataclass(frozen=True)
class Family:
    """What differs between model families on a card: template, task, metrics and where to train it."""

    key: str
    template: str
    pipeline_tag: str
    model_types: tuple[str, ...]
    tasks: tuple[str, ...]
    metrics: tuple[tuple[str, str], ...]  # (metric base name or fnmatch pattern, human name)
    tags: tuple[str, ...]
    citations: tuple[str, ...]
    script: str | None = None
    task_arguments: str | None = None  # "module:Class" of the task's argument dataclass (defaults)
    curve_aliases: dict = field(default_factory=dict)  # history base names drawn in one panel
    curve_panels: tuple[str, ...] = ()  # which panels to draw, in order (default: the first six found)
    generator: Generator | None = None  # where the data come from when the run names no dataset


# What the two clock families share.
_CLOCK_ERRORS = (("cse_mean", "Mean common-sense error (minutes)"),
                 ("cse_median", "Median common-sense error (minutes)"),
                 ("cse_p90", "90th-percentile common-sense error (minutes)"))
_CLOCK_TAGS = ("tinyvision", "clock-reading", "tell-the-time", "analog-clock")
_CLOCK_TRAINING = dict(script="scripts/train_clock.py", task_arguments="tinyvision.tasks.clock:ClockArguments",
                       curve_aliases={"cse": "cse_mean"})

FAMILIES = {
    "classifier": Family(
        key="classifier", template="classifier.md.j2", pipeline_tag="image-classification",
        model_types=("tinyvision_mlp", "tinyvision_cnn"), tasks=("image-classification",),
        metrics=(("accuracy", "Accuracy"), ("loss", "Cross-entropy loss")),
        tags=("tinyvision", "image-classification", "custom_code"), citations=("geron2022",),
        script="scripts/train_classifier.py", task_arguments="tinyvision.tasks.classification:ClassifierArguments",
    ),
    "clock_reader": Family(
        # The Hub has no clock-reading task; its pipeline comes from the repo (config.custom_pipelines), and
        # image-classification is the nearest Hub task (12 hour classes; the classification head reads 720 / k).
        key="clock_reader", template="clock_reader.md.j2", pipeline_tag="image-classification",
        model_types=("tinyvision_clock",), tasks=("clock-reading",),
        metrics=(*_CLOCK_ERRORS, ("hour_accuracy", "Hour accuracy")),
        tags=(*_CLOCK_TAGS, "custom_code"), citations=("geron2022",), **_CLOCK_TRAINING,
        generator=Generator("generated analog clocks (tinyvision.data.clocks)", "tinyvision-generated-clocks",
                            "generator_version", "tinyvision.data.clocks:GENERATOR_VERSION"),
    ),
    # Listed after clock_reader: a run with task "clock-reading" and an unknown model_type stays a clock_reader.
    "clock_photo_reader": Family(
        key="clock_photo_reader", template="clock_photo_reader.md.j2", pipeline_tag="image-classification",
        model_types=("tinyvision_clock_photo",), tasks=("clock-reading",),
        metrics=(*_CLOCK_ERRORS, ("within_1_min", "Within 1 minute (fraction)"),
                 ("within_5_min", "Within 5 minutes (fraction)"), ("hour_accuracy", "Hour accuracy"),
                 ("found_rate", "Found rate (scenes with a clock)"),
                 ("false_alarm_rate", "False-alarm rate (scenes without a clock)"),
                 ("centre_error_radii", "Median dial-centre error (dial radii)")),
        tags=(*_CLOCK_TAGS, "clock-detection", "custom_code"), citations=("geron2022", "zhou2019"),
        **_CLOCK_TRAINING,
        curve_panels=("loss", "cse_mean", "within_5_min", "hour_accuracy", "found_rate", "false_alarm_rate"),
        generator=Generator("generated clock scenes (tinyvision.data.clock_scenes)",
                            "tinyvision-generated-clock-scenes", "scene_generator_version",
                            "tinyvision.data.clock_scenes:SCENE_GENERATOR_VERSION"),
    ),
    "gan": Family(
        key="gan", template="gan.md.j2", pipeline_tag="unconditional-image-generation",
        model_types=("tinyvision_gan",), tasks=("image-generation-gan", "gan"),
        metrics=(("fid", "FID"), ("kid", "KID"), ("kid_std", "KID std")),
        tags=("tinyvision", "gan", "unconditional-image-generation", "custom_code"),
        citations=("geron2022", "goodfellow2014", "heusel2017", "binkowski2018"), script="scripts/train_gan.py",
        task_arguments="tinyvision.tasks.generative:GANArguments",
    ),
    "vae": Family(
        key="vae", template="vae.md.j2", pipeline_tag="unconditional-image-generation",
        model_types=("tinyvision_vae",), tasks=("image-generation-vae", "vae"),
        metrics=(("fid", "FID"), ("kid", "KID"), ("kid_std", "KID std"),
                 ("loss", "Loss (negative ELBO per pixel value)"),
                 ("reconstruction_loss", "Reconstruction loss"), ("kl_loss", "KL divergence")),
        tags=("tinyvision", "vae", "unconditional-image-generation", "custom_code"),
        citations=("geron2022", "kingma2014", "heusel2017", "binkowski2018"), script="scripts/train_vae.py",
        task_arguments="tinyvision.tasks.generative:VAEArguments",
    ),
}
# Result splits: metric key prefix → split name on the card and in model-index.
SPLITS = (("test", "test"), ("eval", "validation"))


# --------------------------------------------------------------------------------- templates
def find_templates_dir() -> Path:
    """The ``model_cards/`` folder: ``$TINYVISION_MODEL_CARDS``, the source checkout, or the installed copy.

    ``pip install -e .`` and a source checkout use ``<repo>/model_cards``; a normal install ships the
    templates as data files under ``<prefix>/share/tinyvision/model_cards`` (see pyproject.toml).
    """
    candidates = [Path(os.environ[TEMPLATES_ENV])] if os.environ.get(TEMPLATES_ENV) else []
    here = Path(__file__).resolve().parent
    candidates += [here.parents[1] / "model_cards", here / "model_cards"]
    for prefix in dict.fromkeys([sys.prefix, sys.base_prefix, site.getuserbase()]):
        candidates.append(Path(prefix) / "share" / "tinyvision" / "model_cards")
    for candidate in candidates:
        if (candidate / FAMILIES["classifier"].template).is_file():
            return candidate
    try:  # wherever the installer put the data files, the distribution's RECORD knows
        from importlib.metadata import PackageNotFoundError, distribution

        for entry in distribution("tinyvision").files or []:
            if entry.name == FAMILIES["classifier"].template and entry.parent.name == "model_cards":
                return Path(entry.locate()).resolve().parent
    except PackageNotFoundError:
        pass
    raise FileNotFoundError(
        "cannot find the model_cards/ templates; looked in " + ", ".join(str(c) for c in candidates)
        + f" (set {TEMPLATES_ENV} to the folder that holds them)"
    )


def _yaml(value) -> str:
    """A YAML flow value that PyYAML (``ModelCard.load``) reads back as exactly ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:  # PyYAML reads 1e-05 as a string, 1.0e-05 as a float
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent if exponent[0] in '+-' else '+' + exponent}"
        return text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml(str(k))}: {_yaml(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def _num(value, digits: int = 4) -> str:
    """A metric for people: 4 significant digits; integers stay integers."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 10 ** digits:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def _show(value) -> str:
    """A hyperparameter or config value for a Markdown table: exact, compact, pipe-safe."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, tuple, dict)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _describe(value) -> str | None:
    """A recorded hardware description (string or mapping) as one line."""
    if not value:
        return None
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_show(item)}" for key, item in value.items())
    return _show(value)


def _table(rows, header=("Name", "Value")) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render_template(name: str, context: dict) -> str:
    """Render ``model_cards/<name>`` with ``context`` (unknown variables are errors, not blanks)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(find_templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters.update(yaml=_yaml, num=_num, show=_show, table=_table)
    return environment.get_template(name).render(**context)


# --------------------------------------------------------------------------------- the run
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


def _is_local_path(name: str) -> bool:
    """A folder on this machine, not a Hub id (``user/name``)."""
    return name.startswith((".", "/", "~")) or name.count("/") != 1 or Path(name).expanduser().exists()


def _public_path(name: str) -> str:
    """A local path as it may appear on a public card: relative paths as given, absolute ones shortened."""
    if name.startswith(("/", "~")):
        return "path/to/" + Path(name).name
    return name


def _known_dataset(name) -> DatasetSource | None:
    """The catalogued dataset a Hub id or folder names (by its aliases or the folder's own name)."""
    normalized = str(name).strip().rstrip("/").lower()
    last = Path(normalized).name
    return next((candidate for candidate in DATASETS.values()
                 if normalized in candidate.aliases or last in candidate.aliases), None)


def _public_text(text: str) -> str:
    """Free text (a run's ``data_source``) with the absolute local paths in it shortened."""
    return re.sub(r"(?<![\w./~])[/~][^\s,()]*", lambda match: _public_path(match.group()), text)


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
    """The photo collections a scene run drew its backgrounds from, as its ``data_source`` records them
    (``"... 20000 background photos from A, B, 5% without a clock"``; procedural backgrounds: none)."""
    found = re.search(r"(\d+) background photos from (.+), [\d.]+% without", str(run_config.get("data_source", "")))
    if not found:
        return {"count": 0, "sources": []}
    sources = []
    for given in found.group(2).split(", "):
        known = _known_dataset(given)
        sources.append({"given": _public_path(given), "name": known.name if known else _public_path(given),
                        "hub_id": known.hub_id if known else None, "license": known.license if known else None,
                        "url": known.url if known else None, "citations": known.citations if known else ()})
    return {"count": int(found.group(1)), "sources": sources}


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
            for name in handle.keys():
                if name.endswith(_BUFFER_SUFFIXES):  # batch-norm statistics are not parameters
                    continue
                module = name.split(".")[0]
                counts[module] = counts.get(module, 0) + math.prod(handle.get_slice(name).get_shape())
    return counts


def _weight_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.safetensors") if path.is_file())


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


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


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
    try:
        from .tasks.clock import TEST_SEED_OFFSET, VALIDATION_SEED_OFFSET
    except ImportError:  # pragma: no cover
        return None
    seed = task_args["data_seed"]
    return {"train": seed, "validation": seed + VALIDATION_SEED_OFFSET, "test": seed + TEST_SEED_OFFSET}


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
    from . import __version__

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


def render_dataset_card(context: dict) -> str:
    """The generated clock dataset's card (``model_cards/clock_dataset.md.j2``)."""
    return render_template("clock_dataset.md.j2", context)


# ------------------------------------------------------------------------------------ figures
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


# ------------------------------------------------------------------------------------ release
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


def _public_json(value):
    """``value`` with local absolute paths shortened (a metrics JSON may record where the run lived)."""
    if isinstance(value, dict):
        return {key: _public_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_public_json(item) for item in value]
    if isinstance(value, str) and value.startswith(("/", "~")):
        return _public_path(value)
    return value


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


def list_folder(folder) -> list[str]:
    """Every file under ``folder`` as a sorted relative POSIX path (what an upload would send)."""
    folder = Path(folder)
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


# ------------------------------------------------------------------------------------ publish
def _check_repo_id(repo_id: str) -> None:
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id):
        raise ValueError(f"repo_id must look like 'user/name', got {repo_id!r}")


def _is_run_folder(folder: Path) -> bool:
    return (folder / "run_config.json").is_file()


def publish(folder, repo_id: str, *, private: bool = False, create_pr: bool = False, token=None, api=None,
            repo_type: str | None = None, commit_message: str | None = None):
    """Create ``repo_id`` if needed and upload ``folder`` with one ``HfApi.upload_folder`` call.

    ``folder`` is a release folder (:func:`build_release`) or a dataset folder (``repo_type="dataset"``).
    Given a training run folder instead, the release is built first (:func:`push_run_to_hub`), so
    checkpoints and optimizer states can never be uploaded. ``token`` goes to ``huggingface_hub`` only
    (default: ``HF_TOKEN`` or the cached login); it is never logged or written. Returns the
    ``CommitInfo`` (``.pr_url`` with ``create_pr``).
    """
    folder = Path(folder)
    _check_repo_id(repo_id)
    if repo_type in (None, "model") and _is_run_folder(folder):
        logger.info("%s is a training run: building its release first", folder)
        return push_run_to_hub(folder, repo_id, private=private, create_pr=create_pr, token=token, api=api)
    if repo_type in (None, "model") and not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} has no config.json: build it with tinyvision.hub.build_release first")
    if not (folder / "README.md").is_file():
        raise FileNotFoundError(f"{folder} has no README.md: every upload carries its card")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    logger.info("uploading %d files from %s to %s (%s, private=%s, create_pr=%s)", len(list_folder(folder)), folder,
                repo_id, repo_type or "model", private, create_pr)
    api.create_repo(repo_id, private=private, exist_ok=True, token=token, repo_type=repo_type)
    return api.upload_folder(
        repo_id=repo_id,
        folder_path=str(folder),
        repo_type=repo_type,
        allow_patterns=DATASET_ALLOW_PATTERNS if repo_type == "dataset" else MODEL_ALLOW_PATTERNS,
        ignore_patterns=IGNORE_PATTERNS,
        create_pr=create_pr,
        commit_message=commit_message or f"Upload {'dataset' if repo_type == 'dataset' else 'model'} with tinyvision",
        token=token,
    )


def push_run_to_hub(run_dir, repo_id: str, *, private: bool = False, create_pr: bool = False, token=None, api=None,
                    release_dir=None):
    """Build the release of a finished run (a temporary folder unless ``release_dir``) and publish it.

    What every training script's ``--push_to_hub --hub_model_id`` calls.
    """
    _check_repo_id(repo_id)
    if release_dir is not None:
        folder = build_release(run_dir, release_dir, repo_id=repo_id, overwrite=True)
        return publish(folder, repo_id, private=private, create_pr=create_pr, token=token, api=api)
    with tempfile.TemporaryDirectory(prefix="tinyvision-release-") as tmp:
        folder = build_release(run_dir, Path(tmp) / "release", repo_id=repo_id)
        return publish(folder, repo_id, private=private, create_pr=create_pr, token=token, api=api)


# ----------------------------------------------------------------------------- clock dataset
def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def _feature_dtype(feature) -> str:
    import datasets

    if isinstance(feature, datasets.Image):
        return "image"
    if isinstance(feature, datasets.ClassLabel):
        return "class_label"
    return getattr(feature, "dtype", type(feature).__name__)


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


def clock_dataset_context(splits, *, seeds: dict, size: int, mode: str, repo_id: str | None = None,
                          command: str | None = None) -> dict:
    """What ``clock_dataset.md.j2`` needs, from the generated splits and the generator's arguments."""
    from . import __version__
    from .data.clocks import GENERATOR_VERSION

    first = next(iter(splits.values()))
    total = sum(len(split) for split in splits.values())
    return {
        "repo_id": repo_id or "<your-username>/tinyvision-clocks",
        "generator_version": GENERATOR_VERSION,
        "tinyvision_version": __version__,
        "size": size,
        "mode": mode,
        "splits": [{"name": name, "n": len(split), "seed": seeds[name]} for name, split in splits.items()],
        "features": [{"name": name, "dtype": _feature_dtype(feature)} for name, feature in first.features.items()],
        "num_rows": total,
        "size_category": _size_category(total),
        "command": command,
        "figure": "figures/samples.png",
    }


def build_clock_dataset_release(splits, out_dir, *, seeds: dict, size: int, mode: str = "L",
                                repo_id: str | None = None, command: str | None = None) -> Path:
    """A Hub dataset folder: ``data/<split>-00000-of-00001.parquet``, ``README.md`` (the card, with the
    generator version and seeds) and ``figures/samples.png``. ``splits`` maps split names to the
    ``datasets.Dataset`` made by :func:`tinyvision.data.clocks.make_clock_dataset`."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; choose a new folder for the dataset release")
    context = clock_dataset_context(splits, seeds=seeds, size=size, mode=mode, repo_id=repo_id, command=command)
    card = render_dataset_card(context)
    (out_dir / "data").mkdir(parents=True, exist_ok=True)
    for name, split in splits.items():
        split.to_parquet(str(out_dir / "data" / f"{name}-00000-of-00001.parquet"))
    plot_clock_grid(next(iter(splits.values())), out_dir / context["figure"])
    (out_dir / "README.md").write_text(card, encoding="utf-8")
    return out_dir
