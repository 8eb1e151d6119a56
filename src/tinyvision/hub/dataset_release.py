"""The generated clock dataset as a Hub dataset folder: parquet splits, a card and a figure of samples.

    build_clock_dataset_release(splits, out_dir, seeds=..., size=150)
    publish(out_dir, "user/tinyvision-clocks", repo_type="dataset")
"""

from __future__ import annotations

from pathlib import Path

from ..figures import plot_clock_grid
from .formatting import render_template

__all__ = ["build_clock_dataset_release", "clock_dataset_context", "render_dataset_card"]


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

def clock_dataset_context(splits, *, seeds: dict, size: int, mode: str, repo_id: str | None = None,
                          command: str | None = None) -> dict:
    """What ``clock_dataset.md.j2`` needs, from the generated splits and the generator's arguments."""
    from .. import __version__
    from ..data.clocks import GENERATOR_VERSION

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


def render_dataset_card(context: dict) -> str:
    """The generated clock dataset's card (``model_cards/clock_dataset.md.j2``)."""
    return render_template("clock_dataset.md.j2", context)

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
