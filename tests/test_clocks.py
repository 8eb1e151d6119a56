import dataclasses
import math

import numpy as np
import pytest

from tinyvision.data.clocks import (
    GENERATOR_VERSION,
    clean_style,
    make_clock_arrays,
    make_clock_dataset,
    render_clock,
    render_clock_with_labels,
    sample_style,
)

SIZE = 150
ANGLES = ("dial_rotation", "hour_hand_angle", "minute_hand_angle")


def _angle_gap(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _pixel(pixels: np.ndarray, centre: tuple[float, float], angle: float, distance: float) -> int:
    a = math.radians(angle)
    x, y = centre[0] + distance * math.sin(a), centre[1] - distance * math.cos(a)
    return int(pixels[int(y), int(x)])


def _assert_hand(pixels, centre, hand_angle, other_hand_angle, radii):
    """Dark along the labelled direction; light 90 degrees off (on the side away from the other hand)."""
    off = max((hand_angle + 90.0, hand_angle - 90.0), key=lambda a: _angle_gap(a, other_hand_angle))
    for r in radii:
        assert _pixel(pixels, centre, hand_angle, r) < 80, (hand_angle, r)
        assert _pixel(pixels, centre, off, r) > 180, (off, r)


def test_same_seed_same_bytes_and_different_seeds_differ():
    first = render_clock(4, 20, seed=7)
    assert first.size == (SIZE, SIZE) and first.mode == "L"
    assert first.tobytes() == render_clock(4, 20, seed=7).tobytes()
    assert first.tobytes() != render_clock(4, 20, seed=8).tobytes()
    assert render_clock(4, 20, rng=np.random.default_rng(7)).tobytes() == first.tobytes()


def test_label_ranges_and_modes():
    for seed in range(12):
        image, labels = render_clock_with_labels(seed % 12, (seed * 7) % 60, seed=seed, size=64)
        assert image.size == (64, 64)
        assert set(labels) == set(ANGLES)
        assert all(0.0 <= labels[k] < 360.0 for k in ANGLES)
    assert render_clock(1, 2, seed=0, mode="RGB").mode == "RGB"


def test_unrotated_labels_follow_the_clock_and_rotation_adds():
    _, labels = render_clock_with_labels(3, 30, style=clean_style())
    assert labels["dial_rotation"] == pytest.approx(0.0, abs=1e-6)
    assert labels["hour_hand_angle"] == pytest.approx(105.0)  # the hour hand moves with the minutes
    assert labels["minute_hand_angle"] == pytest.approx(180.0)
    _, labels = render_clock_with_labels(3, 30, style=clean_style(rotation=300.0))
    assert [labels[k] for k in ANGLES] == pytest.approx([300.0, 45.0, 120.0])
    assert render_clock_with_labels(3, 59, style=clean_style())[1]["hour_hand_angle"] == pytest.approx(119.5)


@pytest.mark.parametrize(
    "hour, minute, style",
    [
        (3, 30, clean_style()),
        (10, 10, clean_style()),
        (7, 45, clean_style(rotation=123.0)),
        (1, 5, clean_style(rotation=250.0)),
        (11, 22, clean_style(rotation=301.5)),
        # mild perspective: the labels come from the projected geometry, and the dial centre stays put
        (8, 20, dataclasses.replace(clean_style(rotation=60.0), perspective=(0.12, -0.1), squash=(0.85, 30.0))),
    ],
)
def test_hands_are_drawn_where_the_labels_point(hour, minute, style):
    image, labels = render_clock_with_labels(hour, minute, style=style, size=SIZE)
    pixels = np.asarray(image)
    centre, radius = (SIZE / 2, SIZE / 2), style.dial_radius * SIZE / 2
    hour_angle, minute_angle = labels["hour_hand_angle"], labels["minute_hand_angle"]
    # the minute hand reaches 0.85 dial radii, the hour hand 0.5; foreshortening shrinks them by <= 25%
    _assert_hand(pixels, centre, minute_angle, hour_angle, [r * radius for r in (0.35, 0.5, 0.62)])
    _assert_hand(pixels, centre, hour_angle, minute_angle, [r * radius for r in (0.15, 0.22, 0.3)])


def test_twelve_is_accepted_as_zero_and_out_of_range_is_rejected():
    style = clean_style()
    assert render_clock(12, 0, style=style).tobytes() == render_clock(0, 0, style=style).tobytes()
    for hour in (-1, 13):
        with pytest.raises(ValueError, match="hour"):
            render_clock(hour, 0, style=style)
    for minute in (-1, 60):
        with pytest.raises(ValueError, match="minute"):
            render_clock(1, minute, style=style)


def test_sampled_styles_keep_the_hour_hand_clearly_shorter():
    rng = np.random.default_rng(0)
    for _ in range(200):
        style = sample_style(rng)
        assert style.hour_length <= 0.72 * style.minute_length + 1e-9
        assert style.hour_width >= style.minute_width


def test_max_rotation_bounds_the_dial_turn_and_leaves_the_rest_of_the_draw_alone():
    turned, turned_labels = make_clock_arrays(60, size=48, seed=1, num_proc=1)
    assert np.abs((turned_labels["dial_rotation"] + 180) % 360 - 180).max() > 120  # any orientation by default
    for limit in (0.0, 30.0):
        images, labels = make_clock_arrays(60, size=48, seed=1, num_proc=1, max_rotation=limit)
        # the turn, plus at most a few degrees from the mild perspective tilt
        assert np.abs((labels["dial_rotation"] + 180) % 360 - 180).max() <= limit + 6
        assert labels["hour"].tolist() == turned_labels["hour"].tolist()
        assert labels["minute"].tolist() == turned_labels["minute"].tolist()
        assert not np.array_equal(images, turned)
    with pytest.raises(ValueError, match="max_rotation must be in"):
        make_clock_arrays(2, size=32, seed=1, num_proc=1, max_rotation=200)


def test_make_clock_arrays_shapes_and_rgb():
    images, labels = make_clock_arrays(6, size=48, seed=1, num_proc=1)
    assert images.shape == (6, 48, 48) and images.dtype == np.uint8
    assert labels["hour"].dtype == np.int64 and labels["dial_rotation"].dtype == np.float32
    rgb, _ = make_clock_arrays(2, size=32, seed=1, num_proc=1, mode="RGB")
    assert rgb.shape == (2, 32, 32, 3)


def test_make_clock_dataset_columns_determinism_and_num_proc_independence():
    import datasets

    ds = make_clock_dataset(16, size=64, seed=3, num_proc=1)
    assert ds.column_names == ["image", "hour", "minute", *ANGLES]
    assert isinstance(ds.features["image"], datasets.Image)
    assert ds.features["hour"].dtype == "int64" and ds.features["minute"].dtype == "int64"
    assert all(ds.features[k].dtype == "float32" for k in ANGLES)
    assert GENERATOR_VERSION in ds.info.description
    assert all(0 <= h <= 11 for h in ds["hour"]) and all(0 <= m <= 59 for m in ds["minute"])
    first = ds[0]["image"]
    assert first.size == (64, 64) and first.mode == "L"

    raw = ds.cast_column("image", datasets.Image(decode=False)).to_dict()
    again = make_clock_dataset(16, size=64, seed=3, num_proc=2).cast_column("image", datasets.Image(decode=False))
    assert again.to_dict() == raw
    other_seed = make_clock_dataset(16, size=64, seed=4, num_proc=1).cast_column("image", datasets.Image(decode=False))
    assert other_seed.to_dict()["image"] != raw["image"]

    # the PNGs hold exactly the pixels of the array fast path
    images, labels = make_clock_arrays(16, size=64, seed=3, num_proc=2)
    assert np.array_equal(np.asarray(ds[5]["image"]), images[5])
    assert labels["minute"].tolist() == ds["minute"]
    assert np.allclose(labels["hour_hand_angle"], ds["hour_hand_angle"])
