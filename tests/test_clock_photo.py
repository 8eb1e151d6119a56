"""The two-stage photo clock reader: geometry, the letterboxing processor, training, saving, the pipeline on
whole photos (a 1280x720 frame, an image without a clock) and loading without tinyvision."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import run_without_tinyvision
from PIL import Image
from transformers import AutoModel, pipeline

from tinyvision import ClockPhotoReader, ClockPhotoReaderConfig, TinyVisionImageProcessor
from tinyvision.data.clocks import _image_angle
from tinyvision.models.modeling_clock import to_polar
from tinyvision.models.modeling_clock_photo import (
    crop_angles,
    cut_dials,
    dial_geometry,
    image_directions,
    params_to_shape,
    polar_dials,
    rectified_dial,
    reading_directions,
    rectifier_targets,
    round_shape,
    shape_boxes,
    shape_to_params,
)

TINY_READER = {"image_size": 32, "num_channels": 1, "head": "angles", "angle_channels": True, "polar_rows": 8,
               "polar_cols": 32, "conv_filters": [4, 8], "conv_kernel_sizes": [3, 3], "conv_strides": [1, 1],
               "pool_after": [False, False], "fc_hidden_sizes": [8]}


def tiny_config(**overrides) -> ClockPhotoReaderConfig:
    values = {"image_size": 64, "detector_size": 32, "detector_channels": [4, 4, 8, 8], "detector_head_channels": 8,
              "reader": dict(TINY_READER)}
    values.update(overrides)
    return ClockPhotoReaderConfig(**values)


def similarity(scale: float, rotation: float, tx: float, ty: float) -> np.ndarray:
    """Dial → image: rotate the dial clockwise by ``rotation`` degrees, scale, translate (v up on the dial)."""
    c, s = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    return np.array([[scale * c, scale * s, tx], [scale * s, -scale * c, ty], [0.0, 0.0, 1.0]])


# ------------------------------------------------------------------------------------ geometry
def test_dial_geometry_of_a_similarity_is_a_circle_at_the_translation():
    homography = torch.tensor(similarity(40.0, 30.0, 100.0, 70.0))[None].float()
    centre, shape = dial_geometry(homography)
    torch.testing.assert_close(centre, torch.tensor([[100.0, 70.0]]))
    torch.testing.assert_close(shape, 40.0 * torch.eye(2)[None], atol=1e-3, rtol=1e-4)


def test_dial_geometry_traces_the_projected_unit_circle_under_perspective():
    homography = similarity(30.0, 10.0, 80.0, 60.0) @ np.array([[1.0, 0.1, 0.0], [0.0, 0.7, 0.0], [0.15, -0.1, 1.0]])
    centre, shape = dial_geometry(torch.tensor(homography)[None].float())
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    points = np.stack([np.sin(t), np.cos(t), np.ones_like(t)], 1) @ homography.T
    points = points[:, :2] / points[:, 2:]
    # every projected rim point p satisfies |S^-1 (p - ellipse centre)| = 1; the pivot is H(0, 0)
    pivot = homography @ [0, 0, 1]
    torch.testing.assert_close(centre[0], torch.tensor(pivot[:2] / pivot[2]).float())
    inverse = np.linalg.inv(shape[0].double().numpy())
    # the ellipse's own centre (not the pivot, under perspective): fit the conic through the rim points
    design = np.stack([points[:, 0] ** 2, points[:, 0] * points[:, 1], points[:, 1] ** 2, points[:, 0], points[:, 1]], 1)
    coeffs = np.linalg.lstsq(design, np.ones(len(points)), rcond=None)[0]
    a, b, c, d, e = coeffs
    ellipse_centre = np.linalg.solve([[2 * a, b], [b, 2 * c]], [-d, -e])
    radii = np.linalg.norm((points - ellipse_centre) @ inverse.T, axis=1)
    np.testing.assert_allclose(radii, 1.0, atol=1e-3)


def test_shape_params_round_trip_and_boxes():
    shapes = torch.tensor([[[30.0, 5.0], [5.0, 20.0]], [[12.0, 0.0], [0.0, 12.0]]])
    params = shape_to_params(shapes)
    torch.testing.assert_close(params_to_shape(params[:, 0], params[:, 1], params[:, 2]), shapes, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(params[1], torch.tensor([math.log(12.0), 0.0, 0.0]), atol=1e-5, rtol=0)
    boxes = shape_boxes(torch.tensor([[50.0, 40.0]]), torch.tensor([[[12.0, 0.0], [0.0, 6.0]]]))
    torch.testing.assert_close(boxes, torch.tensor([[38.0, 34.0, 62.0, 46.0]]))


def test_crop_angles_match_the_generator_convention_and_map_back_to_the_image():
    homography = similarity(40.0, 25.0, 100.0, 70.0)
    centre, shape = dial_geometry(torch.tensor(homography)[None].float())
    dial_angles = torch.tensor([[0.0, 95.0, 210.0]])
    angles = crop_angles(torch.tensor(homography)[None], centre, shape, dial_angles)
    expected = torch.tensor([[_image_angle(homography, float(a)) for a in dial_angles[0]]])
    torch.testing.assert_close(angles, expected, atol=1e-3, rtol=0)
    # an anisotropic crop bends directions; image_directions undoes it
    squashed = torch.tensor([[[40.0, 0.0], [0.0, 20.0]]])
    bent = crop_angles(torch.tensor(homography)[None], centre, squashed, dial_angles)
    torch.testing.assert_close(image_directions(squashed, bent), expected, atol=1e-3, rtol=0)


def test_cut_dials_centres_the_dial_and_scales_it_to_the_fill():
    image = torch.zeros(1, 1, 64, 64)
    image[..., 20:24, 40:44] = 1.0  # a bright 4x4 square centred at (42, 22)
    crop = cut_dials(image, torch.tensor([[42.0, 22.0]]), 10.0 * torch.eye(2)[None], crop_size=20, fill=0.5)
    # the crop spans 2 * 10 / 0.5 = 40 px: the square (4 px) covers 2 crop pixels round the centre
    assert crop[0, 0, 9:11, 9:11].min() > 0.9 and crop[0, 0, :5].max() == 0 and crop[0, 0, :, :5].max() == 0


def test_polar_dials_sample_the_points_the_crop_route_reads():
    """Sampled straight from the photo, the reader's polar grid of a smooth image is what the frontal crop resampled
    on that grid gives (the same points; only the crop's interpolation in between differs), for a tilted
    ellipse as for a round dial, once or as the mean of 3 × 3 samples a cell."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 64), indexing="ij")
    pixels = (torch.sin(3 * xs + 1) * torch.cos(2 * ys) + 0.3 * xs * ys)[None, None].repeat(2, 1, 1, 1)
    centre = torch.tensor([[30.0, 33.0], [24.0, 40.0]])
    shape = torch.stack((torch.tensor([[12.0, 2.0], [2.0, 9.0]]), 15.0 * torch.eye(2)))
    through_crop = to_polar(cut_dials(pixels, centre, shape, 48, 0.78), 8, 32)
    for supersample in (1, 3):
        direct = polar_dials(pixels, centre, shape, 8, 32, 0.78, supersample)
        assert direct.shape == (2, 1, 8, 32)
        torch.testing.assert_close(direct, through_crop, atol=0.02, rtol=0)


def test_supersampled_polar_dials_see_a_thin_line_wherever_it_falls():
    """A one-pixel radial line on a large dial (radius 110 pixels): the 96-pixel crop samples the photo about
    every 3 pixels and misses the line where it falls between its samples; the polar grid sampled straight from
    the photo, 3 × 3 samples a cell, sees it at every position."""
    centre, shape = torch.tensor([[128.0, 128.0]]), 110.0 * torch.eye(2)[None]
    rows = slice(4, 16)  # along the line, away from the centre and the dial's edge
    crop_missed = 0
    for column in range(125, 132):
        pixels = torch.zeros(1, 1, 256, 256)
        pixels[0, 0, 20:128, column] = 1.0  # from the centre up, one pixel wide
        through_crop = to_polar(cut_dials(pixels, centre, shape, 96, 0.78), 24, 192)[0, 0, rows].amax(-1)
        supersampled = polar_dials(pixels, centre, shape, 24, 192, 0.78, 3)[0, 0, rows].amax(-1)
        crop_missed += int(through_crop.max() < 0.1)
        assert supersampled.min() > 0.15, column
    assert crop_missed >= 4  # 5 of the 7 positions


def test_rectifier_targets_and_rectified_dial_invert_each_other():
    # the rectifier's crop is cut at a wrong round dial; its targets must lead back to the true ellipse
    true_centre = torch.tensor([[40.0, 30.0], [20.0, 25.0]])
    true_shape = torch.tensor([[[14.0, 3.0], [3.0, 8.0]], [[10.0, -2.0], [-2.0, 12.0]]])
    guess_centre = true_centre + torch.tensor([[2.0, -1.5], [-1.0, 0.5]])
    guess_shape = round_shape(torch.tensor([[[12.0, 0.0], [0.0, 12.0]], [[9.0, 0.0], [0.0, 9.0]]]))
    targets = rectifier_targets(guess_centre, guess_shape, true_centre, true_shape)
    centre, shape = rectified_dial(guess_centre, guess_shape, targets)
    torch.testing.assert_close(centre, true_centre, atol=1e-4, rtol=0)
    torch.testing.assert_close(shape, true_shape, atol=1e-3, rtol=1e-4)
    # a crop already on the true circle asks for nothing
    circle = 11.0 * torch.eye(2)[None]
    zero = rectifier_targets(true_centre[:1], circle, true_centre[:1], circle)
    torch.testing.assert_close(zero, torch.zeros(1, 5), atol=1e-5, rtol=0)


def test_an_untrained_rectifier_keeps_the_detected_dial_and_round_crop():
    model = ClockPhotoReader(tiny_config()).eval()
    centre = torch.tensor([[30.0, 34.0]])
    shape = torch.tensor([[[12.0, 2.0], [2.0, 6.0]]])
    outputs, new_centre, new_shape = model.rectify(torch.randn(1, 1, 64, 64), centre, shape)
    assert outputs.abs().max() == 0  # zero-initialised last layer: the detector is trusted at the start
    torch.testing.assert_close(new_centre, centre)
    torch.testing.assert_close(new_shape, round_shape(shape), atol=1e-4, rtol=1e-5)


def _ellipses(n: int, seed: int):
    """Bright ellipses (dials seen off-axis) on noise, and their true centres and shapes."""
    generator = torch.Generator().manual_seed(seed)
    centre = 24.0 + 16.0 * torch.rand(n, 2, generator=generator)
    params = torch.stack((math.log(9.0) + 0.2 * torch.randn(n, generator=generator),
                          0.8 * torch.randn(n, generator=generator), 0.8 * torch.randn(n, generator=generator)), -1)
    shape = params_to_shape(params[:, 0], params[:, 1], params[:, 2])
    ys, xs = torch.meshgrid(torch.arange(64) + 0.5, torch.arange(64) + 0.5, indexing="ij")
    offsets = torch.stack((xs, ys), -1)[None] - centre[:, None, None]
    unit = (offsets @ torch.linalg.inv(shape).transpose(1, 2)[:, None]).norm(dim=-1)
    pixels = 0.2 * torch.randn(n, 1, 64, 64, generator=generator) + 2.0 * (unit < 1.0).float()[:, None]
    return pixels, centre, shape


def test_the_rectifier_learns_the_ellipse_a_round_crop_misses():
    torch.manual_seed(0)
    model = ClockPhotoReader(tiny_config(rectifier_size=32, rectifier_channels=[8, 16, 16])).train()
    optimizer = torch.optim.Adam(model.rectifier.parameters(), lr=3e-3)
    pixels, centre, shape = _ellipses(64, seed=0)
    for _ in range(150):
        outputs, _, _ = model.rectify(pixels, centre, shape)
        loss = F.smooth_l1_loss(outputs, rectifier_targets(centre, round_shape(shape), centre, shape))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    pixels, centre, shape = _ellipses(32, seed=1)  # new ellipses
    with torch.no_grad():
        _, _, refined = model.rectify(pixels, centre, shape)
    truth = shape_to_params(shape)[:, 1:]
    before = truth.norm(dim=-1).mean()  # the round crop's error in (e1, e2)
    after = (shape_to_params(refined)[:, 1:] - truth).norm(dim=-1).mean()
    assert after < 0.5 * before


def test_the_photo_reader_works_without_a_rectifier(tmp_path):
    model = ClockPhotoReader(tiny_config(rectifier_size=0)).train()
    assert model.rectifier is None and not any(k.startswith("rectifier") for k in model.state_dict())
    out = model(**_batch())
    assert out.rectifier_loss is None and torch.isfinite(out.loss)
    model.eval().save_pretrained(tmp_path)
    loaded = ClockPhotoReader.from_pretrained(tmp_path).eval()
    pixels = _batch()["pixel_values"]
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixel_values=pixels).boxes, model(pixel_values=pixels).boxes)


# ------------------------------------------------------------------------------------ processor
def test_letterbox_processor_places_the_image_where_placement_says():
    processor = TinyVisionImageProcessor(size={"height": 64, "width": 64}, num_channels=1, letterbox=True)
    image = Image.new("L", (400, 200), 0)
    image.paste(255, (300, 50, 340, 90))  # a white square centred at (320, 70)
    pixels = processor.to_uint8(image)[0].float()
    scale_x, scale_y, offset_x, offset_y = processor.placement(400, 200)
    assert (scale_x, scale_y, offset_x, offset_y) == (0.16, 0.16, 0.0, 16.0)
    ys, xs = torch.nonzero(pixels > 128, as_tuple=True)
    assert abs(xs.float().mean().item() + 0.5 - (offset_x + 320 * scale_x)) < 1.0
    assert abs(ys.float().mean().item() + 0.5 - (offset_y + 70 * scale_y)) < 1.0
    assert pixels[:15].max() == 0 and pixels[49:].max() == 0  # black bars above and below
    with pytest.raises(ValueError, match="square"):
        TinyVisionImageProcessor(size={"height": 64, "width": 32}, letterbox=True)


# ------------------------------------------------------------------------------------ config
@pytest.mark.parametrize(
    "overrides, field",
    [({"detector_size": 40}, "detector_size"), ({"detector_channels": [4, 4]}, "detector_channels"),
     ({"crop_fill": 2.0}, "crop_fill"), ({"detection_threshold": 1.5}, "detection_threshold"),
     ({"reader": {**TINY_READER, "head": "hybrid"}}, "reader.head"),
     ({"reader": {**TINY_READER, "num_channels": 3}}, "reader.num_channels"),
     ({"rectifier_size": 8}, "rectifier_size"), ({"rectifier_size": -1}, "rectifier_size"),
     ({"rectifier_fill": 1.5}, "rectifier_fill"), ({"rectifier_channels": []}, "rectifier_channels"),
     ({"rectifier_jitter": -0.1}, "rectifier_jitter"), ({"test_time_scales": []}, "test_time_scales"),
     ({"test_time_scales": [1.0, 3.0]}, "test_time_scales"), ({"test_time_scales": 1.0}, "test_time_scales"),
     ({"test_time_scales": ["1.0"]}, "test_time_scales"), ({"test_time_flip": "yes"}, "test_time_flip"),
     ({"test_time_turns": [45]}, "test_time_turns"), ({"test_time_turns": [0, 0]}, "test_time_turns"),
     ({"test_time_turns": []}, "test_time_turns"), ({"test_time_turns": 90}, "test_time_turns"),
     ({"test_time_turn_weight": 1.5}, "test_time_turn_weight"), ({"test_time_turn_weight": -0.1}, "turn_weight"),
     ({"test_time_turn_weight": True}, "test_time_turn_weight"), ({"test_time_turn_weight": "0.2"}, "turn_weight"),
     ({"test_time_turn_weight": float("nan")}, "`test_time_turn_weight` must be a number in"),
     ({"test_time_turns": [90, 180], "test_time_turn_weight": 0}, "test_time_turn_weight"),
     ({"any_turn": True}, "any_turn"), ({"any_turn": "yes", "reader": {**TINY_READER, "up_dropout": 0.25}}, "any_turn"),
     ({"reader": {**TINY_READER, "up_dropout": 2.0}}, "up_dropout"),
     ({"polar_supersample": -1}, "polar_supersample"), ({"polar_supersample": 9}, "polar_supersample"),
     ({"polar_supersample": True}, "polar_supersample"), ({"polar_supersample": 2.0}, "polar_supersample"),
     ({"polar_supersample": 1, "reader": {**TINY_READER, "polar": False, "angle_channels": False}}, "reader.polar"),
     ({"polar_supersample": 1, "test_time_turns": [0, 90], "reader": {**TINY_READER, "polar_cols": 30}},
      "reader.polar_cols")],
)
def test_impossible_configs_fail_naming_the_field(overrides, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        tiny_config(**overrides)


# ------------------------------------------------------------------------------------ model
def _batch(n: int = 4):
    """Bright discs (the dials) at different places on noise; the last scene holds none."""
    torch.manual_seed(0)
    places = [(20.0, 20.0, 10.0), (44.0, 30.0, 12.0), (30.0, 44.0, 8.0), (32.0, 32.0, 10.0)][:n]
    homography = torch.tensor(np.stack([similarity(r, 20.0 * i, x, y) for i, (x, y, r) in enumerate(places)])).float()
    pixels = 0.3 * torch.randn(n, 1, 64, 64)
    ys, xs = torch.meshgrid(torch.arange(64) + 0.5, torch.arange(64) + 0.5, indexing="ij")
    for i, (x, y, r) in enumerate(places[: n - 1]):
        pixels[i, 0][(xs - x) ** 2 + (ys - y) ** 2 < r**2] += 2.0
    return {
        "pixel_values": pixels,
        "hour": torch.arange(n) % 12,
        "minute": torch.arange(n) * 7 % 60,
        "dial_homography": homography,
        "has_clock": torch.tensor([True] * (n - 1) + [False]),
    }


@pytest.mark.parametrize("polar_supersample", [0, 2])
def test_training_step_learns_and_handles_scenes_without_a_clock(polar_supersample):
    torch.manual_seed(1)
    model = ClockPhotoReader(tiny_config(detector_channels=[8, 8, 16, 16], detector_head_channels=16,
                                         polar_supersample=polar_supersample)).train()
    batch = _batch()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(80):
        out = model(**batch)
        assert torch.isfinite(out.loss) and out.detector_loss is not None and out.reader_loss is not None
        assert out.rectifier_loss is not None and torch.isfinite(out.rectifier_loss)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert losses[-1] < 0.7 * losses[0]
    model.eval()
    with torch.no_grad():
        out = model(**batch)
    assert out.hour.shape == (4,) and out.boxes.shape == (4, 4) and out.hand_angles.shape == (4, 3)
    assert ((out.confidence >= 0) & (out.confidence <= 1)).all()
    # the detector learned where the dials are (the fourth scene has none: it is not scored)
    centres = dial_geometry(batch["dial_homography"][:3])[0]
    assert (out.dial_center[:3] - centres).norm(dim=-1).max() < 3.0
    assert out.confidence[:3].min() > 0.5 > out.confidence[3]


def test_one_plain_read_is_the_reader_itself():
    torch.manual_seed(0)
    model = ClockPhotoReader(tiny_config(test_time_scales=[1.0], test_time_flip=False)).eval()
    assert not model.augments_reads
    pixels = torch.randn(3, 1, 64, 64)
    centre, shape = torch.tensor([[30.0, 34.0]] * 3), 12.0 * torch.eye(2).expand(3, 2, 2)
    with torch.no_grad():
        logits, minutes = model.read_dials(pixels, centre, shape)
        read = model.reader(pixel_values=cut_dials(pixels, centre, shape, 32, model.config.crop_fill))
    torch.testing.assert_close(logits, read.logits)
    torch.testing.assert_close(minutes, read.minutes)


@pytest.mark.parametrize("polar_supersample", [0, 2])
def test_mirrored_reads_make_the_reading_of_a_mirrored_dial_its_mirror_image(polar_supersample):
    """With test_time_flip the pooled votes of a dial and of its mirror image are mirror images: every angle
    negates (sin flips sign, cos stays), so the reading does not favour either sense of the dial. The same
    holds where the polar grid is sampled straight from the photo (its mirror: the columns reversed)."""
    torch.manual_seed(0)
    model = ClockPhotoReader(tiny_config(test_time_scales=[0.9, 1.0], test_time_flip=True,
                                         polar_supersample=polar_supersample)).eval()
    assert model.augments_reads
    pixels = torch.randn(2, 1, 64, 64)
    centre, shape = torch.tensor([[32.0, 32.0]] * 2), 14.0 * torch.eye(2).expand(2, 2, 2)  # the image's centre
    with torch.no_grad():
        logits, _ = model.read_dials(pixels, centre, shape)
        mirrored, _ = model.read_dials(pixels.flip(-1), centre, shape)
    torch.testing.assert_close(mirrored[:, 0::2], -logits[:, 0::2], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(mirrored[:, 1::2], logits[:, 1::2], atol=1e-5, rtol=1e-4)
    plain = ClockPhotoReader(tiny_config(test_time_scales=[0.9, 1.0], test_time_flip=False,
                                         polar_supersample=polar_supersample)).eval()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        unpooled, _ = plain.read_dials(pixels.flip(-1), centre, shape)
    assert not torch.allclose(unpooled[:, 0::2], -logits[:, 0::2], atol=1e-3)  # the reader alone is not symmetric


@pytest.mark.parametrize("polar_supersample", [0, 2])
def test_quarter_turn_reads_make_the_reading_of_a_turned_dial_the_same_time(polar_supersample):
    """With test_time_turns 0, 90, 180, 270 the pooled votes of a dial turned a quarter turn are the votes of the
    dial turned with it: 12 and both hands move by 90 degrees (sin, cos → cos, -sin), the tick phase (12 per turn)
    stays, and the time read is the same. Without the turns the reader alone is not so. The same holds where the
    polar grid is sampled straight from the photo (a turn: the columns shifted)."""
    torch.manual_seed(0)
    model = ClockPhotoReader(tiny_config(test_time_scales=[1.0], test_time_flip=False,
                                         test_time_turns=[0, 90, 180, 270], polar_supersample=polar_supersample)).eval()
    assert model.augments_reads
    pixels = torch.randn(2, 1, 64, 64)
    turned_pixels = torch.rot90(pixels, -1, (-2, -1))  # a quarter turn clockwise
    centre, shape = torch.tensor([[32.0, 32.0]] * 2), 14.0 * torch.eye(2).expand(2, 2, 2)  # the image's centre
    with torch.no_grad():
        logits, minutes = model.read_dials(pixels, centre, shape)
        turned, turned_minutes = model.read_dials(turned_pixels, centre, shape)
    torch.testing.assert_close(turned[:, 0:6:2], logits[:, 1:6:2], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(turned[:, 1:6:2], -logits[:, 0:6:2], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(turned[:, 6:], logits[:, 6:], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(turned_minutes, minutes, atol=1e-3, rtol=0)
    plain = ClockPhotoReader(tiny_config(test_time_scales=[1.0], test_time_flip=False,
                                         polar_supersample=polar_supersample)).eval()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        unpooled, _ = plain.read_dials(turned_pixels, centre, shape)
    assert not plain.augments_reads and not torch.allclose(unpooled[:, 0:6:2], logits[:, 1:6:2], atol=1e-3)


def test_turned_reads_weigh_test_time_turn_weight_against_the_upright_one():
    """``test_time_turn_weight`` w scales each turned read's column weights and mark evidence by w against the
    upright read's (the shares summing to 1 as before, every scale and mirror of a turn alike); w = 1 is the
    equal pooling, and w = 0 reads as if the dial were read upright only."""
    torch.manual_seed(0)
    reader = {**TINY_READER, "mark_votes": True}
    turns = [0, 90, 180, 270]
    equal = ClockPhotoReader(tiny_config(reader=reader, test_time_scales=[0.9, 1.0], test_time_turns=turns)).eval()
    pixels = torch.randn(2, 1, 64, 64)
    centre, shape = torch.tensor([[30.0, 33.0]] * 2), 13.0 * torch.eye(2).expand(2, 2, 2)
    with torch.no_grad():
        weights, votes, (directions, evidence) = equal.pooled_votes(pixels, centre, shape)
        for w in (1.0, 0.25):
            weighted = ClockPhotoReader(tiny_config(reader=reader, test_time_scales=[0.9, 1.0], test_time_turns=turns,
                                                    test_time_turn_weight=w)).eval()
            weighted.load_state_dict(equal.state_dict())
            w_weights, w_votes, (w_directions, w_evidence) = weighted.pooled_votes(pixels, centre, shape)
            # per turn: upright 1 / (1 + 3w), turned w / (1 + 3w); equal pooling gives every turn 1 / 4
            factor = torch.tensor([1.0, w, w, w]) / (1 + 3 * w) * 4
            factor = factor.repeat_interleave(weights.shape[1] // 4)  # every turn's reads sit side by side
            torch.testing.assert_close(w_weights, weights * factor[None, :, None])
            torch.testing.assert_close(w_evidence, evidence * factor[None, :, None])
            torch.testing.assert_close(w_votes, votes)
            torch.testing.assert_close(w_directions, directions)
            assert torch.allclose(w_weights.sum(1), weights.sum(1))
        upright_only = ClockPhotoReader(tiny_config(reader=reader, test_time_scales=[0.9, 1.0], test_time_turns=turns,
                                                    test_time_turn_weight=0.0)).eval()
        upright_only.load_state_dict(equal.state_dict())
        plain = ClockPhotoReader(tiny_config(reader=reader, test_time_scales=[0.9, 1.0])).eval()
        plain.load_state_dict(equal.state_dict())
        logits, minutes = upright_only.read_dials(pixels, centre, shape)
        plain_logits, plain_minutes = plain.read_dials(pixels, centre, shape)
        equal_logits, _ = equal.read_dials(pixels, centre, shape)
    torch.testing.assert_close(logits, plain_logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(minutes, plain_minutes, atol=1e-3, rtol=0)
    assert not torch.allclose(equal_logits, plain_logits, atol=1e-3)  # the turned reads do change the reading


def test_pooled_reads_turn_and_mirror_the_mark_votes_back():
    """With the columns' mark votes deciding which mark is 12 (a large ``mark_vote_weight``), pooled reads still
    read a dial turned a quarter turn as the same time (all four turns read) and a mirrored dial as the mirrored
    time (plain and mirrored reads): each read's column directions and sectors go back to the crop as cut."""
    torch.manual_seed(0)
    reader = {**TINY_READER, "mark_votes": True, "mark_vote_weight": 50.0}
    pixels = torch.randn(3, 1, 64, 64)
    centre, shape = torch.tensor([[32.0, 32.0]] * 3), 14.0 * torch.eye(2).expand(3, 2, 2)
    turning = ClockPhotoReader(tiny_config(reader=reader, test_time_scales=[1.0], test_time_flip=False,
                                           test_time_turns=[0, 90, 180, 270])).eval()
    mirroring = ClockPhotoReader(tiny_config(reader=reader, test_time_scales=[1.0], test_time_flip=True)).eval()
    mirroring.load_state_dict(turning.state_dict())
    with torch.no_grad():
        _, minutes = turning.read_dials(pixels, centre, shape)
        _, turned_minutes = turning.read_dials(torch.rot90(pixels, -1, (-2, -1)), centre, shape)
        _, plain_minutes = mirroring.read_dials(pixels, centre, shape)
        _, mirrored_minutes = mirroring.read_dials(pixels.flip(-1), centre, shape)
        turning.reader.config.mark_vote_weight = 0.0
        _, unvoted = turning.read_dials(pixels, centre, shape)
    torch.testing.assert_close(turned_minutes, minutes, atol=1e-3, rtol=0)
    gap = (plain_minutes + mirrored_minutes + 360.0).remainder(720.0) - 360.0  # mirrored: 720 - minutes
    assert gap.abs().max().item() < 1e-2
    assert not torch.allclose(unvoted, minutes, atol=1.0)  # the votes did decide


def test_any_turn_reads_the_dial_without_being_told_where_up_is(tmp_path):
    """``any_turn`` hides the reader's angle channels in every read (pooled or single, with or without targets),
    so a dial turned a quarter turn reads the same time with 12 and the hands turned by 90 degrees; it loads from
    a saved folder like any config field."""
    torch.manual_seed(0)
    reader = {**TINY_READER, "up_dropout": 0.25}
    model = ClockPhotoReader(tiny_config(reader=reader, test_time_scales=[1.0], test_time_flip=False)).eval()
    model.save_pretrained(tmp_path)
    turned_model = ClockPhotoReader.from_pretrained(tmp_path, any_turn=True).eval()
    assert turned_model.config.any_turn and not model.config.any_turn
    pixels = torch.randn(2, 1, 64, 64)
    centre, shape = torch.tensor([[32.0, 32.0]] * 2), 14.0 * torch.eye(2).expand(2, 2, 2)
    crops = cut_dials(pixels, centre, shape, 32, model.config.crop_fill)
    with torch.no_grad():
        logits, minutes = turned_model.read_dials(pixels, centre, shape)
        turned, turned_minutes = turned_model.read_dials(torch.rot90(pixels, -1, (-2, -1)), centre, shape)
        hidden = turned_model.reader(pixel_values=crops, hide_up=True)
        shown, _ = model.read_dials(pixels, centre, shape)
    torch.testing.assert_close(turned[:, 0:6:2], logits[:, 1:6:2], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(turned[:, 1:6:2], -logits[:, 0:6:2], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(turned_minutes, minutes, atol=1e-3, rtol=0)
    torch.testing.assert_close(logits, hidden.logits, atol=1e-5, rtol=1e-4)  # one read, up hidden
    assert not torch.allclose(shown, logits, atol=1e-3)
    batch = _batch()
    with torch.no_grad():  # evaluation with targets reads as inference does
        evaluated = turned_model(**batch)
        inferred = turned_model(pixel_values=batch["pixel_values"])
    torch.testing.assert_close(evaluated.minutes, inferred.minutes)


def test_a_reader_without_polar_columns_reads_once():
    model = ClockPhotoReader(tiny_config(reader={**TINY_READER, "polar": False, "angle_channels": False})).eval()
    assert model.config.test_time_flip and not model.augments_reads  # nothing to pool: one plain read
    with torch.no_grad():
        out = model(pixel_values=torch.randn(2, 1, 64, 64))
    assert out.minutes.shape == (2,) and torch.isfinite(out.minutes).all()


def test_evaluation_reads_as_inference_does_and_training_reads_once():
    torch.manual_seed(0)
    model = ClockPhotoReader(tiny_config()).eval()  # the defaults: three scales, mirrored
    assert model.config.test_time_scales == [0.93, 1.0, 1.07] and model.config.test_time_flip
    batch = _batch()
    with torch.no_grad():
        scored = model(**batch)
        inferred = model(pixel_values=batch["pixel_values"])
    torch.testing.assert_close(scored.minutes, inferred.minutes)
    assert scored.loss is not None
    calls = []
    model.reader.register_forward_hook(lambda module, args, kwargs, output: calls.append(len(kwargs["pixel_values"])),
                                       with_kwargs=True)
    model.train()(**batch)
    assert calls == [3]  # one read of the three scenes that hold a clock, no test-time reads


def test_missing_time_with_a_homography_is_refused():
    batch = _batch()
    with pytest.raises(ValueError, match="hour"):
        ClockPhotoReader(tiny_config())(pixel_values=batch["pixel_values"], dial_homography=batch["dial_homography"])


def _save(folder, **overrides) -> ClockPhotoReader:
    torch.manual_seed(0)
    model = ClockPhotoReader(tiny_config(**overrides)).eval()
    model.save_pretrained(folder)
    TinyVisionImageProcessor(size={"height": 64, "width": 64}, num_channels=1, letterbox=True).save_pretrained(folder)
    return model


def test_pipeline_reads_a_1280x720_frame_and_maps_the_box_to_it(tmp_path):
    model = _save(tmp_path, detection_threshold=0.0)
    reloaded = AutoModel.from_pretrained(tmp_path)
    assert type(reloaded) is ClockPhotoReader
    reader = pipeline("clock-reading", model=str(tmp_path))
    frame = Image.new("RGB", (1280, 720), (90, 120, 150))
    result = reader(frame)
    assert set(result) == {"hour", "minute", "time", "confidence", "found", "box", "dial", "hands"}
    assert result["found"] is True and 0.0 <= result["confidence"] <= 1.0
    # the box is the model's, scaled by 1280 / 64 = 20 and shifted by the letterbox's top bar (64 - 36) // 2
    with torch.no_grad():
        out = model(**TinyVisionImageProcessor.from_pretrained(tmp_path)(frame, return_tensors="pt"))
    xmin, ymin, xmax, ymax = out.boxes[0].tolist()
    np.testing.assert_allclose([result["box"][k] for k in ("xmin", "ymin", "xmax", "ymax")],
                               [xmin * 20, (ymin - 14) * 20, xmax * 20, (ymax - 14) * 20], rtol=1e-4, atol=1e-2)
    assert (result["hour"], result["minute"]) == (out.hour.item(), out.minute.item())
    batch = reader([frame, frame.resize((300, 400))], batch_size=2)
    assert batch[0]["time"] == result["time"] and set(batch[1]) == set(result)
    assert batch[0]["box"] == pytest.approx(result["box"], abs=1e-2)  # batched convolutions round differently


def test_no_clock_gets_a_low_confidence_not_an_error(tmp_path):
    _save(tmp_path, detection_threshold=0.99)
    result = pipeline("clock-reading", model=str(tmp_path))(Image.new("RGB", (200, 150), (30, 30, 30)))
    assert result["found"] is False and result["confidence"] < 0.99


REMOTE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from PIL import Image
    from transformers import AutoModel, pipeline

    model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True)
    reader = pipeline("clock-reading", model=sys.argv[1], trust_remote_code=True)
    print(json.dumps({"module": type(model).__module__, "reading": reader(Image.open(sys.argv[2]))}))
    """
)


def test_photo_reader_loads_and_reads_without_tinyvision(tmp_path):
    folder = tmp_path / "model"
    _save(folder)
    photo = tmp_path / "photo.png"
    Image.new("RGB", (320, 200), (200, 180, 160)).save(photo)
    payload = run_without_tinyvision(REMOTE_SCRIPT, folder, photo, cwd=tmp_path)
    assert payload["module"].startswith("transformers_modules")
    local = pipeline("clock-reading", model=str(folder))(Image.open(photo))
    assert payload["reading"] == local


# ------------------------------------------------------------------------------------ benchmarks
def _benchmark(name: str):
    import importlib.util
    import sys
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clock_photos_reads_times_from_file_names():
    from pathlib import Path

    photos = _benchmark("clock_photos")
    assert photos.time_from_name(Path("kitchen 10.09.jpg")) == (10, 9)
    assert photos.time_from_name(Path("frame_0042 12.30.png")) == (0, 30)
    assert photos.time_from_name(Path("x 7:05.jpeg")) == (7, 5)
    assert photos.time_from_name(Path("holiday.jpg")) is None
    assert photos.time_from_name(Path("bad 10.75.jpg")) is None


def test_clock_photos_end_to_end_on_made_frames(tmp_path, capsys):
    model_dir = tmp_path / "model"
    _save(model_dir, detection_threshold=0.0)
    made = tmp_path / "photos"
    _benchmark("make_clock_photos").main(["--kind", "frames", "--num_photos", "3", "--output_dir", str(made),
                                          "--width", "320", "--height", "180"])
    first = made / sorted(p.name for p in made.glob("*.jpg"))[0]
    (made / "notes.jpg").write_bytes(first.read_bytes())
    (made / "wall noclock.jpg").write_bytes(first.read_bytes())
    results = _benchmark("clock_photos").main(["--model_dir", str(model_dir), "--photos", str(made),
                                               "--output_dir", str(tmp_path / "out"), "--worst", "2"])
    summary = results["summary"]
    assert len(results["readings"]) == 3 and results["skipped"] == [str(made / "notes.jpg")]
    assert 0 <= summary["within_5_min"] <= 1 and summary["found_rate"] == 1.0
    assert 0 <= summary["box_iou_median"] <= 1
    assert summary["photos_without_clock"] == 1 and summary["false_alarm_rate"] == 1.0  # threshold 0: always found
    errors = [item["error"] for item in results["readings"]]
    assert summary["cse_mean"] == pytest.approx(np.mean(errors))
    # Every reading more than 5 minutes off is counted once, under the kind its own "miss" names.
    misses = [item["miss"] for item in results["readings"]]
    assert [m is None for m in misses] == [error <= 5 for error in errors]
    assert summary["misses"] == {kind: misses.count(kind) for kind in summary["misses"]}
    assert (tmp_path / "out" / "worst.png").exists() and (tmp_path / "out" / "results.json").exists()
    out = capsys.readouterr().out
    assert "read within 5 min" in out and "misses (> 5 min)" in out


def test_hand_directions_show_the_time_read_not_the_mean_votes():
    """The drawn hands come from the time read: 12 where the minute puts it, the hour hand where the time puts it.
    At 3:40 read off a dial turned by 50 degrees (minute hand at 290), 12 is at 50 and the hour hand at 160, wherever
    the mean of the hour votes pointed; a dial position past 12 hours wraps round."""
    minute_degrees = torch.tensor([290.0, 0.0, 359.0])
    minutes = torch.tensor([3 * 60 + 40.0, 0.0, 720.0 + 11 * 60 + 59.5])
    directions = reading_directions(minute_degrees, minutes)
    torch.testing.assert_close(directions[0], torch.tensor([50.0, 160.0, 290.0]))
    torch.testing.assert_close(directions[1], torch.tensor([0.0, 0.0, 0.0]))
    twelve, hour, minute = directions[2].tolist()
    assert twelve == pytest.approx(2.0) and minute == pytest.approx(359.0)
    assert (hour - twelve) % 360 == pytest.approx(30 * 11 + 59.5 / 2)  # 11:59.5, the hour hand almost at 12


def test_benchmarks_read_with_an_hour_lattice_window_given_on_the_command_line(tmp_path):
    """``--hour_lattice_window`` overrides the saved reader's window for the run (validated like the config's);
    left out, the reader reads as saved."""
    import argparse

    model_dir = tmp_path / "model"
    _save(model_dir)
    photos = _benchmark("clock_photos")
    parser = argparse.ArgumentParser()
    photos.add_reading_arguments(parser)
    args = parser.parse_args(["--hour_lattice_window", "4"])
    args.model_dir = str(model_dir)
    saved = json.loads((model_dir / "config.json").read_text())["reader"].get("hour_lattice_window", 0.0)
    assert photos.clock_reading_pipeline(args).model.reader.config.hour_lattice_window == 4.0
    args.hour_lattice_window = None
    assert photos.clock_reading_pipeline(args).model.reader.config.hour_lattice_window == saved
    args.hour_lattice_window = 20.0
    with pytest.raises(ValueError, match="`hour_lattice_window` must be below 15"):
        photos.clock_reading_pipeline(args)
    # the quarter turns and their weight likewise (the saved config keeps its own)
    args = parser.parse_args(["--test_time_turns", "0", "90", "180", "270", "--test_time_turn_weight", "0.2"])
    args.model_dir = str(model_dir)
    config = photos.clock_reading_pipeline(args).model.config
    assert config.test_time_turns == [0, 90, 180, 270] and config.test_time_turn_weight == 0.2
    assert json.loads((model_dir / "config.json").read_text()).get("test_time_turn_weight", 1.0) == 1.0
    args.test_time_turn_weight = 1.5
    with pytest.raises(ValueError, match="test_time_turn_weight"):
        photos.clock_reading_pipeline(args)
    # the hands' fit likewise: read with the given weight, the saved config untouched, a bad weight named
    args = parser.parse_args(["--hand_fit_weight", "1.5"])
    args.model_dir = str(model_dir)
    saved = json.loads((model_dir / "config.json").read_text())["reader"].get("hand_fit_weight", 0.0)
    assert photos.clock_reading_pipeline(args).model.reader.config.hand_fit_weight == 1.5 != saved
    assert json.loads((model_dir / "config.json").read_text())["reader"].get("hand_fit_weight", 0.0) == saved
    args.hand_fit_weight = -1.0
    with pytest.raises(ValueError, match="hand_fit_weight"):
        photos.clock_reading_pipeline(args)
    # and the discount of the hour hand's votes next to the minute hand (read at the hour lattice's places)
    args = parser.parse_args(["--hour_lattice_window", "6", "--hour_overlap_discount", "0.5"])
    args.model_dir = str(model_dir)
    saved = json.loads((model_dir / "config.json").read_text())["reader"].get("hour_overlap_discount", 1.0)
    assert photos.clock_reading_pipeline(args).model.reader.config.hour_overlap_discount == 0.5 != saved
    assert json.loads((model_dir / "config.json").read_text())["reader"].get("hour_overlap_discount", 1.0) == saved
    args.hour_overlap_discount = 0.0
    with pytest.raises(ValueError, match="`hour_overlap_discount` must be in"):
        photos.clock_reading_pipeline(args)


def test_hand_fit_weight_benchmark_decodes_each_weight_from_one_read(tmp_path, capsys):
    """Every (weight, sigma) pair is decoded from the same pooled votes of the same scenes: the pair the model
    reads with reproduces its own reading of those scenes; the saved config is left as it was."""
    from tinyvision.models import TinyVisionImageProcessor

    torch.manual_seed(0)
    model = ClockPhotoReader(tiny_config())
    model.save_pretrained(tmp_path / "model")
    TinyVisionImageProcessor(image_size=64, num_channels=1, letterbox=True).save_pretrained(tmp_path / "model")
    results = _benchmark("hand_fit_weight").main([
        "--model_dir", str(tmp_path / "model"), "--num_scenes", "8", "--backgrounds", "none", "--num_proc", "1",
        "--weights", "0", "3", "--sigmas", "2", "5", "--output_dir", str(tmp_path / "out")])
    pairs = [(row["hand_fit_weight"], row["hand_fit_sigma"]) for row in results["rows"]]
    assert pairs == [(0.0, 2.0), (3.0, 2.0), (0.0, 5.0), (3.0, 5.0)]
    assert {row["hour_overlap_discount"] for row in results["rows"]} == {1.0}  # left out: every vote alike
    assert json.loads((tmp_path / "out" / "results.json").read_text())["rows"] == results["rows"]
    assert "weight 3     sigma 5" in capsys.readouterr().out
    reloaded = ClockPhotoReader.from_pretrained(tmp_path / "model").eval()
    assert reloaded.reader.config.hand_fit_weight == model.reader.config.hand_fit_weight
    # the model's own reading of the same scenes equals the row of the weight it reads with
    from tinyvision.data.clock_data import generate_scene_split
    from tinyvision.metrics import common_sense_error

    scenes = generate_scene_split(8, image_size=64, seed=1999, num_proc=1, orientation="world", backgrounds=None)
    has = scenes.columns["has_clock"].bool()
    processor = TinyVisionImageProcessor.from_pretrained(tmp_path / "model")
    reloaded.reader.config.hand_fit_weight = 3.0
    reloaded.reader.config.hand_fit_sigma = 5.0
    with torch.no_grad():
        out = reloaded(pixel_values=processor.normalize_uint8(scenes.columns["pixel_values"][has]))
    errors = common_sense_error(out.hour, out.minute, scenes.columns["hour"][has], scenes.columns["minute"][has])
    assert results["rows"][3]["cse_mean"] == pytest.approx(errors.float().mean().item())


def test_scene_styles_benchmark_reads_the_same_scenes_with_each_style_forced(tmp_path, capsys):
    """One row per forced value; a row's errors are those of the model reading the scenes whose generator clock
    took that value (rendered again here); results.json and the plot are written."""
    from tinyvision.data.clock_scenes import forced_styles, render_clock_scene
    from tinyvision.metrics import common_sense_error
    from tinyvision.data.sources import image_processor_for
    from tinyvision.models import TinyVisionImageProcessor

    torch.manual_seed(0)
    model = ClockPhotoReader(tiny_config())
    model.save_pretrained(tmp_path / "model")
    image_processor_for(image_size=64, num_channels=1, letterbox=True).save_pretrained(tmp_path / "model")
    bench = _benchmark("scene_styles")
    results = bench.main(["--model_dir", str(tmp_path / "model"), "--num_scenes", "6", "--hands", "baton",
                          "breguet", "--markers", "roman", "--cases", "frameless", "--backgrounds", "none",
                          "--size", "64", "--output_dir", str(tmp_path / "out")])
    assert [(row["style"], row["value"]) for row in results["rows"]] == [
        ("hands", "baton"), ("hands", "breguet"), ("markers", "roman"), ("case", "frameless")]
    assert json.loads((tmp_path / "out" / "results.json").read_text())["rows"] == results["rows"]
    assert (tmp_path / "out" / "scene_styles.png").stat().st_size > 0
    assert "breguet" in capsys.readouterr().out
    times = np.random.default_rng([0, 4241]).integers(720, size=6)
    images, hours, minutes = [], [], []
    with forced_styles(hands="breguet") as used:
        for i, t in enumerate(times):
            before = used()["hands"]
            image, _ = render_clock_scene(int(t // 60), int(t % 60), width=64, height=64, seed=[0, 4242, i])
            if used()["hands"] > before:
                images.append(image)
                hours.append(int(t // 60))
                minutes.append(int(t % 60))
    assert results["rows"][1]["num_clocks"] == len(images) > 0
    assert results["rows"][3]["num_clocks"] > 0  # frameless clocks were drawn and read
    processor = TinyVisionImageProcessor.from_pretrained(tmp_path / "model")
    with torch.no_grad():
        out = model.eval()(pixel_values=processor(images, return_tensors="pt")["pixel_values"])
    errors = common_sense_error(out.hour, out.minute, torch.tensor(hours), torch.tensor(minutes)).float()
    assert results["rows"][1]["cse_mean"] == pytest.approx(errors.mean().item())
    with pytest.raises(SystemExit):
        bench.main(["--model_dir", str(tmp_path / "model"), "--hands", "spoon"])


# ------------------------------------------------------------------------------------ script
def test_train_clock_script_trains_the_photo_reader_by_default(tmp_path):
    import json

    from conftest import accelerate_launch

    out = tmp_path / "clock-reader"
    overrides = {"detector_size": 32, "detector_channels": [4, 4, 8, 8], "detector_head_channels": 8,
                 "reader": TINY_READER}
    result = accelerate_launch("train_clock.py", [
        "--num_train_examples", "96", "--num_eval_examples", "16", "--num_test_examples", "24",
        "--num_train_epochs", "1", "--image_size", "64", "--backgrounds", "none", "--empty_fraction", "0.2",
        "--num_clock_free_examples", "12",
        "--config_overrides", json.dumps(overrides), "--output_dir", out, "--disable_tqdm", "true"], tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    for name in ("config.json", "model.safetensors", "preprocessor_config.json", "all_results.json",
                 "modeling_clock_photo.py", "modeling_clock.py", "pipeline_clock.py"):
        assert (out / name).exists(), name
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "tinyvision_clock_photo" and config["reader"]["polar_cols"] == 32
    assert json.loads((out / "preprocessor_config.json").read_text())["letterbox"] is True
    metrics = json.loads((out / "all_results.json").read_text())
    assert metrics["test_num_examples"] == 24 + 12 and metrics["eval_num_examples"] == 16 + 12  # + clock-free
    # the saved threshold is the one calibrated on the last epoch's validation scenes without a clock
    assert config["detection_threshold"] == pytest.approx(metrics["eval_calibrated_threshold"], abs=1e-4)
    assert 0.15 <= config["detection_threshold"] <= 0.85
    # the default reader votes with every column; its weight is the one read best on the validation scenes
    assert config["reader"]["mark_votes"] is True and config["reader"]["mark_vote_dial_loss_weight"] == 0.5
    assert config["reader"]["hand_fit_weight"] == 2.0  # 12 o'clock checked against the hands
    assert config["reader"]["hour_lattice_window"] == 6.0  # the hour read where the minute lets its hand point
    assert config["reader"]["hour_overlap_discount"] == 0.3  # its votes next to the minute hand discounted
    assert config["reader"]["mark_vote_weight"] == metrics["eval_mark_vote_weight"]
    tried = {key for key in metrics if key.startswith("eval_within_5_min_at_mark_vote_weight_")}
    assert len(tried) == 7 and metrics[f"eval_within_5_min_at_mark_vote_weight_{metrics['eval_mark_vote_weight']:g}"] \
        == max(metrics[key] for key in tried)
    for name in ("test_cse_mean", "test_within_5_min", "test_found_rate", "test_false_alarm_rate",
                 "test_centre_error_radii", "test_ellipse_error"):
        assert math.isfinite(metrics[name]) and metrics[name] >= 0, name
    run = json.loads((out / "run_config.json").read_text())
    assert run["scene_generator_version"] and run["data_seeds"]["test"] == 2_000_000
    assert run["clock_free"] == {"count_per_split": 12, "seeds": {"validation": 3_000_000, "test": 4_000_000}}
    assert "procedural backgrounds" in run["data_source"]
    reading = pipeline("clock-reading", model=str(out))(Image.new("RGB", (640, 480), "white"))
    assert {"confidence", "found", "box"} <= set(reading)


@pytest.mark.parametrize(
    "arguments, message",
    [(["--head", "hybrid"], "angles"), (["--max_rotation", "10"], "orientation"),
     (["--orientation", "sideways"], "orientation"), (["--empty_fraction", "1.5"], "empty_fraction"),
     (["--num_clock_free_examples", "-1"], "num_clock_free_examples")],
)
def test_photo_arguments_refuse_what_they_cannot_do(arguments, message):
    from transformers import HfArgumentParser

    from tinyvision.tasks.clock import ClockArguments

    with pytest.raises(ValueError, match=message):
        HfArgumentParser(ClockArguments).parse_args_into_dataclasses(args=arguments)


def test_calibrated_threshold_flags_the_chosen_share_of_empty_scenes():
    from tinyvision.tasks.clock_photo import calibrated_threshold

    confidences = torch.linspace(0.0, 0.8, 101)
    threshold = calibrated_threshold(confidences, 0.05)
    assert (confidences >= threshold).float().mean().item() == pytest.approx(0.05, abs=0.011)
    assert calibrated_threshold(torch.zeros(10)) == 0.15 and calibrated_threshold(torch.ones(10)) == 0.85


def test_clock_transfer_by_rotation_counts_readings_pulled_up(tmp_path):
    transfer = _benchmark("clock_transfer")

    def reader_at_noon(images, batch_size):  # reads every clock as 12:00 with 12 at the top of the image
        return [{"hour": 0, "minute": 0, "hands": {"twelve": 0.0}} for _ in images]

    rows = transfer.by_rotation(reader_at_noon, 2, seed=0, size=48, batch_size=2)
    assert [row["rotation"] for row in rows] == list(range(0, 360, 30))
    by_turn = {row["rotation"]: row for row in rows}
    assert by_turn[0]["misses_read_nearer_up"] == 0  # already at the top: not pulled
    assert by_turn[90]["misses_read_nearer_up"] == by_turn[90]["misses"] > 0
    assert by_turn[180]["misses_read_nearer_up"] == by_turn[180]["misses"]
    assert all(0 <= row["within_5_min"] <= 1 and row["cse_mean"] >= 0 for row in rows)
    without_hands = transfer.by_rotation(lambda images, batch_size: [{"hour": 0, "minute": 0} for _ in images],
                                         1, seed=0, size=48, batch_size=1)
    assert all(row["misses_read_nearer_up"] is None for row in without_hands)
    transfer.save_rotation_plot(tmp_path / "by_rotation.png", rows)
    assert (tmp_path / "by_rotation.png").stat().st_size > 0


def test_clock_transfer_score_counts_every_miss_once():
    transfer = _benchmark("clock_transfer")
    hours, minutes = np.array([0, 3, 5, 1]), np.array([2, 0, 44, 44])

    def reader_at_noon(images, batch_size):
        return [{"hour": 0, "minute": 0} for _ in images]

    summary, _, _ = transfer.score(reader_at_noon, [None] * 4, hours, minutes, batch_size=2)
    # 0:02 is read within 5 minutes; 3:00 has its minute right and its hour read where the minute hand points (12);
    # the 44-minute ones are off in both hands by different turns
    assert summary["misses"] == {"hour_on_minute_hand": 1, "hour_hand_misread": 0, "hands_swapped": 0,
                                 "turned_dial": 0, "other": 2}


def test_clock_transfer_names_the_mark_a_turned_dial_took_for_12():
    transfer = _benchmark("clock_transfer")
    hours, minutes = np.array([1, 6, 0, 6]), np.array([20, 0, 2, 0])
    readings = iter([(3, 30), (2, 45), (0, 2), (7, 0)])

    def reader(images, batch_size):
        return [dict(zip(("hour", "minute"), next(readings))) for _ in images]

    summary, _, _ = transfer.score(reader, [None] * 4, hours, minutes, batch_size=4)
    # 1:20 read as 3:30: both hands two marks clockwise, so the 10 was taken for 12; 6:00 read as 2:45: three marks
    # back, the 3 taken for 12; 0:02 is right and 7:00 for 6:00 misreads only the hour hand
    assert summary["misses"]["turned_dial"] == 2 and summary["misses"]["hour_hand_misread"] == 1
    assert summary["turned_dial_twelve_taken"] == {str(mark): int(mark in (3, 10)) for mark in range(1, 12)}


def test_clock_transfer_styles_leave_the_clocks_unchanged_and_split_the_errors():
    transfer = _benchmark("clock_transfer")
    plain, hours, minutes = transfer.make_independent_clocks(6, seed=3, size=48)
    styles: list = []
    recorded, hours2, minutes2 = transfer.make_independent_clocks(6, seed=3, size=48, styles=styles)
    assert [np.asarray(a).tobytes() for a in plain] == [np.asarray(b).tobytes() for b in recorded]
    assert (hours == hours2).all() and (minutes == minutes2).all() and len(styles) == 6
    assert all(set(transfer.STYLE_KEYS) - {"upright"} <= set(s) and 0 <= s["turn"] < 360 for s in styles)
    styles = [{"hands": h, "markers": "bars", "numerals": "none", "twelve": "star", "minute_marks": "none", "turn": t,
               "dial": "circle", "inner_ring": False} for h, t in [("baton", 0.0), ("baton", 350.0), ("skeleton", 90.0)]]
    table = transfer.by_style(styles, np.array([0.0, 10.0, 60.0]))
    assert table["hands"] == {"baton": {"num_clocks": 2, "cse_mean": 5.0, "within_5_min": 0.5},
                              "skeleton": {"num_clocks": 1, "cse_mean": 60.0, "within_5_min": 0.0}}
    assert table["upright"]["True"]["num_clocks"] == 2 and table["markers"]["bars"]["cse_mean"] == 23.33


def test_clock_transfer_dial_geometry_compares_the_found_dials_with_the_true_ones():
    """With a detector that finds every independent dial at 0.8 of its radius and 0.1 radii off its centre, the
    report says so; the true dials are the renderer's records, converted to the letterboxed square."""
    from types import SimpleNamespace

    transfer = _benchmark("clock_transfer")
    styles: list = []
    images, hours, minutes = transfer.make_independent_clocks(10, seed=1, size=48, styles=styles)
    model = ClockPhotoReader(tiny_config(test_time_scales=[1.0], test_time_flip=False)).eval()
    centre = torch.tensor([[(1 + s["dial_centre"][0]) * 32, (1 - s["dial_centre"][1]) * 32] for s in styles])
    radius = torch.tensor([s["dial_radius"] * 32 for s in styles])
    model.locate = lambda pixels: (None, centre[: len(pixels)] + torch.tensor([0.1, 0.0]) * radius[: len(pixels), None],
                                   0.8 * radius[: len(pixels), None, None] * torch.eye(2))
    processor = TinyVisionImageProcessor(size={"height": 64, "width": 64}, num_channels=1, letterbox=True)
    report = transfer.dial_geometry(SimpleNamespace(model=model, image_processor=processor), images, styles, hours,
                                    minutes, batch_size=16)
    assert report["radius_ratio_median"] == pytest.approx(0.8) and report["radius_under_0.9"] == 1.0
    assert report["centre_error_radii_median"] == pytest.approx(0.1, abs=1e-3)
    assert sum(row["num_clocks"] for row in report["by_dial"].values()) == 10
    assert all(set(s) >= {"dial", "inner_ring", "dial_centre", "dial_radius"} for s in styles)
    assert 0 <= report["cse_mean"] <= 360 and 0 <= report["cse_mean_true_dial"] <= 360
    with pytest.raises(ValueError, match="needs a photo reader"):
        transfer.dial_geometry(SimpleNamespace(model=torch.nn.Linear(1, 1), image_processor=processor), images,
                               styles, hours, minutes, batch_size=16)


def test_threshold_calibration_spread_shrinks_to_nothing_on_the_whole_pool(tmp_path):
    model_dir = tmp_path / "model"
    _save(model_dir, detection_threshold=0.3)
    results = _benchmark("threshold_calibration").main([
        "--model_dir", str(model_dir), "--backgrounds", "none", "--num_pool", "12", "--num_fresh", "8",
        "--sizes", "4", "12", "--draws", "5", "--num_proc", "1", "--output_dir", str(tmp_path / "out")])
    small, whole = results["rows"]
    assert (small["size"], whole["size"]) == (4, 12)
    assert whole["threshold_std"] == 0.0  # every draw of all 12 scenes is the same set
    assert 0.15 <= small["threshold_mean"] <= 0.85 and 0.15 <= whole["threshold_mean"] <= 0.85
    for row in results["rows"]:
        assert 0.0 <= row["false_alarm_p05"] <= row["false_alarm_mean"] <= row["false_alarm_max"] <= 1.0
    assert results["saved_threshold"] == 0.3 and 0.0 <= results["saved_threshold_false_alarms"] <= 1.0
    assert json.loads((tmp_path / "out" / "results.json").read_text())["rows"] == results["rows"]
    assert (tmp_path / "out" / "calibration.png").stat().st_size > 0
    with pytest.raises(ValueError, match="--sizes"):
        _benchmark("threshold_calibration").calibration_spread(torch.zeros(3), torch.zeros(2), [4], 1, 0)


def test_benchmark_command_lines_repeat_the_run():
    from argparse import Namespace

    photos = _benchmark("clock_photos")
    args = Namespace(model_dir="m", test_time_turns=[0, 90], worst=12, boxes=True, quiet=False, seed=None)
    line = photos.command_line("benchmarks/clock_photos.py", args)
    assert line == "python benchmarks/clock_photos.py --model_dir m --test_time_turns 0 90 --worst 12 --boxes"


# ------------------------------------------------------------------------------------ mark votes
def test_choose_mark_vote_weight_prefers_more_readings_within_5_minutes():
    from tinyvision.tasks.clock_photo import choose_mark_vote_weight

    errors = {0.0: torch.tensor([0.0, 0.0, 100.0, 200.0]), 0.05: torch.tensor([0.0, 1.0, 3.0, 300.0]),
              0.1: torch.tensor([0.0, 2.0, 4.0, 200.0]), 0.5: torch.tensor([0.0, 2.0, 4.0, 200.0])}
    assert choose_mark_vote_weight(errors) == 0.1  # 3 of 4 within 5 like 0.05 and 0.5; lower mean; smaller weight


def test_last_epoch_sets_the_mark_vote_weight_read_best_on_the_validation_scenes(tmp_path):
    """After the last epoch a reader with mark votes keeps the tried weight that reads the most validation
    scenes within 5 minutes (each weight's rate recorded), and saves it; earlier epochs leave the weight alone."""
    from types import SimpleNamespace

    from tinyvision.data.clock_data import generate_scene_split
    from tinyvision.models import TinyVisionImageProcessor
    from tinyvision.tasks.clock_photo import MARK_VOTE_WEIGHTS, ClockPhotoStep, mark_vote_weight_errors

    torch.manual_seed(0)
    model = ClockPhotoReader(tiny_config(reader={**TINY_READER, "mark_votes": True, "mark_vote_weight": 123.0}))
    processor = TinyVisionImageProcessor(image_size=64, num_channels=1, letterbox=True)
    scenes = generate_scene_split(12, image_size=64, seed=5, num_proc=1, empty_fraction=0.25)
    step = ClockPhotoStep(model, processor)
    engine = SimpleNamespace(history=[{}], num_epochs=2, eval_dataset=scenes,
                             args=SimpleNamespace(per_device_eval_batch_size=5))
    step.on_epoch_end(0, engine)
    assert model.reader.config.mark_vote_weight == 123.0 and "eval_mark_vote_weight" not in engine.history[-1]
    step.on_epoch_end(1, engine)
    record = engine.history[-1]
    chosen = record["eval_mark_vote_weight"]
    rates = {weight: record[f"eval_within_5_min_at_mark_vote_weight_{weight:g}"] for weight in MARK_VOTE_WEIGHTS}
    assert chosen in MARK_VOTE_WEIGHTS and rates[chosen] == max(rates.values())
    assert model.reader.config.mark_vote_weight == chosen and model.config.reader["mark_vote_weight"] == chosen
    batches = [scenes.columns]
    pixels = processor.normalize_uint8(scenes.columns["pixel_values"])
    with torch.no_grad():  # the dials are found as forward finds them, without reading them
        read, found = model(pixel_values=pixels), model.locate(pixels)
    for expected, got in zip((read.confidence, read.dial_center, read.dial_shape), found):
        torch.testing.assert_close(got, expected)
    errors = mark_vote_weight_errors(model, processor, batches, weights=[chosen])
    assert len(errors[chosen]) == int(scenes.columns["has_clock"].sum())  # the scenes with a clock only
    assert (errors[chosen] <= 5).float().mean().item() == pytest.approx(rates[chosen])
    model.save_pretrained(tmp_path)
    assert ClockPhotoReader.from_pretrained(tmp_path).reader.config.mark_vote_weight == chosen


def test_mark_vote_weight_benchmark_reads_each_weight_and_saves_the_best(tmp_path, capsys):
    from tinyvision.models import TinyVisionImageProcessor

    torch.manual_seed(0)
    model = ClockPhotoReader(tiny_config(reader={**TINY_READER, "mark_votes": True}))
    model.save_pretrained(tmp_path / "model")
    TinyVisionImageProcessor(image_size=64, num_channels=1, letterbox=True).save_pretrained(tmp_path / "model")
    results = _benchmark("mark_vote_weight").main([
        "--model_dir", str(tmp_path / "model"), "--num_scenes", "10", "--backgrounds", "none", "--num_proc", "1",
        "--weights", "0", "0.1", "2", "--save", "--output_dir", str(tmp_path / "out")])
    assert [row["mark_vote_weight"] for row in results["rows"]] == [0.0, 0.1, 2.0]
    best = max(results["rows"], key=lambda row: (row["within_5_min"], -row["cse_mean"]))
    assert results["best"] == best["mark_vote_weight"]
    assert ClockPhotoReader.from_pretrained(tmp_path / "model").reader.config.mark_vote_weight == results["best"]
    assert "<- best" in capsys.readouterr().out and (tmp_path / "out" / "results.json").exists()
    plain = tmp_path / "plain"
    ClockPhotoReader(tiny_config()).save_pretrained(plain)
    with pytest.raises(SystemExit, match="no mark votes"):
        _benchmark("mark_vote_weight").main(["--model_dir", str(plain), "--output_dir", str(tmp_path / "out")])
    # --hour_lattice_window reads this run with another window (validated), and --save does not store it
    common = ["--model_dir", str(tmp_path / "model"), "--num_scenes", "6", "--backgrounds", "none", "--num_proc", "1",
              "--weights", "0.1", "--output_dir", str(tmp_path / "out")]
    assert _benchmark("mark_vote_weight").main(common + ["--hour_lattice_window", "6", "--save"])[
        "hour_lattice_window"] == 6.0
    assert ClockPhotoReader.from_pretrained(tmp_path / "model").reader.config.hour_lattice_window == 0.0
    with pytest.raises(ValueError, match="`hour_lattice_window` must be below 15"):
        _benchmark("mark_vote_weight").main(common + ["--hour_lattice_window", "30"])
