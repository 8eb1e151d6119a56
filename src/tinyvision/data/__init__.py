"""The data layer: datasets by Hub id or local folder, decoded once into uint8 tensors."""

from .sources import (
    CATS_DATASET,
    DataError,
    Splits,
    TensorDataset,
    channel_stats,
    decode_images,
    image_processor_for,
    load_cats,
    load_hf_dataset,
    load_image_classification,
    normalization_stats,
    split_validation,
)

__all__ = [
    "CATS_DATASET",
    "DataError",
    "Splits",
    "TensorDataset",
    "channel_stats",
    "decode_images",
    "image_processor_for",
    "load_cats",
    "load_hf_dataset",
    "load_image_classification",
    "normalization_stats",
    "split_validation",
]
