"""Batch augmentations: shapes, content, randomness, and the augmented preset end to end."""

from __future__ import annotations

import pytest
import torch

from tinyvision import CNNConfig, CNNForImageClassification
from tinyvision.data.augment import augment, random_crop, random_flip


def test_random_crop_shifts_content_within_the_padding():
    torch.manual_seed(0)
    images = torch.zeros(64, 1, 8, 8, dtype=torch.uint8)
    images[:, :, 3, 4] = 255  # one bright pixel
    cropped = random_crop(images, padding=2)
    assert cropped.shape == images.shape and cropped.dtype == torch.uint8
    positions = (cropped[:, 0] == 255).nonzero()[:, 1:]
    shifts = positions - torch.tensor([3, 4])
    assert shifts.abs().max() <= 2 and len({tuple(s) for s in shifts.tolist()}) > 5
    assert (cropped == 255).sum() == 64  # no pixel duplicated or lost (it stays inside the 8x8 window)


def test_random_flip_mirrors_about_half_the_batch():
    torch.manual_seed(0)
    images = torch.arange(16, dtype=torch.uint8).view(1, 1, 4, 4).repeat(200, 3, 1, 1)
    flipped = random_flip(images)
    mirrored = (flipped == images.flip(-1)).flatten(1).all(1)
    unchanged = (flipped == images).flatten(1).all(1)
    assert torch.all(mirrored ^ unchanged) and 70 < mirrored.sum() < 130


def test_augment_names():
    images = torch.zeros(2, 1, 4, 4, dtype=torch.uint8)
    assert augment(images, None) is images and augment(images, "none") is images
    with pytest.raises(ValueError, match="augment"):
        augment(images, "mixup")


def test_label_smoothing_changes_the_loss_as_cross_entropy_defines():
    torch.manual_seed(0)
    small = dict(image_size=8, conv_filters=[4], conv_kernel_sizes=[3], conv_strides=[1], pool_after=[True],
                 fc_hidden_sizes=[], dropout=0.0)
    plain = CNNForImageClassification(CNNConfig(**small)).eval()
    smooth = CNNForImageClassification(CNNConfig(**small, label_smoothing=0.1)).eval()
    smooth.load_state_dict(plain.state_dict())
    pixels, labels = torch.randn(5, 1, 8, 8), torch.tensor([0, 1, 2, 3, 4])
    logits = plain(pixel_values=pixels).logits
    expected = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.1)
    torch.testing.assert_close(smooth(pixel_values=pixels, labels=labels).loss, expected)
    with pytest.raises(ValueError, match="label_smoothing"):
        CNNConfig(label_smoothing=1.5)
