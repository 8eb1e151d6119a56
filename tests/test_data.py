"""The data layer: local Hub-style folders → uint8 tensors, splits, clear errors."""

from __future__ import annotations

import io

import datasets
import numpy as np
import pytest
import torch
from conftest import LABELS
from PIL import Image

from tinyvision.data import DataError, TensorDataset, load_hf_dataset, load_image_classification
from tinyvision.data.sources import decode_images_cached, split_validation


def test_loads_a_local_parquet_folder_into_uint8_tensors(tiny_dataset_dir):
    data = load_image_classification(str(tiny_dataset_dir), validation_split=0.25, cache_dir=None)
    assert data.id2label == dict(enumerate(LABELS))
    assert (len(data.train), len(data.validation), len(data.test)) == (72, 24, 40)
    images = data.train.columns["pixel_values"]
    assert images.dtype == torch.uint8 and images.shape[1:] == (1, 12, 12)
    assert data.num_channels == 1 and data.image_size == 12
    assert 0 < data.image_mean[0] < 1 and 0 < data.image_std[0] < 1


def test_rgb_column_named_img_like_cifar(tiny_rgb_dataset_dir):
    data = load_image_classification(str(tiny_rgb_dataset_dir), cache_dir=None)
    assert data.train.columns["pixel_values"].shape[1:] == (3, 12, 12)
    assert len(data.image_mean) == 3


def test_validation_split_is_fixed_disjoint_and_independent_of_training_seed():
    train_a, val_a = split_validation(100, 0.1, seed=0)
    train_b, val_b = split_validation(100, 0.1, seed=0)
    assert torch.equal(val_a, val_b) and len(val_a) == 10
    assert set(train_a.tolist()).isdisjoint(val_a.tolist())
    assert sorted(train_a.tolist() + val_a.tolist()) == list(range(100))
    with pytest.raises(ValueError, match="validation_split"):
        split_validation(100, 1.0, seed=0)


def test_max_samples_and_batched_indexing(tiny_dataset_dir):
    data = load_image_classification(str(tiny_dataset_dir), max_train_samples=10, max_eval_samples=5, cache_dir=None)
    assert len(data.train) == 10 and len(data.validation) == 5 and len(data.test) == 5
    batch = data.train[[0, 3, 4]]
    assert batch["pixel_values"].shape == (3, 1, 12, 12) and batch["labels"].shape == (3,)
    assert torch.equal(data.train.__getitems__([0, 3, 4])["labels"], batch["labels"])


def test_decode_cache_round_trip(tiny_dataset_dir, tmp_path):
    split = load_hf_dataset(str(tiny_dataset_dir))["train"]
    first = decode_images_cached(split, "image", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("decoded-*.npy"))) == 1
    second = decode_images_cached(split, "image", cache_dir=tmp_path)
    assert np.array_equal(first, second)


def test_missing_columns_and_folders_get_clear_errors(tiny_dataset_dir, tmp_path):
    with pytest.raises(DataError, match="label column 'fine_label' not found.*columns are"):
        load_image_classification(str(tiny_dataset_dir), label_column="fine_label", cache_dir=None)
    with pytest.raises(DataError, match="image column 'pixels' not found"):
        load_image_classification(str(tiny_dataset_dir), image_column="pixels", cache_dir=None)
    with pytest.raises(DataError, match="does not exist"):
        load_hf_dataset("./no/such/folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no parquet"):
        load_hf_dataset(str(tmp_path / "empty"))


def _write(folder, rows, labels):
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["a", "b"])})
    datasets.Dataset.from_dict({"image": rows, "label": labels}, features=features).to_parquet(
        str(folder / "train-00000-of-00001.parquet"))


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return {"bytes": buffer.getvalue(), "path": None}


def test_corrupt_image_names_the_row(tmp_path):
    good = _png(np.zeros((8, 8), np.uint8))
    _write(tmp_path, [good, {"bytes": b"\x89PNG broken", "path": None}, good], [0, 1, 0])
    with pytest.raises(DataError, match="row 1 of column 'image' is not a readable image"):
        load_image_classification(str(tmp_path), cache_dir=None)


def test_mixed_image_sizes_are_refused(tmp_path):
    _write(tmp_path, [_png(np.zeros((8, 8), np.uint8)), _png(np.zeros((9, 8), np.uint8))], [0, 1])
    with pytest.raises(DataError, match="row 1 is 8x9 but row 0 is 8x8"):
        load_image_classification(str(tmp_path), cache_dir=None)


def test_saved_to_disk_datasets_load_too(tmp_path):
    rows = [_png(np.full((8, 8), i * 20, np.uint8)) for i in range(6)]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["a", "b"])})
    dataset = datasets.Dataset.from_dict({"image": rows, "label": [0, 1] * 3}, features=features)
    datasets.DatasetDict(train=dataset).save_to_disk(str(tmp_path / "saved"))
    data = load_image_classification(str(tmp_path / "saved"), validation_split=0.0, cache_dir=None)
    assert len(data.train) == 6 and data.test is None and data.validation is None


def test_tensor_dataset_checks_lengths():
    with pytest.raises(ValueError, match="different lengths"):
        TensorDataset(pixel_values=torch.zeros(3, 1, 2, 2), labels=torch.zeros(2))
