"""The data layer: datasets by Hub id or local folder, decoded once into uint8 tensors."""

from .sources import (
    DataError,
    ImageClassificationData,
    TensorDataset,
    channel_stats,
    decode_images,
    load_hf_dataset,
    load_image_classification,
)
from .sources import CATS_DATASET, load_cats  # noqa: E402  (Task 3)

__all__ = [
    "DataError",
    "ImageClassificationData",
    "TensorDataset",
    "channel_stats",
    "decode_images",
    "load_hf_dataset",
    "load_image_classification",
    "CATS_DATASET",
    "load_cats",
]
