"""The catalogue: model families, the datasets a card can name, and the works it cites.

Everything that differs between families on a card (template, pipeline tag, metrics, training script,
where the data come from) is one :class:`Family` in :data:`FAMILIES`; a new family is a new entry here
plus a template in ``model_cards/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CITATIONS", "DATASETS", "FAMILIES", "SPLITS", "DatasetSource", "Family", "Generator"]

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")  # a Hub id, user/name

CITATIONS = {
    "geron2022": (
        ("A. Géron. *Hands-On Machine Learning with Scikit-Learn, Keras, and TensorFlow*, 3rd edition. "
         "O'Reilly Media, 2022."),
        ("@book{geron2022handson,\n"
         "  title     = {Hands-On Machine Learning with Scikit-Learn, Keras, and TensorFlow},\n"
         "  author    = {G{\\'e}ron, Aur{\\'e}lien},\n  edition   = {3},\n  publisher = {O'Reilly Media, Inc.},\n"
         "  year      = {2022}\n}"),
    ),
    "xiao2017": (
        ("H. Xiao, K. Rasul, R. Vollgraf. *Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning "
         "Algorithms.* arXiv:1708.07747, 2017."),
        ("@article{xiao2017fashionmnist,\n  title   = {Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine "
         "Learning Algorithms},\n  author  = {Xiao, Han and Rasul, Kashif and Vollgraf, Roland},\n"
         "  journal = {arXiv preprint arXiv:1708.07747},\n  year    = {2017}\n}"),
    ),
    "krizhevsky2009": (
        ("A. Krizhevsky. *Learning Multiple Layers of Features from Tiny Images.* Technical report, University of "
         "Toronto, 2009."),
        ("@techreport{krizhevsky2009learning,\n"
         "  title       = {Learning Multiple Layers of Features from Tiny Images},\n"
         "  author      = {Krizhevsky, Alex},\n  institution = {University of Toronto},\n  year        = {2009}\n}"),
    ),
    "cats_kaggle": (
        ("spandan2. *Cats faces 64x64 (For generative models).* Kaggle dataset "
         "(kaggle.com/datasets/spandan2/cats-faces-64x64-for-generative-models). Likely cropped from the CAT "
         "dataset of Zhang et al. (2008), not confirmed."),
        ("@misc{spandan2_cats64,\n  title        = {Cats faces 64x64 (For generative models)},\n"
         "  author       = {spandan2},\n  howpublished = {Kaggle, "
         "\\url{https://www.kaggle.com/datasets/spandan2/cats-faces-64x64-for-generative-models}}\n}"),
    ),
    "zhang2008": (
        ("W. Zhang, J. Sun, X. Tang. *Cat Head Detection — How to Effectively Exploit Shape and Texture Features.* "
         "ECCV 2008."),
        ("@inproceedings{zhang2008cathead,\n  title     = {Cat Head Detection -- How to Effectively Exploit Shape and "
         "Texture Features},\n  author    = {Zhang, Weiwei and Sun, Jian and Tang, Xiaoou},\n"
         "  booktitle = {European Conference on Computer Vision (ECCV)},\n  year      = {2008}\n}"),
    ),
    "zhou2019": (
         "X. Zhou, D. Wang, P. Krähenbühl. *Objects as Points.* arXiv:1904.07850, 2019 (CenterNet).",
        ("@article{zhou2019objects,\n  title   = {Objects as Points},\n"
         "  author  = {Zhou, Xingyi and Wang, Dequan and Kr{\\\"a}henb{\\\"u}hl, Philipp},\n"
         "  journal = {arXiv preprint arXiv:1904.07850},\n  year    = {2019}\n}"),
    ),
    "goodfellow2014": (
        ("I. Goodfellow, J. Pouget-Abadie, M. Mirza, B. Xu, D. Warde-Farley, S. Ozair, A. Courville, Y. Bengio. "
         "*Generative Adversarial Nets.* NeurIPS 2014."),
        ("@inproceedings{goodfellow2014gan,\n  title     = {Generative Adversarial Nets},\n"
         "  author    = {Goodfellow, Ian and Pouget-Abadie, Jean and Mirza, Mehdi and Xu, Bing and Warde-Farley, "
         "David and Ozair, Sherjil and Courville, Aaron and Bengio, Yoshua},\n"
         "  booktitle = {Advances in Neural Information Processing Systems},\n  year      = {2014}\n}"),
    ),
    "kingma2014": (
         "D. P. Kingma, M. Welling. *Auto-Encoding Variational Bayes.* ICLR 2014 (arXiv:1312.6114).",
        ("@inproceedings{kingma2014vae,\n  title     = {Auto-Encoding Variational Bayes},\n"
         "  author    = {Kingma, Diederik P. and Welling, Max},\n"
         "  booktitle = {International Conference on Learning Representations},\n  year      = {2014}\n}"),
    ),
    "heusel2017": (
        ("M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter. *GANs Trained by a Two Time-Scale "
         "Update Rule Converge to a Local Nash Equilibrium.* NeurIPS 2017 (FID)."),
        ("@inproceedings{heusel2017fid,\n  title     = {GANs Trained by a Two Time-Scale Update Rule Converge to a "
         "Local Nash Equilibrium},\n  author    = {Heusel, Martin and Ramsauer, Hubert and Unterthiner, Thomas and "
         "Nessler, Bernhard and Hochreiter, Sepp},\n  booktitle = {Advances in Neural Information Processing "
         "Systems},\n  year      = {2017}\n}"),
    ),
    "binkowski2018": (
         "M. Bińkowski, D. J. Sutherland, M. Arbel, A. Gretton. *Demystifying MMD GANs.* ICLR 2018 (KID).",
        ("@inproceedings{binkowski2018kid,\n  title     = {Demystifying {MMD} {GAN}s},\n"
         "  author    = {Bi{\\'n}kowski, Miko{\\l}aj and Sutherland, Danica J. and Arbel, Michael and Gretton, "
         "Arthur},\n  booktitle = {International Conference on Learning Representations},\n  year      = {2018}\n}"),
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
_CLOCK_TRAINING = {"script": "scripts/train_clock.py", "task_arguments": "tinyvision.tasks.clock:ClockArguments",
                   "curve_aliases": {"cse": "cse_mean"}}

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
                 ("centre_error_radii", "Median dial-centre error (dial radii)"),
                 ("ellipse_error", "Median dial-ellipse error (log-aspect units)")),
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


def _known_dataset(name) -> DatasetSource | None:
    """The catalogued dataset a Hub id or folder names (by its aliases or the folder's own name)."""
    normalized = str(name).strip().rstrip("/").lower()
    last = Path(normalized).name
    return next((candidate for candidate in DATASETS.values()
                 if normalized in candidate.aliases or last in candidate.aliases), None)
