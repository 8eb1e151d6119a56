"""Model cards, release folders and publishing to the Hugging Face Hub.

A training run folder (what :class:`~tinyvision.training.Engine` writes: weights, configs, modeling
code, ``all_results.json``, ``history.json``, ``run_config.json``, checkpoints) becomes a *release*:

    build_release(run_dir, out_dir)   # allow-listed files + README.md (card) + figures/
    publish(out_dir, "user/name")     # one HfApi.upload_folder call
    publish(run_dir, "user/name")     # the same two steps, the release in a temporary folder

The card is rendered from a Jinja template in ``model_cards/`` (one per model family) with values
read from the run's JSON files only, so every number on the card is one the run wrote. Nothing
here reaches the network except :func:`publish`, and a token given to it is handed to
``huggingface_hub`` and never written to disk or to a log.

One module per job:

- ``catalogue``: model families, the datasets a card can name, citations;
- ``formatting``: finding and rendering the templates; YAML, numbers, tables and public paths;
- ``run_folder``: reading a finished run (its JSON files, weights, code, figures) and its family;
- ``provenance``: where a run's data came from (dataset, background photos, generator, seeds);
- ``cards``: the model card's context and rendering;
- ``release``: the allow-listed release folder;
- ``publishing``: the upload, for every family;
- ``dataset_release``: the generated clock dataset's folder and card.

The figures (training curves, clock grids) live in :mod:`tinyvision.figures`.
"""

from ..figures import plot_clock_grid, plot_training_curves
from .cards import card_context, render_model_card
from .catalogue import CITATIONS, DATASETS, FAMILIES, SPLITS, DatasetSource, Family, Generator
from .dataset_release import build_clock_dataset_release, clock_dataset_context, render_dataset_card
from .formatting import TEMPLATES_ENV, find_templates_dir, render_template
from .publishing import DATASET_ALLOW_PATTERNS, IGNORE_PATTERNS, MODEL_ALLOW_PATTERNS, publish
from .release import build_release
from .run_folder import CURVES_FIGURE, EVIDENCE_FILES, ReleaseError, detect_family, is_run_folder, list_folder

__all__ = [
    "CITATIONS",
    "CURVES_FIGURE",
    "DATASETS",
    "DATASET_ALLOW_PATTERNS",
    "EVIDENCE_FILES",
    "FAMILIES",
    "IGNORE_PATTERNS",
    "MODEL_ALLOW_PATTERNS",
    "SPLITS",
    "TEMPLATES_ENV",
    "DatasetSource",
    "Family",
    "Generator",
    "ReleaseError",
    "build_clock_dataset_release",
    "build_release",
    "card_context",
    "clock_dataset_context",
    "detect_family",
    "find_templates_dir",
    "is_run_folder",
    "list_folder",
    "plot_clock_grid",
    "plot_training_curves",
    "publish",
    "render_dataset_card",
    "render_model_card",
    "render_template",
]
