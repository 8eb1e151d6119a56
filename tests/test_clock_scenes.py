"""Photo-like clock scenes: determinism, shapes, labels that agree with the pixels, letterboxing, inputs."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from tinyvision.data import clock_scenes
from tinyvision.data.clock_scenes import (
    ORIENTATIONS,
    load_background_pool,
    make_scene_arrays,
    render_clock_scene,
)
from tinyvision.data.clocks import _image_angle, _project, _radial
from tinyvision.models.image_processing_tinyvision import letterbox_geometry

ANGLES = ("dial_rotation", "hour_hand_angle", "minute_hand_angle")


def _gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32)


def _sample(gray: np.ndarray, xy: np.ndarray) -> np.ndarray:
    cols = np.clip(np.floor(xy[:, 0]).astype(int), 0, gray.shape[1] - 1)
    rows = np.clip(np.floor(xy[:, 1]).astype(int), 0, gray.shape[0] - 1)
    return gray[rows, cols]


def test_render_is_deterministic_and_sized():
    a, labels_a = render_clock_scene(4, 20, width=200, height=120, seed=3)
    b, labels_b = render_clock_scene(4, 20, width=200, height=120, seed=3)
    assert a.mode == "RGB" and a.size == (200, 120)
    assert a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(labels_a["homography"], labels_b["homography"])
    assert labels_a["homography"].dtype == np.float64 and labels_a["homography"].shape == (3, 3)
    assert (labels_a["hour"], labels_a["minute"], labels_a["has_clock"]) == (4, 20, True)
    assert render_clock_scene(12, 0, seed=1)[1]["hour"] == 0


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_arrays_shapes_and_num_proc_independence(mode):
    images, labels = make_scene_arrays(6, size=64, seed=5, num_proc=1, mode=mode, p_empty=0.3)
    again, labels2 = make_scene_arrays(6, size=64, seed=5, num_proc=2, mode=mode, p_empty=0.3)
    assert images.dtype == np.uint8 and images.shape == (6, 64, 64) + ((3,) if mode == "RGB" else ())
    np.testing.assert_array_equal(images, again)
    for name in labels:
        np.testing.assert_array_equal(labels[name], labels2[name])
    assert labels["hour"].dtype == np.int64 and labels["minute"].dtype == np.int64
    assert labels["has_clock"].dtype == bool and labels["homography"].dtype == np.float32
    assert labels["homography"].shape == (6, 3, 3)
    assert all(labels[name].dtype == np.float32 for name in ANGLES)
    assert make_scene_arrays(0, size=32)[0].shape == (0, 32, 32)


def test_angle_labels_match_homography():
    _, labels = make_scene_arrays(8, size=64, seed=2, num_proc=1, orientation="any")
    for i in range(8):
        h = labels["homography"][i].astype(np.float64)
        hour, minute = labels["hour"][i], labels["minute"][i]
        expected = [_image_angle(h, 0.0), _image_angle(h, 30.0 * hour + minute / 2.0), _image_angle(h, 6.0 * minute)]
        for name, value in zip(ANGLES, expected):
            diff = (labels[name][i] - value + 180.0) % 360.0 - 180.0
            assert abs(diff) < 0.05, (i, name)


@pytest.mark.parametrize("hour,minute", [(3, 0), (7, 40), (10, 10), (0, 27)])
def test_plain_pixels_agree_with_homography(hour, minute):
    image, labels = render_clock_scene(hour, minute, width=240, height=180, seed=hour * 60 + minute, plain=True)
    gray, h = _gray(image), labels["homography"]
    minute_dial, hour_dial = 6.0 * minute, 30.0 * hour + minute / 2.0
    along = np.linspace(0.3, 0.8, 12)
    on_minute = _sample(gray, _project(h, _radial(minute_dial, along, 0.0)))
    on_hour = _sample(gray, _project(h, _radial(hour_dial, np.linspace(0.15, 0.4, 8), 0.0)))
    control_angle = next(a for a in np.arange(15.0, 360.0, 30.0)  # between hour marks, far from both hands
                         if min(abs((a - minute_dial + 180) % 360 - 180), abs((a - hour_dial + 180) % 360 - 180)) > 40)
    control = _sample(gray, _project(h, _radial(control_angle, along, 0.0)))
    assert on_minute.mean() < 90 and on_hour.mean() < 90
    assert control.mean() > 200
    # the minute hand ends near its tip (0.85): beyond it the face is light again (between hour marks)
    assert _sample(gray, _project(h, _radial(control_angle, [0.9, 1.0 - 0.03], 0.0))).mean() > 150
    # the face's edge is at radius 1: a dark bezel just outside it
    assert _sample(gray, _project(h, _radial(control_angle, [1.05, 1.07], 0.0))).mean() < 150
    assert labels["dial_rotation"] == pytest.approx(0.0, abs=1e-6)
    assert labels["minute_hand_angle"] == pytest.approx(minute_dial % 360.0, abs=1e-4)


@pytest.mark.parametrize("seed", range(4))
def test_random_scene_hands_are_where_homography_says(seed):
    """Same scene, two times: the pixels that change map inside the dial (through the tilted H)."""
    a, labels = render_clock_scene(2, 15, width=160, height=160, seed=seed, orientation="any")
    b, labels_b = render_clock_scene(2, 45, width=160, height=160, seed=seed, orientation="any")
    np.testing.assert_array_equal(labels["homography"], labels_b["homography"])
    diff = np.abs(_gray(a) - _gray(b))
    assert diff.max() > 30  # the hands moved visibly
    rows, cols = np.nonzero(diff > max(30.0, 0.5 * diff.max()))  # (a small, dim dial changes less than 70 levels)
    dial = _project(np.linalg.inv(labels["homography"]), np.stack([cols + 0.5, rows + 0.5], axis=-1))
    radius = np.hypot(dial[:, 0], dial[:, 1])
    assert np.quantile(radius, 0.98) < 1.15
    # the 15-minute hand points to dial +u, the 45-minute hand to -u: changes on both sides of the centre
    assert (dial[:, 0] > 0.1).any() and (dial[:, 0] < -0.1).any()


def test_no_clock_labels_are_zero():
    image, labels = render_clock_scene(5, 30, width=96, height=64, seed=0, has_clock=False)
    assert image.size == (96, 64)
    assert labels["has_clock"] is False and labels["hour"] == 0 and labels["minute"] == 0
    assert not labels["homography"].any() and all(labels[name] == 0.0 for name in ANGLES)
    _, arrays = make_scene_arrays(4, size=48, seed=0, num_proc=1, p_empty=1.0)
    assert not arrays["has_clock"].any() and not arrays["homography"].any()
    assert not arrays["hour"].any() and not arrays["minute"].any() and not arrays["dial_rotation"].any()


def test_scenes_are_letterboxed_like_the_processor_does_photos():
    # in make_scene_arrays: landscape scenes get black bars above and below, H points into the picture
    images, labels = make_scene_arrays(10, size=64, seed=1, num_proc=1)
    landscape = 0
    for i in range(10):
        rng = np.random.default_rng([1, i])
        rng.random(), rng.integers(720)
        width, height = clock_scenes._aspect_size(rng, 64)
        _, _, ox, oy = letterbox_geometry(width, height, 64)
        if height < width:
            landscape += 1
            assert not images[i, :oy].any() and not images[i, oy + height:].any()
            assert images[i, oy:oy + height].any(axis=1).all()
            cx, cy = _project(labels["homography"][i].astype(np.float64), [[0.0, 0.0]])[0]
            assert oy - 0.1 * height <= cy <= oy + height * 1.1
    assert landscape > 0


def test_video_frame_with_fixed_dial():
    image, labels = render_clock_scene(8, 5, width=1280, height=720, seed=4, dial_radius=150, center=(900.0, 260.0))
    assert image.size == (1280, 720)
    h = labels["homography"]
    np.testing.assert_allclose(_project(h, [[0.0, 0.0]])[0], [900.0, 260.0], atol=1e-6)
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    rim = _project(h, np.stack([np.sin(t), np.cos(t)], axis=-1))
    distance = np.hypot(rim[:, 0] - 900.0, rim[:, 1] - 260.0)
    assert 140 <= distance.max() <= 300 and distance.min() >= 40


def test_backgrounds_are_used_deterministically():
    pool = np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3), dtype=np.uint8)
    a, _ = make_scene_arrays(3, size=48, seed=9, num_proc=1, mode="RGB", backgrounds=pool)
    b, _ = make_scene_arrays(3, size=48, seed=9, num_proc=2, mode="RGB", backgrounds=pool)
    np.testing.assert_array_equal(a, b)
    c, _ = render_clock_scene(1, 1, width=64, height=64, seed=0, backgrounds=pool)
    assert c.size == (64, 64)


def test_scene_data_adds_clock_free_scenes_after_validation_and_test_only():
    """The detection threshold is calibrated on validation's scenes without a clock and the false-alarm rate is
    measured on test's: ``num_clock_free_examples`` appends that many to each, on seeds of their own, leaving the
    scenes before them and the training split as they were."""
    from tinyvision.data.clock_data import CLOCK_FREE_SEED_OFFSETS, load_scene_data

    sizes = {"image_size": 32, "num_train_examples": 6, "num_eval_examples": 5, "num_test_examples": 4,
             "backgrounds": "none", "empty_fraction": 0.0, "num_proc": 1, "data_seed": 3}
    plain = load_scene_data(**sizes)
    more = load_scene_data(**sizes, num_clock_free_examples=7)
    assert len(more.train) == 6 and len(more.validation) == 5 + 7 and len(more.test) == 4 + 7
    for before, after in ((plain.train, more.train), (plain.validation, more.validation), (plain.test, more.test)):
        for name, column in before.columns.items():
            assert torch.equal(after.columns[name][:len(before)], column), name
        assert after.columns["has_clock"][len(before):].logical_not().all()
    # the two clock-free sets are different scenes, each from its recorded seed
    assert not torch.equal(more.validation.columns["pixel_values"][5:9], more.test.columns["pixel_values"][4:8])
    assert more.provenance["clock_free"] == {
        "count_per_split": 7, "seeds": {split: 3 + offset for split, offset in CLOCK_FREE_SEED_OFFSETS.items()}}
    assert "clock_free" not in plain.provenance and "+ 7 without a clock" in more.source


def test_tensor_dataset_concatenate_needs_the_same_columns():
    from tinyvision.data import TensorDataset

    a = TensorDataset(x=torch.arange(3), y=torch.zeros(3))
    joined = TensorDataset.concatenate(a, TensorDataset(y=torch.ones(2), x=torch.arange(2)))
    assert joined.columns["x"].tolist() == [0, 1, 2, 0, 1] and joined.columns["y"].tolist() == [0, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="same columns"):
        TensorDataset.concatenate(a, TensorDataset(x=torch.arange(2)))


@pytest.mark.parametrize("call,name", [
    (lambda: render_clock_scene(13, 0), "hour"),
    (lambda: render_clock_scene(-1, 0), "hour"),
    (lambda: render_clock_scene(1, 60), "minute"),
    (lambda: render_clock_scene(1, 0, orientation="sideways"), "orientation"),
    (lambda: make_scene_arrays(2, size=32, orientation="nope"), "orientation"),
    (lambda: make_scene_arrays(2, size=32, p_empty=1.5), "p_empty"),
    (lambda: make_scene_arrays(-1, size=32), "n"),
    (lambda: make_scene_arrays(2, size=32, mode="CMYK"), "mode"),
    (lambda: make_scene_arrays(2, size=32, backgrounds=np.zeros((2, 8, 8), np.uint8)), "backgrounds"),
])
def test_bad_arguments_raise(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_orientation_prior():
    assert ORIENTATIONS == ("world", "any", "upright")
    _, labels = make_scene_arrays(12, size=32, seed=0, num_proc=1, orientation="upright")
    # upright: in-plane rotation within 8 degrees; tilt can bend the projected 12 a little more
    off = np.abs((labels["dial_rotation"] + 180.0) % 360.0 - 180.0)
    assert np.median(off) < 20


def test_load_background_pool(tmp_path):
    import datasets

    images = [Image.new("RGB", (32, 32), (255, 0, 0)), Image.new("RGB", (48, 40), (0, 255, 0)),
              Image.new("L", (64, 64), 128)]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")})
    folder = tmp_path / "tiny"
    folder.mkdir()
    datasets.Dataset.from_dict({"image": images, "label": [0, 1, 2]}, features=features).to_parquet(
        str(folder / "train-00000-of-00001.parquet"))
    pool = load_background_pool([str(folder)], max_images=10)
    assert pool.dtype == np.uint8 and pool.shape == (3, 64, 64, 3)
    assert load_background_pool(str(folder), max_images=2).shape == (2, 64, 64, 3)
    assert load_background_pool(None) is None and load_background_pool([]) is None
    assert load_background_pool([str(tmp_path / "missing")]) is None
    assert math.isfinite(float(pool.mean()))


def _forced_uses(seed: int, **choices):
    with clock_scenes.forced_styles(**choices) as used:
        image, labels = render_clock_scene(7, 41, width=96, height=96, seed=seed)
        return image, labels, used()


def test_forced_styles_fix_one_draw_and_leave_the_rest_of_the_scene_as_drawn():
    """Forcing the hands' shape draws the same random numbers: exactly one shape (the one the scene draws anyway)
    gives the unforced scene back pixel for pixel, the others change only the hands (same labels)."""
    seed = next(s for s in range(40) if _forced_uses(s, hands="baton")[2]["hands"] == 1)
    plain_image, plain_labels = render_clock_scene(7, 41, width=96, height=96, seed=seed)
    same = []
    for shape in clock_scenes.HAND_SHAPES:
        image, labels, uses = _forced_uses(seed, hands=shape)
        assert uses == {"hands": 1}
        np.testing.assert_array_equal(labels["homography"], plain_labels["homography"])
        assert labels["hour_hand_angle"] == plain_labels["hour_hand_angle"]
        same.append(image.tobytes() == plain_image.tobytes())
    assert sum(same) == 1
    assert clock_scenes.STYLE_CHOICES["markers"] == clock_scenes.MARKER_KINDS
    _, _, uses = _forced_uses(seed, hands="breguet", markers="roman")
    assert uses == {"hands": 1, "markers": 1}
    # outside the block nothing is forced any more
    assert render_clock_scene(7, 41, width=96, height=96, seed=seed)[0].tobytes() == plain_image.tobytes()


def _face_alpha_along(rng_seed: int, case: str, angle: float, radii) -> np.ndarray:
    """The alpha (0–255) of a face drawn with ``case`` and baton hands forced (at 3:00: hour 90°, minute 0°), sampled along
    the direction ``angle`` at ``radii`` (dial radii)."""
    with clock_scenes.forced_styles(case=case, hands="baton") as used:
        image, matrix = clock_scenes._draw_face(np.random.default_rng(rng_seed), 90.0, 0.0, 60.0, True, "L", False)
        assert used() == {"case": 1, "hands": 2 if case == "frameless" else 1}  # frameless: drawn twice
    points = np.array([_radial(angle, r, 0.0) for r in radii])
    pixels = points @ matrix[:2, :2].T + matrix[:2, 2]
    return _sample(np.asarray(image.getchannel("A"), np.float32), pixels)


def test_frameless_clocks_show_the_wall_between_their_marks_and_hands():
    """A frameless clock has no case and no face: its picture is opaque on the hands and clear between the marks,
    where a clock with a face (even without a case) hides the wall across its whole dial."""
    radii = np.linspace(0.1, 0.6, 11)
    assert (_face_alpha_along(3, "frameless", 0.0, radii[2:]) > 250).all()  # the minute hand points at 12
    assert (_face_alpha_along(3, "frameless", 90.0, radii[:-2]) > 250).all()  # the hour hand at 3 (its length)
    between = _face_alpha_along(3, "frameless", 225.0, radii[2:])  # towards half past 7, between the hands
    assert (between == 0).mean() > 0.7
    assert (_face_alpha_along(3, "none", 225.0, radii) == 255).all()
    assert "frameless" in clock_scenes.STYLE_CHOICES["case"]


def test_forced_styles_skip_scenes_without_a_generator_clock_and_refuse_unknown_styles():
    with clock_scenes.forced_styles(hands="sword") as used:
        render_clock_scene(1, 2, width=64, height=64, seed=0, has_clock=False)
        render_clock_scene(1, 2, width=64, height=64, seed=0, plain=True)
        assert used() == {"hands": 0}
        with pytest.raises(RuntimeError, match="already forced"):
            with clock_scenes.forced_styles(hands="baton"):
                pass
    with pytest.raises(ValueError, match="hands must be one of"):
        with clock_scenes.forced_styles(hands="spoon"):
            pass
    with pytest.raises(ValueError, match="unknown style 'face'"):
        with clock_scenes.forced_styles(face="dark"):
            pass


class _RecordingPainter:
    """Stands in for the face painter: records the polygons it is asked to fill and ignores everything else."""

    def __init__(self):
        self.polygons_drawn: list[np.ndarray] = []

    def polygons(self, uv, rgb, shift=(0.0, 0.0)):
        uv = np.asarray(uv, dtype=np.float64)
        self.polygons_drawn.extend(uv.reshape((-1,) + uv.shape[-2:]))

    def __getattr__(self, name):  # radial_bars, dots, circle, texts_font, ...
        return lambda *args, **kwargs: None


def _inward_triangles(polygons) -> list[float]:
    """The directions (degrees clockwise from 12) of the triangles whose apex lies nearer the centre than their base."""
    found = []
    for points in polygons:
        if len(points) != 3:
            continue
        radii = np.hypot(points[:, 0], points[:, 1])
        if radii[2] < radii[:2].min() - 0.05:
            found.append(round(math.degrees(math.atan2(points[2, 0], points[2, 1])) % 360.0, 3))
    return found


def test_wedge_dials_point_a_triangle_at_every_hour_and_keep_the_inward_triangle_off_their_12():
    """Wedge indices (inward triangles at every hour) share their shape with one of the 12 o'clock cues, so a wedge
    dial that must show which mark is 12 leaves the wedge at 12 out and cues it with another shape."""
    from tinyvision.data.scene_dials import _draw_markers

    without_cue = 0
    for seed in range(30):
        for need_twelve in (True, False):
            paint = _RecordingPainter()
            with clock_scenes.forced_styles(markers="wedges") as used:
                _draw_markers(paint, np.random.default_rng(seed), (0, 0, 0), (200, 0, 0), (255, 255, 255),
                              need_twelve, False, 60.0)
                assert used() == {"markers": 1}
            directions = sorted(_inward_triangles(paint.polygons_drawn))
            assert set(directions) >= {30.0 * h for h in range(1, 12)}
            if need_twelve:
                assert directions == [30.0 * h for h in range(1, 12)]  # nothing inward at 12, the wedge included
            else:
                without_cue += directions == [30.0 * h for h in range(12)]
    assert without_cue > 0  # an upright-only dial may keep its plain wedge at 12
