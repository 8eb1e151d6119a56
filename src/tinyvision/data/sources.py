"""Datasets by Hub id or local folder → uint8 tensors decoded once.

Every loader returns :class:`TensorDataset` splits: images as a uint8 tensor (N, C, H, W) plus
label columns, sliced a whole batch at a time (``dataset[list_of_indices]``). Per-step PIL decoding
or ``datasets``' torch format would cost more than a small model's forward pass.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

logger = logging.getLogger(__name__)

IMAGE_COLUMN_CANDIDATES = ("image", "img", "pixel_values")
DEFAULT_CACHE_DIR = Path(os.environ.get("TINYVISION_CACHE", Path.home() / ".cache" / "tinyvision"))


class DataError(ValueError):
    """A dataset that cannot be used as asked: missing column, corrupt image, mixed sizes..."""


class TensorDataset(torch.utils.data.Dataset):
    """Named tensors sharing their first dimension; indexing with a list returns a whole batch."""

    def __init__(self, **columns: torch.Tensor):
        if not columns:
            raise ValueError("TensorDataset needs at least one column")
        lengths = {name: len(column) for name, column in columns.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"columns have different lengths: {lengths}")
        self.columns = columns

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def __getitem__(self, index) -> dict[str, torch.Tensor]:
        if isinstance(index, list):
            index = torch.as_tensor(index, dtype=torch.long)
        return {name: column[index] for name, column in self.columns.items()}

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """The DataLoader's batched fetch: one slice per column instead of one lookup per example."""
        return self[list(indices)]

    @staticmethod
    def concatenate(*datasets: TensorDataset) -> TensorDataset:
        """The rows of ``datasets`` one after the other; they must hold the same columns."""
        names = [sorted(dataset.columns) for dataset in datasets]
        if not datasets or any(n != names[0] for n in names):
            raise ValueError(f"can only concatenate datasets with the same columns, got {names}")
        return TensorDataset(**{name: torch.cat([d.columns[name] for d in datasets]) for name in datasets[0].columns})

    def select(self, indices) -> TensorDataset:
        indices = torch.as_tensor(indices, dtype=torch.long)
        return TensorDataset(**{name: column[indices] for name, column in self.columns.items()})

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name}={tuple(column.shape)}" for name, column in self.columns.items())
        return f"TensorDataset({shapes})"


@dataclass
class Splits:
    """Train / validation / test splits of any task, with the normalisation constants of its training images.

    ``id2label`` names the classes of a classification set; ``source`` says in words where the data came from;
    ``provenance`` holds what a run must record to reproduce generated data (seeds, generator versions,
    background collections): the task copies it into ``run_config.json`` and the model card reads it there.
    """

    train: TensorDataset
    validation: TensorDataset | None = None
    test: TensorDataset | None = None
    image_mean: list[float] = field(default_factory=list)
    image_std: list[float] = field(default_factory=list)
    id2label: dict[int, str] | None = None
    source: str = ""
    provenance: dict = field(default_factory=dict)

    @property
    def num_channels(self) -> int:
        return self.train.columns["pixel_values"].shape[1]

    @property
    def image_size(self) -> int:
        return self.train.columns["pixel_values"].shape[-1]

    def has_columns(self, names) -> bool:
        return all(name in self.train.columns for name in names)


def normalization_stats(pixels: torch.Tensor, max_images: int | None = None) -> tuple[list[float], list[float]]:
    """The normalisation constants of a split's uint8 images (N, C, H, W): per-channel mean and std on the 0–1
    scale over the first ``max_images`` (all by default), the std floored at 1e-3 (a blank channel must not
    divide by zero). Every task takes its processor's constants from here."""
    mean, std = channel_stats(pixels if max_images is None else pixels[:max_images])
    return mean, [max(value, 1e-3) for value in std]


def image_processor_for(*, image_size: int, num_channels: int, image_mean=None, image_std=None,
                        letterbox: bool = False):
    """The image processor of a model that reads ``image_size``² images with ``num_channels`` channels: the one
    place a task builds one (constants: its training split's, see :func:`normalization_stats`)."""
    from ..models import TinyVisionImageProcessor

    return TinyVisionImageProcessor(size={"height": image_size, "width": image_size}, num_channels=num_channels,
                                    image_mean=image_mean, image_std=image_std, letterbox=letterbox)


def load_hf_dataset(dataset_name: str, **kwargs):
    """A ``datasets.DatasetDict`` from a Hub id, a ``save_to_disk`` folder or a folder of data files."""
    import datasets

    path = Path(dataset_name).expanduser()
    if path.exists():
        if (path / "dataset_dict.json").exists() or (path / "state.json").exists():
            loaded = datasets.load_from_disk(str(path))
            return loaded if isinstance(loaded, datasets.DatasetDict) else datasets.DatasetDict(train=loaded)
        if path.is_dir() and not any(path.rglob("*.parquet")) and not any(path.rglob("*.arrow")):
            raise DataError(f"{dataset_name} is a folder with no parquet/arrow files and no saved dataset in it")
        return datasets.load_dataset(str(path), **kwargs)
    if dataset_name.startswith((".", "/", "~")):
        raise DataError(f"no dataset at {dataset_name}: the folder does not exist")
    return datasets.load_dataset(dataset_name, **kwargs)


def find_image_column(split, image_column: str | None = None) -> str:
    columns = list(split.column_names)
    if image_column is not None:
        if image_column not in columns:
            raise DataError(f"image column {image_column!r} not found; the dataset has columns {columns}")
        return image_column
    for candidate in IMAGE_COLUMN_CANDIDATES:
        if candidate in columns:
            return candidate
    raise DataError(f"no image column found (tried {list(IMAGE_COLUMN_CANDIDATES)}); columns are {columns}")


def decode_images(split, image_column: str, *, mode: str | None = None, image_size: int | None = None) -> np.ndarray:
    """Decode an image column once → uint8 array (N, C, H, W).

    ``mode`` is the PIL mode to convert to ('L' or 'RGB'; default: that of the first image).
    Images must share one size unless ``image_size`` asks to resize them all.
    """
    import datasets

    split = split.cast_column(image_column, datasets.Image(decode=False))
    arrays = []
    first_size = None
    for row, item in enumerate(split[image_column]):
        try:
            if item.get("bytes") is not None:
                image = Image.open(io.BytesIO(item["bytes"]))
            else:
                image = Image.open(item["path"])
            image.load()
        except Exception as error:  # PIL raises many types for broken files
            raise DataError(f"row {row} of column {image_column!r} is not a readable image: {error}") from error
        if mode is None:
            mode = "L" if image.mode in ("L", "1", "I", "I;16", "F") else "RGB"
        image = image.convert(mode)
        if image_size is not None and image.size != (image_size, image_size):
            image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
        if first_size is None:
            first_size = image.size
        elif image.size != first_size:
            raise DataError(
                f"row {row} is {image.size[0]}x{image.size[1]} but row 0 is {first_size[0]}x{first_size[1]}; "
                "pass image_size to resize every image"
            )
        arrays.append(np.asarray(image, dtype=np.uint8))
    if not arrays:
        raise DataError("the split holds no images")
    stacked = np.stack(arrays)
    return stacked[:, None] if stacked.ndim == 3 else stacked.transpose(0, 3, 1, 2)


def _cache_key(split, *parts) -> str:
    fingerprint = getattr(split, "_fingerprint", None)
    if fingerprint is None:
        return ""
    return hashlib.sha1("|".join(map(str, (fingerprint, len(split), *parts))).encode()).hexdigest()[:20]


def decode_images_cached(split, image_column: str, *, cache_dir: str | Path | None = DEFAULT_CACHE_DIR, **kwargs):
    """:func:`decode_images` with a .npy cache keyed by the dataset's fingerprint (sweeps decode once)."""
    key = _cache_key(split, image_column, sorted(kwargs.items())) if cache_dir else ""
    if key:
        path = Path(cache_dir) / f"decoded-{key}.npy"
        if path.exists():
            try:
                return np.load(path)
            except (OSError, ValueError):
                logger.warning("ignoring unreadable cache file %s", path)
    array = decode_images(split, image_column, **kwargs)
    if key:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            np.save(handle, array)
        os.replace(tmp, path)
    return array


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images on the 0–1 scale."""
    flat = images.transpose(0, 1).reshape(images.shape[1], -1).double() / 255.0
    return flat.mean(dim=1).tolist(), flat.std(dim=1).tolist()


def split_validation(num_examples: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed random (train, validation) index split; the same for every training seed."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"`validation_split` must be in [0, 1), got {fraction}")
    permutation = torch.randperm(num_examples, generator=torch.Generator().manual_seed(seed))
    num_validation = int(round(num_examples * fraction))
    # Unsorted, so that a prefix (max_train_samples) is a random subset too.
    return permutation[num_validation:], permutation[:num_validation]


def load_image_classification(
    dataset_name: str,
    *,
    validation_split: float = 0.1,
    validation_seed: int = 0,
    image_column: str | None = None,
    label_column: str = "label",
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
) -> Splits:
    """Fashion-MNIST, CIFAR-10 or any image/label dataset (Hub id or local folder) as tensors.

    The validation split is carved from train (``validation_split``, fixed ``validation_seed``);
    the test split is kept for the final evaluation. Normalisation constants are the train part's.
    """
    dataset = load_hf_dataset(dataset_name)
    if "train" not in dataset:
        raise DataError(f"{dataset_name} has no 'train' split; it has {list(dataset)}")
    train_split = dataset["train"]
    column = find_image_column(train_split, image_column)
    if label_column not in train_split.column_names:
        raise DataError(
            f"label column {label_column!r} not found in {dataset_name}; columns are {train_split.column_names}"
        )
    label_feature = train_split.features[label_column]
    names = getattr(label_feature, "names", None)
    labels = torch.tensor(train_split[label_column], dtype=torch.long)
    if names is None:
        names = [str(i) for i in range(int(labels.max()) + 1)]
    id2label = dict(enumerate(names))

    images = torch.from_numpy(decode_images_cached(train_split, column, cache_dir=cache_dir))
    mode = "L" if images.shape[1] == 1 else "RGB"
    train_idx, val_idx = split_validation(len(labels), validation_split, validation_seed)
    if max_train_samples is not None:
        train_idx = train_idx[:max_train_samples]
    if max_eval_samples is not None:
        val_idx = val_idx[:max_eval_samples]
    train = TensorDataset(pixel_values=images[train_idx], labels=labels[train_idx])
    validation = TensorDataset(pixel_values=images[val_idx], labels=labels[val_idx]) if len(val_idx) else None

    test = None
    if "test" in dataset:
        test_split = dataset["test"]
        if max_eval_samples is not None:
            test_split = test_split.select(range(min(max_eval_samples, len(test_split))))
        test_images = decode_images_cached(
            test_split, find_image_column(test_split, column), mode=mode, cache_dir=cache_dir
        )
        test = TensorDataset(
            pixel_values=torch.from_numpy(test_images),
            labels=torch.tensor(test_split[label_column], dtype=torch.long),
        )
    mean, std = normalization_stats(train.columns["pixel_values"])
    return Splits(train, validation, test, mean, std, id2label=id2label, source=dataset_name)


def check_label_range(labels: Sequence[int] | torch.Tensor, num_labels: int, name: str = "labels") -> None:
    labels = torch.as_tensor(labels)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_labels):
        raise DataError(f"{name} must lie in [0, {num_labels}), found values {int(labels.min())}..{int(labels.max())}")


# ------------------------------------------------------------------------------ Task 3: cat faces
CATS_DATASET = "../shared/data/cats_64x64"
IMAGE_FILE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def distinct_indices(blobs) -> list[int]:
    """Indices of the first occurrence of each distinct byte string (exact duplicates dropped, order kept)."""
    seen: set[bytes] = set()
    keep = []
    for index, blob in enumerate(blobs):
        digest = hashlib.sha256(blob).digest()
        if digest not in seen:
            seen.add(digest)
            keep.append(index)
    return keep


def images_from_array(array, image_size: int | None = None) -> torch.Tensor:
    """An image array in the seed's layout (N, H, W, 3), or (N, 3, H, W) / (N, H, W); uint8 or float in
    [0, 1] or [0, 255] → uint8 RGB tensor (N, 3, H, W), resized to ``image_size`` if it differs."""
    array = np.asarray(array)
    if array.ndim == 3:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 4 or (array.shape[-1] not in (1, 3) and array.shape[1] not in (1, 3)):
        raise DataError(f"expected images of shape (N, H, W, 3) or (N, 3, H, W), got {array.shape}")
    if array.shape[-1] not in (1, 3):
        array = array.transpose(0, 2, 3, 1)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if array.dtype != np.uint8:
        scale = 255.0 if np.issubdtype(array.dtype, np.floating) and array.size and array.max() <= 1.0 else 1.0
        array = np.clip(np.rint(array.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    if image_size is not None and array.shape[1:3] != (image_size, image_size):
        array = np.stack([np.asarray(Image.fromarray(image).resize((image_size, image_size), Image.Resampling.BILINEAR))
                          for image in array])
    return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))


def _natural_key(path: Path):
    import re

    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _is_image_folder(path: Path) -> bool:
    if not path.is_dir() or any(path.rglob("*.parquet")) or any(path.rglob("*.arrow")):
        return False
    return any(child.suffix.lower() in IMAGE_FILE_SUFFIXES for child in path.rglob("*"))


def load_cats(
    source: str = CATS_DATASET,
    *,
    dedupe: bool = False,
    image_size: int = 64,
    image_column: str | None = None,
    max_samples: int | None = None,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
) -> TensorDataset:
    """Cat faces (or any unlabelled RGB images) → ``TensorDataset(pixel_values=uint8 (N, 3, S, S))``.

    ``source`` is a Hub id or local dataset folder (parquet / ``save_to_disk``: its ``train`` split),
    a ``.npy`` file (the seed's format: (N, 64, 64, 3) uint8), or a folder of image files (read in
    natural name order: 2.jpg before 10.jpg). Images are decoded once (datasets: with the .npy cache of
    :func:`decode_images_cached`). ``dedupe`` keeps the first of each set of byte-identical images (the
    encoded bytes for datasets and files, the pixels for arrays): the Kaggle cats have 15,747 files
    of which 6,444 repeat earlier ones, leaving 9,303. ``max_samples`` keeps the first N (after dedupe).
    """
    path = Path(source).expanduser()
    if path.suffix == ".npy":
        if not path.is_file():
            raise DataError(f"no array at {source}")
        array = np.load(path, mmap_mode="r")
        keep = distinct_indices(np.ascontiguousarray(image).tobytes() for image in array) if dedupe else None
        array = array if keep is None else array[keep]
        images = images_from_array(array[:max_samples] if max_samples is not None else array, image_size)
    elif _is_image_folder(path):
        files = sorted((p for p in path.rglob("*") if p.suffix.lower() in IMAGE_FILE_SUFFIXES), key=_natural_key)
        blobs = [file.read_bytes() for file in files]
        if dedupe:
            keep = distinct_indices(blobs)
            files, blobs = [files[i] for i in keep], [blobs[i] for i in keep]
        if max_samples is not None:
            files, blobs = files[:max_samples], blobs[:max_samples]
        arrays = []
        for file_bytes, file in zip(blobs, files):
            try:
                image = Image.open(io.BytesIO(file_bytes)).convert("RGB")
            except Exception as error:  # PIL raises many types for broken files
                raise DataError(f"{file} is not a readable image: {error}") from error
            if image.size != (image_size, image_size):
                image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
            arrays.append(np.asarray(image, dtype=np.uint8))
        if not arrays:
            raise DataError(f"no images in {source}")
        images = torch.from_numpy(np.stack(arrays).transpose(0, 3, 1, 2).copy())
    else:
        import datasets

        dataset = load_hf_dataset(source)
        split = dataset["train"] if "train" in dataset else dataset[next(iter(dataset))]
        column = find_image_column(split, image_column)
        if dedupe:
            raw = split.cast_column(column, datasets.Image(decode=False))[column]
            blobs = (item["bytes"] if item.get("bytes") is not None else Path(item["path"]).read_bytes()
                     for item in raw)
            keep = distinct_indices(blobs)
            if len(keep) < len(split):
                logger.info("dedupe: %d of %d images are distinct", len(keep), len(split))
                split = split.select(keep)
        if max_samples is not None and max_samples < len(split):
            split = split.select(range(max_samples))
        images = torch.from_numpy(
            decode_images_cached(split, column, mode="RGB", image_size=image_size, cache_dir=cache_dir)
        )
    if len(images) == 0:
        raise DataError(f"no images in {source}")
    return TensorDataset(pixel_values=images)
