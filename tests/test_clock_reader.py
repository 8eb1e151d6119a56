"""Task 2: the clock reader's heads, metric, save/load, remote code, pipeline, loaders and script."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import accelerate_launch, run_without_tinyvision
from PIL import Image
from transformers import AutoConfig, AutoImageProcessor, AutoModel, pipeline

from tinyvision import ClockReader, ClockReaderConfig, TinyVisionImageProcessor
from tinyvision.data.clock_data import ANGLE_COLUMNS
from tinyvision.metrics import MISS_KINDS, accuracy, clock_error_summary, common_sense_error, count_misses, miss_kind
from tinyvision.models.modeling_clock import (
    decode_logits,
    degrees_to_sincos,
    hand_fit_scores,
    head_loss,
    mark_vote_scores,
    hour_by_lattice,
    marker_by_ticks,
    resolve_hour,
    sector_shares,
    resolve_hour_classes,
    snap_to_ticks,
    split_dial_minutes,
    to_polar,
)
from tinyvision.tasks.clock import (
    ClockArguments,
    ClockStep,
    build_clock_reader,
    load_reader_data,
    rotate_quarter_turns,
    train_clock,
)
from tinyvision.training import TrainingArguments

ROOT = Path(__file__).resolve().parents[1]
HEADS = ("regression", "classification", "multihead", "periodic", "hybrid", "angles")
SMALL = dict(image_size=32, polar=False, conv_filters=[4, 8], conv_kernel_sizes=[3, 3], conv_strides=[2, 1],
             pool_after=[True, True], fc_hidden_sizes=[16])
SMALL_POLAR = dict(image_size=32, polar=True, polar_rows=8, polar_cols=64, conv_filters=[4, 8],
                   conv_kernel_sizes=[3, 3], conv_strides=[1, 1], pool_after=[True, True], fc_hidden_sizes=[16])
TIMES = [(0, 0), (2, 59), (3, 0), (5, 45), (11, 58), (6, 30), (9, 1)]


# ------------------------------------------------------------------------------- metric
def test_common_sense_error_hand_made_cases_and_wrap_around():
    assert common_sense_error(11, 58, 0, 2) == 4
    assert common_sense_error(0, 2, 11, 58) == 4
    assert common_sense_error(12, 0, 0, 0) == 0  # 12 o'clock is 0 o'clock
    assert common_sense_error(6, 0, 0, 0) == 360  # the most two times can differ
    assert common_sense_error(3, 15, 3, 15) == 0
    assert common_sense_error(1, 30, 11, 45) == 105
    assert common_sense_error(2, 59, 3, 59) == 60
    pred_h, pred_m, true_h, true_m = np.array([11, 6, 3]), np.array([58, 0, 0]), np.array([0, 0, 2]), np.array([2, 0, 59])
    out = common_sense_error(pred_h, pred_m, true_h, true_m)
    assert isinstance(out, np.ndarray) and out.tolist() == [4, 360, 1]
    tensor = common_sense_error(torch.tensor([11, 6, 3]), torch.tensor([58, 0, 0]), torch.tensor([0, 0, 2]), torch.tensor([2, 0, 59]))
    assert isinstance(tensor, torch.Tensor) and tensor.tolist() == [4, 360, 1]
    # Mixed: a tensor anywhere gives a tensor.
    assert common_sense_error(11, 58, torch.tensor(0), 2).item() == 4
    assert common_sense_error(torch.tensor([3, 3]), 0, 2, 59).tolist() == [1, 1]


def test_miss_kind_names_what_went_wrong_from_the_hands_a_reading_implies():
    assert miss_kind(1, 44, 1, 44) is None and miss_kind(1, 49, 1, 44) is None  # within the 5-minute tolerance
    assert miss_kind(1, 50, 1, 44) == "other"  # the minute hand itself misread (6 minutes off)
    assert miss_kind(1, 51, 1, 44, tolerance=10) is None
    # True 1:44; read 8:44: the hour hand read where the minute hand points (264 degrees).
    assert miss_kind(8, 44, 1, 44) == "hour_on_minute_hand"
    assert miss_kind(2, 44, 1, 44) == "hour_hand_misread"  # the minute right, the hour an hour off
    assert miss_kind(7, 44, 1, 44) == "hour_hand_misread"  # ... or read from the hour hand's tail
    # True 1:40 (hour hand at 50 degrees, minute hand at 240); read 8:06: each hand read as the other.
    assert miss_kind(8, 6, 1, 40) == "hands_swapped"
    # A dial read turned: 12 taken at the 3 o'clock mark (a quarter turn) and at 6 (a half turn).
    assert miss_kind(9, 50, 6, 35) == "turned_dial"
    assert miss_kind(5, 51, 12, 21) == "turned_dial"
    assert miss_kind(4, 14, 2, 53) == "other"
    counts = count_misses(np.array([8, 9, 1, 4]), [44, 50, 44, 14], torch.tensor([1, 6, 1, 2]), [44, 35, 44, 53])
    assert list(counts) == list(MISS_KINDS)
    assert counts == {"hour_on_minute_hand": 1, "hour_hand_misread": 0, "hands_swapped": 0, "turned_dial": 1, "other": 1}


def test_clock_error_summary_and_accuracy():
    summary = clock_error_summary([0, 1, 2, 3, 100], pred_hour=[1, 2, 3, 12, 5], true_hour=[1, 2, 4, 0, 5])
    assert summary["cse_mean"] == pytest.approx(21.2)
    assert summary["cse_median"] == 2
    assert summary["cse_p90"] == pytest.approx(np.percentile([0, 1, 2, 3, 100], 90))
    assert summary["hour_accuracy"] == pytest.approx(0.8)
    assert "hour_accuracy" not in clock_error_summary(torch.tensor([1.0, 2.0]))
    assert accuracy(torch.tensor([1, 2, 3]), np.array([1, 2, 4])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="both"):
        clock_error_summary([1], pred_hour=[1])


# -------------------------------------------------------------------------------- heads
def _angles_logits(hour: int, minute: int, marker: float = 0.0) -> torch.Tensor:
    hour_hand = marker + 30.0 * (hour + minute / 60.0)
    minute_hand = marker + 6.0 * minute
    return degrees_to_sincos(torch.tensor([marker, hour_hand, minute_hand, 12 * marker]) % 360).reshape(8)


def known_logits(head: str, hour: int, minute: int, interval: int = 15) -> torch.Tensor:
    """Logits that encode hour:minute for each head (confident where there are classes)."""
    if head == "regression":
        return torch.tensor([hour + minute / 60.0])
    if head == "classification":
        logits = torch.full((720 // interval,), -10.0)
        logits[(60 * hour + minute) // interval] = 10.0
        return logits
    hour_logits = torch.full((12,), -10.0)
    hour_logits[hour] = 10.0
    if head == "multihead":
        return torch.cat((hour_logits, torch.tensor([minute / 60.0])))
    if head == "periodic":
        return torch.cat((degrees_to_sincos(torch.tensor(30.0 * (hour + minute / 60.0))),
                          degrees_to_sincos(torch.tensor(6.0 * minute))))
    if head == "hybrid":
        return torch.cat((hour_logits, degrees_to_sincos(torch.tensor(6.0 * minute))))
    return _angles_logits(hour, minute, marker=123.0)


def expected_time(head: str, hour: int, minute: int, interval: int = 15) -> tuple[int, int]:
    if head == "classification":  # the middle minute of the interval, rounded half up
        start = (60 * hour + minute) // interval * interval
        return divmod(start + interval // 2, 60)
    return hour, minute


@pytest.mark.parametrize("head", HEADS)
def test_each_head_decodes_known_logits_and_its_loss_prefers_them(head):
    config = ClockReaderConfig(head=head, interval_minutes=15, **SMALL)
    logits = torch.stack([known_logits(head, h, m) for h, m in TIMES])
    assert logits.shape == (len(TIMES), config.num_outputs)
    hour, minute = split_dial_minutes(decode_logits(head, logits, 15))
    assert list(zip(hour.tolist(), minute.tolist())) == [expected_time(head, h, m) for h, m in TIMES]

    hours = torch.tensor([h for h, _ in TIMES])
    minutes = torch.tensor([m for _, m in TIMES])
    angles = {}
    for name, values in zip(("dial_rotation", "hour_hand_angle", "minute_hand_angle"),
                            zip(*[(123.0, 123 + 30 * (h + m / 60), 123 + 6 * m) for h, m in TIMES])):
        angles[name] = torch.tensor(values) % 360
    targets = {"hour": hours, "minute": minutes, **angles}
    right = head_loss(config, logits, targets)
    wrong = head_loss(config, torch.stack([known_logits(head, (h + 4) % 12, (m + 20) % 60) for h, m in TIMES]),
                      targets)
    assert right.item() < 1e-3 and wrong.item() > 0.05, (right, wrong)


def _set_constant_output(model: ClockReader, logits: torch.Tensor) -> None:
    """Make the head ignore the image and output ``logits`` (final layers' weights 0, bias = logits)."""
    with torch.no_grad():
        if model.config.head in ("multihead", "hybrid"):
            model.hour_out.weight.zero_()
            model.hour_out.bias.copy_(logits[:12])
            model.minute_out.weight.zero_()
            model.minute_out.bias.copy_(logits[12:])
        else:
            model.out.weight.zero_()
            bias = torch.atanh(logits.clamp(-0.999999, 0.999999)) if model.config.head == "periodic" else logits
            model.out.bias.copy_(bias)


@pytest.mark.parametrize("head", HEADS)
def test_each_head_predicts_the_time_its_logits_encode(head):
    torch.manual_seed(0)
    model = ClockReader(ClockReaderConfig(head=head, interval_minutes=15, **SMALL)).eval()
    pixels = torch.randn(2, 1, 32, 32)
    for h, m in [(2, 59), (11, 58), (5, 45)]:
        _set_constant_output(model, known_logits(head, h, m))
        with torch.no_grad():
            out = model(pixel_values=pixels)
        assert out.hour.dtype == torch.long and out.minute.dtype == torch.long
        assert out.hour.tolist() == [expected_time(head, h, m)[0]] * 2
        assert out.minute.tolist() == [expected_time(head, h, m)[1]] * 2
        assert out.loss is None and ((out.minutes >= 0) & (out.minutes < 720)).all()


def test_polar_grid_turns_a_quarter_turn_into_a_shift():
    image = torch.randn(2, 1, 32, 32)
    quarter = torch.rot90(image, -1, dims=(2, 3))  # clockwise
    polar, turned = to_polar(image, 8, 64), to_polar(quarter, 8, 64)
    torch.testing.assert_close(turned, torch.roll(polar, 16, dims=-1), atol=1e-4, rtol=1e-4)
    # column 0 looks straight up, column 16 to the right
    marked = torch.zeros(1, 1, 32, 32)
    marked[0, 0, :14, 15:17] = 1.0  # a bar from the centre upwards
    profile = to_polar(marked, 8, 64)[0, 0, 4]
    assert profile.argmax().item() == 0 and profile[16].item() == 0


def test_the_reader_reads_images_already_on_its_polar_grid_as_it_reads_them_resampled():
    torch.manual_seed(0)
    config = ClockReaderConfig(image_size=32, num_channels=1, head="angles", angle_channels=True, polar_rows=8,
                               polar_cols=32, conv_filters=[4, 8], conv_kernel_sizes=[3, 3], conv_strides=[1, 1],
                               pool_after=[False, False], fc_hidden_sizes=[8])
    model = ClockReader(config).eval()
    images = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        read = model(pixel_values=images)
        polar = model(pixel_values=to_polar(images, 8, 32), on_polar_grid=True)
        votes = model.column_votes(to_polar(images, 8, 32), on_polar_grid=True)[1]
    torch.testing.assert_close(polar.logits, read.logits)
    torch.testing.assert_close(votes, model.column_votes(images)[1])
    with pytest.raises(ValueError, match=r"on_polar_grid needs .*\(batch, 1, 8, 32\), got \(3, 1, 32, 32\)"):
        model(pixel_values=images, on_polar_grid=True)
    flat = ClockReader(ClockReaderConfig(image_size=32, num_channels=1, head="angles", polar=False)).eval()
    with pytest.raises(ValueError, match="polar=False"):
        flat(pixel_values=torch.randn(1, 1, 24, 192), on_polar_grid=True)


def test_polar_angles_reader_is_equivariant_to_quarter_turns():
    """Rotating the clock a quarter turn adds 90 degrees to every predicted image angle; the time stays."""
    torch.manual_seed(0)
    model = ClockReader(ClockReaderConfig(head="angles", **SMALL_POLAR)).eval()
    image = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        out, turned = model(pixel_values=image), model(pixel_values=torch.rot90(image, -1, dims=(2, 3)))
    names = ("marker_degrees", "hour_hand_degrees", "minute_hand_degrees")
    before = torch.stack([model.named_outputs(out.logits)[name] for name in names])
    after = torch.stack([model.named_outputs(turned.logits)[name] for name in names])
    gap = (after - before - 90.0 + 180.0).remainder(360.0) - 180.0
    assert gap.abs().max().item() < 1e-2
    torch.testing.assert_close(out.minutes, turned.minutes, atol=1e-2, rtol=0)


def _angles_in_degrees(model: ClockReader, logits: torch.Tensor) -> torch.Tensor:
    names = ("marker_degrees", "hour_hand_degrees", "minute_hand_degrees")
    return torch.stack([model.named_outputs(logits)[name] for name in names])


def test_hiding_up_makes_a_reader_with_angle_channels_equivariant_again():
    """The angle channels tell the polar reader where up is (so it can learn that most 12s are at the top); with
    ``hide_up`` they are zeros and a quarter turn of the clock is again a quarter turn of every angle read."""
    torch.manual_seed(0)
    model = ClockReader(ClockReaderConfig(head="angles", angle_channels=True, up_dropout=0.25, **SMALL_POLAR)).eval()
    image = torch.randn(3, 1, 32, 32)
    turned_image = torch.rot90(image, -1, dims=(2, 3))
    with torch.no_grad():
        hidden = [model(pixel_values=x, hide_up=True) for x in (image, turned_image)]
        shown = [model(pixel_values=x) for x in (image, turned_image)]
    gap = lambda a, b: ((_angles_in_degrees(model, b.logits) - _angles_in_degrees(model, a.logits) - 90.0 + 180.0)
                        .remainder(360.0) - 180.0).abs().max().item()
    assert gap(*hidden) < 1e-2
    torch.testing.assert_close(hidden[0].minutes, hidden[1].minutes, atol=1e-2, rtol=0)
    assert gap(*shown) > 1.0  # told where up is, the reader is not equivariant
    assert not torch.allclose(hidden[0].logits, shown[0].logits)


def test_up_dropout_hides_up_from_a_share_of_the_training_images_only():
    model = ClockReader(ClockReaderConfig(head="angles", angle_channels=True, up_dropout=0.25, **SMALL_POLAR))
    torch.manual_seed(0)
    known = model.train().up_known(4000, False, "cpu")
    assert set(known.unique().tolist()) == {0.0, 1.0} and abs(1.0 - known.mean().item() - 0.25) < 0.03
    assert model.eval().up_known(8, False, "cpu") is None  # evaluation: always told, unless asked not to be
    assert model.up_known(8, True, "cpu").tolist() == [0.0] * 8
    plain = ClockReader(ClockReaderConfig(head="angles", angle_channels=True, **SMALL_POLAR)).train()
    assert plain.up_known(8, False, "cpu") is None
    with pytest.raises(ValueError, match="hide_up needs a reader with `angle_channels`"):
        ClockReader(ClockReaderConfig(head="angles", **SMALL_POLAR)).eval().up_known(8, True, "cpu")


def _with_live_column_attention(model: ClockReader) -> ClockReader:
    """Open the attention blocks' gates and give every circular offset its own bias (new blocks start off)."""
    with torch.no_grad():
        for block in model.column_attention:
            block.gates.fill_(1.0)
            block.offset_bias.normal_(0.0, 1.0)
    return model


def test_column_attention_keeps_the_reader_equivariant_and_changes_what_it_reads():
    """Attention between the angle columns (a bias per circular offset) still turns with the dial: a quarter
    turn adds 90 degrees to every angle. With its gates open it changes the votes; closed (as built), not."""
    torch.manual_seed(0)
    config = ClockReaderConfig(head="angles", column_attention_layers=2, column_attention_width=16,
                               column_attention_heads=2, **SMALL_POLAR)
    model = ClockReader(config).eval()
    plain = ClockReader(ClockReaderConfig(head="angles", **SMALL_POLAR)).eval()
    image = torch.randn(3, 1, 32, 32)
    with torch.no_grad():
        closed = model(pixel_values=image).logits
        live = _with_live_column_attention(model)
        out, turned = live(pixel_values=image), live(pixel_values=torch.rot90(image, -1, dims=(2, 3)))
    assert not torch.allclose(closed, out.logits, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) > sum(p.numel() for p in plain.parameters())
    names = ("marker_degrees", "hour_hand_degrees", "minute_hand_degrees")
    before = torch.stack([live.named_outputs(out.logits)[name] for name in names])
    after = torch.stack([live.named_outputs(turned.logits)[name] for name in names])
    gap = (after - before - 90.0 + 180.0).remainder(360.0) - 180.0
    assert gap.abs().max().item() < 1e-2
    # the blocks learn: one step of the reader's loss moves their gates and offset biases
    live.train()
    loss = live(pixel_values=image, dial_rotation=torch.tensor([0.0, 90.0, 200.0]),
                hour_hand_angle=torch.tensor([10.0, 100.0, 300.0]),
                minute_hand_angle=torch.tensor([50.0, 170.0, 20.0])).loss
    loss.backward()
    block = live.column_attention[0]
    assert block.gates.grad.abs().min() > 0 and block.offset_bias.grad.abs().sum() > 0


def test_polar_angles_head_reads_the_columns_it_is_shown():
    """A score spike at column j for each target reads as the direction of column j."""
    config = ClockReaderConfig(head="angles", **{**SMALL_POLAR, "fc_hidden_sizes": []})
    model = ClockReader(config).eval()
    channels, (rows, cols) = config.conv_filters[-1], config.feature_map_shape
    with torch.no_grad():
        model.out.weight.zero_()  # offsets 0: each column votes for its own direction
        model.out.bias.zero_()
        for target in range(3):  # score of target t = channel t at the first radius
            model.out.weight[target, target * rows] = 1.0
        model.out.weight[3, 0] = 1.0  # the tick phase looks where the marker is
    step = 360.0 / cols
    centre = (config.polar_cols // cols - 1) / 2 * 360.0 / config.polar_cols  # a pooled column's mean direction
    for marker_col, hour_col, minute_col in [(0, 3, 12), (5, 5, 10), (15, 2, 9)]:
        features = torch.zeros(1, channels, rows, cols)
        for target, col in enumerate((marker_col, hour_col, minute_col)):
            features[0, target, 0, col] = 60.0
        logits = model.column_angles(features)
        named = model.named_outputs(logits)
        degrees = [named[f"{name}_degrees"].item() for name in ("marker", "hour_hand", "minute_hand", "tick_phase")]
        expected = [col * step + centre for col in (marker_col, hour_col, minute_col)]
        expected.append(12 * expected[0] % 360)
        assert degrees == pytest.approx(expected, abs=1e-3)
        minutes = decode_logits("angles", logits).item()
        relative_minute = ((minute_col - marker_col) * step % 360) / 6
        assert minutes % 60 == pytest.approx(relative_minute, abs=1e-2)


def test_model_loss_uses_labels_and_names_missing_columns():
    torch.manual_seed(0)
    pixels = torch.randn(3, 1, 32, 32)
    hybrid = ClockReader(ClockReaderConfig(head="hybrid", **SMALL))
    by_columns = hybrid(pixels, hour=torch.tensor([1, 2, 12]), minute=torch.tensor([0, 30, 59])).loss
    by_labels = hybrid(pixels, labels=torch.tensor([[1, 0], [2, 30], [0, 59]])).loss
    torch.testing.assert_close(by_columns, by_labels)
    by_columns.backward()
    angles = ClockReader(ClockReaderConfig(head="angles", **SMALL))
    with pytest.raises(ValueError, match="dial_rotation.*hour_hand_angle.*minute_hand_angle"):
        angles(pixels, hour=torch.tensor([1, 2, 3]), minute=torch.tensor([0, 0, 0]))
    with pytest.raises(ValueError, match=r"lacks \['minute'\]"):
        hybrid(pixels, hour=torch.tensor([1, 2, 3]))
    assert angles(pixels).loss is None


def test_hour_resolution_near_the_hour():
    assert resolve_hour(2.98, 59).item() == 2  # 2:59, not 3:59
    assert resolve_hour(3.02, 59).item() == 2  # hand a little past 3 still reads 2:59
    assert resolve_hour(2.97, 0).item() == 3  # 3:00, not 2:00
    assert resolve_hour(11.99, 0).item() == 0
    assert resolve_hour(0.01, 59).item() == 11
    assert resolve_hour(torch.tensor([2.5, 2.5]), torch.tensor([30.0, 29.0])).tolist() == [2, 2]

    # hybrid: the hour classifier leans to 3 at 2:59 and to 2 at 3:00; the minute settles it.
    def hybrid_logits(leaning_to: int, other: int, minute: float) -> torch.Tensor:
        hour_logits = torch.full((12,), -10.0)
        hour_logits[leaning_to], hour_logits[other] = 2.0, 1.0
        return torch.cat((hour_logits, degrees_to_sincos(torch.tensor(6.0 * minute))))[None]

    assert split_dial_minutes(decode_logits("hybrid", hybrid_logits(3, 2, 59))) == (2, 59)  # not 3:59
    assert split_dial_minutes(decode_logits("hybrid", hybrid_logits(2, 3, 0))) == (3, 0)  # not 2:00
    assert split_dial_minutes(decode_logits("hybrid", hybrid_logits(3, 2, 0))) == (3, 0)
    assert split_dial_minutes(decode_logits("hybrid", hybrid_logits(2, 3, 58.6))) == (2, 59)
    assert split_dial_minutes(decode_logits("hybrid", hybrid_logits(0, 11, 59))) == (11, 59)  # across 12
    # a confident classifier is taken at its word, whatever faint weight its neighbours get
    confident = hybrid_logits(3, 4, 0)
    confident[0, 4] = -3.0
    assert split_dial_minutes(decode_logits("hybrid", confident)) == (3, 0)
    assert resolve_hour_classes(hybrid_logits(3, 2, 59)[:, :12], torch.tensor([59.0])).tolist() == [2]

    # angles: the hour hand of 2:59 is almost on 3, that of 3:00 may read slightly before 3.
    def angles_logits(marker, hour_offset, minute_offset):
        return degrees_to_sincos(torch.tensor([marker, marker + hour_offset, marker + minute_offset]) % 360
                                 ).reshape(1, 6)

    for marker in (0.0, 200.0, 359.5):
        assert split_dial_minutes(decode_logits("angles", angles_logits(marker, 89.9, 354.0))) == (2, 59)
        assert split_dial_minutes(decode_logits("angles", angles_logits(marker, 91.0, 354.0))) == (2, 59)
        assert split_dial_minutes(decode_logits("angles", angles_logits(marker, 89.0, 0.5))) == (3, 0)
        assert split_dial_minutes(decode_logits("angles", angles_logits(marker, 359.0, 348.0))) == (11, 58)
    # a minute hand a hair before 12 rounds up to the next hour, hour resolved accordingly
    assert split_dial_minutes(decode_logits("angles", angles_logits(10.0, 90.0, 359.8))) == (3, 0)


def test_angles_head_snaps_the_marker_to_the_tick_lattice():
    """The tick phase (12 x marker angle, from all twelve hour marks) corrects a marker read 8 degrees off."""
    marker, hour_hand, minute_hand = 200.0, 200.0 + 30 * 4.5, 200.0 + 6 * 30  # 4:30
    for marker_read in (192.0, 208.0, 214.0):
        logits = degrees_to_sincos(torch.tensor([marker_read, hour_hand, minute_hand, 12 * marker % 360])
                                   ).reshape(1, 8)
        assert split_dial_minutes(decode_logits("angles", logits)) == (4, 30)
        unsnapped = logits[:, :6]
        assert split_dial_minutes(decode_logits("angles", unsnapped)) != (4, 30)
    assert snap_to_ticks(torch.tensor([359.0, 14.0]), torch.tensor([0.0, 0.0])).tolist() == [0.0, 0.0]
    assert snap_to_ticks(torch.tensor([16.0, 18.0]), torch.tensor([12 * 2.0] * 2)).tolist() == pytest.approx([2.0, 32.0])


def test_marker_is_the_heaviest_tick_when_the_reader_hesitates():
    """Weight split 0.55 / 0.45 between the marks at 90 and 270 degrees: their mean points nowhere useful,
    the heaviest lattice point is the mark at 90."""
    cols = 48
    votes = (torch.arange(cols, dtype=torch.float32) * 360 / cols)[None]
    weights = torch.zeros(1, cols)
    weights[0, 12], weights[0, 36] = 0.55, 0.45  # columns at 90 and 270 degrees
    marker = marker_by_ticks(weights, votes, torch.tensor([0.0]))
    assert marker.tolist() == [90.0]
    weights[0, 11], weights[0, 12], weights[0, 13], weights[0, 36] = 0.2, 0.2, 0.2, 0.4  # spread, but heavier
    assert marker_by_ticks(weights, votes, torch.tensor([12 * 2.0])).tolist() == pytest.approx([92.0])


def test_sector_shares_place_each_direction_among_the_hours_past_12():
    """A direction 90 degrees past 12 is wholly in sector 3; 15 degrees past it is shared by sectors 0 and 1;
    before 12 it wraps round to sector 11; every row sums to 1."""
    shares = sector_shares(torch.tensor([[130.0, 55.0, 25.0, 30.0]]), torch.tensor([40.0]))
    assert shares.shape == (1, 4, 12)
    assert shares[0, 0, 3].item() == pytest.approx(1.0) and shares[0, 1, :2].tolist() == pytest.approx([0.5, 0.5])
    assert shares[0, 2, 11].item() == pytest.approx(0.5) and shares[0, 2, 0].item() == pytest.approx(0.5)
    assert shares[0, 3, [11, 0]].tolist() == pytest.approx([1 / 3, 2 / 3], abs=1e-5)
    torch.testing.assert_close(shares.sum(-1), torch.ones(1, 4))


def test_mark_votes_pick_the_12_that_every_column_agrees_on():
    """Columns that each say how far past 12 they lie (as numerals do) outvote a marker softmax that put its
    mass at the bottom of the dial; with no column evidence the mass decides, as without mark votes."""
    cols, true_marker = 48, 120.0
    directions = (torch.arange(cols, dtype=torch.float32) * 360 / cols)[None]
    evidence = sector_shares(directions, torch.tensor([true_marker])).clamp(min=1e-3).log()  # (1, A, 12)
    lattice = torch.arange(12, dtype=torch.float32)[None] * 30.0
    scores = mark_vote_scores(directions, evidence, lattice)
    assert scores.argmax(1).tolist() == [4]  # 120 degrees
    weights = torch.zeros(1, cols)
    weights[0, 36] = 1.0  # all the marker's mass at 270 degrees
    assert marker_by_ticks(weights, directions, torch.tensor([0.0])).tolist() == [270.0]
    assert marker_by_ticks(weights, directions, torch.tensor([0.0]), evidence=0.1 * scores).tolist() == [120.0]
    flat = torch.zeros(1, 12)
    assert marker_by_ticks(weights, directions, torch.tensor([0.0]), evidence=flat).tolist() == [270.0]


def test_hour_lattice_reads_the_hour_hand_where_the_minute_lets_it_point():
    """At 3:40 (12 at the top) the hour hand points at 110 degrees and the minute hand at 240. An hour softmax torn
    0.55 / 0.45 between the two has its mean near 175 degrees, which reads 5:40; the place consistent with the
    minute that holds the most votes is 3's. With the window 0 the mean decides, as before."""
    cols = 72
    directions = torch.arange(cols, dtype=torch.float32) * 360 / cols
    weights, votes = torch.zeros(1, cols, 4), directions[None, :, None].repeat(1, 1, 4)
    weights[0, 0, 0] = 1.0  # 12 o'clock at the top
    weights[0, 0, 3] = 1.0  # tick phase 0 (its vote is read at 12 times the angle)
    weights[0, 48, 2] = 1.0  # the minute hand at 240 degrees: 40 minutes
    weights[0, 22, 1], weights[0, 48, 1] = 0.55, 0.45  # hour votes at 110 (the hour hand) and 240 (the minute's)
    hour, placed = hour_by_lattice(weights[..., 1], votes[..., 1], torch.tensor([0.0]), torch.tensor([40.0]), 6.0)
    assert hour.tolist() == [3] and placed.tolist() == [True]
    config = ClockReaderConfig(**SMALL_POLAR)
    reader = ClockReader(config)
    assert config.hour_lattice_window == 0.0
    _, minutes = reader.decode_votes(weights, votes)
    assert split_dial_minutes(minutes)[0].tolist() == [5]  # the mean of the torn votes
    reader.config.hour_lattice_window = 6.0
    _, minutes = reader.decode_votes(weights, votes)
    assert [t.item() for t in split_dial_minutes(minutes)] == [3, 40]
    # no hour vote within the window of any place: the mean decides (here 3:40's hour hand is at 110, votes at 125)
    weights[0, 22, 1], weights[0, 48, 1] = 0.0, 0.0
    weights[0, 25, 1] = 1.0
    hour, placed = hour_by_lattice(weights[..., 1], votes[..., 1], torch.tensor([0.0]), torch.tensor([40.0]), 6.0)
    assert placed.tolist() == [False]
    _, minutes = reader.decode_votes(weights, votes)
    assert [t.item() for t in split_dial_minutes(minutes)] == [3, 40]


def test_hour_overlap_discount_reads_the_half_seen_hour_hand_not_the_minute_hand():
    """At 3:40 (12 at the top) the minute hand points at 240 degrees and the hour hand at 110. A reader that half
    missed the hour hand puts 0.6 of its hour votes near the minute hand, at 7:40's place (230 degrees, 10 from
    it), and 0.3 on the hour hand: counted alike, 7:40 wins; with the votes next to the minute hand counted 0.3
    times, 3:40 does. A true overlap (every vote at the minute hand, the other places empty) reads as before,
    and so does a reader without the discount."""
    cols = 72
    directions = torch.arange(cols, dtype=torch.float32) * 360 / cols
    weights, votes = torch.zeros(1, cols, 4), directions[None, :, None].repeat(1, 1, 4)
    weights[0, 0, 0] = 1.0  # 12 o'clock at the top
    weights[0, 0, 3] = 1.0  # tick phase 0
    weights[0, 48, 2] = 1.0  # the minute hand at 240 degrees: 40 minutes
    weights[0, 46, 1], weights[0, 22, 1] = 0.6, 0.3  # hour votes at 230 (7:40's place) and 110 (3:40's)
    marker, minute, hand = torch.tensor([0.0]), torch.tensor([40.0]), torch.tensor([240.0])
    hour, _ = hour_by_lattice(weights[..., 1], votes[..., 1], marker, minute, 6.0)
    assert hour.tolist() == [7]
    hour, placed = hour_by_lattice(weights[..., 1], votes[..., 1], marker, minute, 6.0, hand, 0.3)
    assert hour.tolist() == [3] and placed.tolist() == [True]
    # only a place within HOUR_OVERLAP_DEGREES of the minute hand is discounted: the minute hand at 270 leaves
    # 7:40's place (40 degrees away) counted in full
    hour, _ = hour_by_lattice(weights[..., 1], votes[..., 1], marker, minute, 6.0, torch.tensor([270.0]), 0.3)
    assert hour.tolist() == [7]
    reader = ClockReader(ClockReaderConfig(**SMALL_POLAR, hour_lattice_window=6.0))
    assert reader.config.hour_overlap_discount == 1.0  # the seed study's default: every vote alike
    _, minutes = reader.decode_votes(weights, votes)
    assert [t.item() for t in split_dial_minutes(minutes)] == [7, 40]
    _, minutes = reader.decode_votes(weights, votes, hour_overlap_discount=0.3)
    assert [t.item() for t in split_dial_minutes(minutes)] == [3, 40]
    reader.config.hour_overlap_discount = 0.3
    _, minutes = reader.decode_votes(weights, votes)
    assert [t.item() for t in split_dial_minutes(minutes)] == [3, 40]
    # a true overlap: 7:38's hour hand lies under the minute hand and holds every vote; discounted, it still wins
    weights[0, 46, 1], weights[0, 22, 1] = 1.0, 0.0
    _, minutes = reader.decode_votes(weights, votes)
    assert split_dial_minutes(minutes)[0].tolist() == [7]


@pytest.mark.parametrize("overrides, message", [
    ({"hour_lattice_window": 6.0, "hour_overlap_discount": 0.0}, "`hour_overlap_discount` must be in \\(0, 1\\]"),
    ({"hour_lattice_window": 6.0, "hour_overlap_discount": 1.5}, "`hour_overlap_discount` must be in \\(0, 1\\]"),
    ({"hour_lattice_window": 6.0, "hour_overlap_discount": float("nan")}, "`hour_overlap_discount` must be a share"),
    ({"hour_lattice_window": 6.0, "hour_overlap_discount": True}, "`hour_overlap_discount` must be a share"),
])
def test_hour_overlap_discount_refuses_impossible_values_naming_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        ClockReaderConfig(**SMALL_POLAR, **overrides)


def test_hand_fit_picks_the_twelve_whose_minute_puts_the_hour_hand_in_its_place():
    """At 3:00 with 12 at the top the hour hand points at 90 degrees and the minute hand at 0. Taking the mark at 6
    for 12 reads 9:30, whose hour hand would point 15 degrees from 90; the mark at 9 reads 6:45 (7.5 degrees off).
    A marker softmax leaning 0.55 / 0.45 to the mark at 6 reads 9:30 without the fit and 3:00 with it."""
    cols = 72
    directions = torch.arange(cols, dtype=torch.float32) * 360 / cols
    weights, votes = torch.zeros(1, cols, 4), directions[None, :, None].repeat(1, 1, 4)
    weights[0, 36, 0], weights[0, 0, 0] = 0.55, 0.45  # the marker: 180 degrees (wrong) and 0 (right)
    weights[0, 0, 3] = 1.0  # tick phase 0
    weights[0, 0, 2] = 1.0  # the minute hand at 0 degrees
    weights[0, 18, 1] = 1.0  # the hour hand at 90 degrees
    lattice = 30.0 * torch.arange(12.0)[None]
    fit = hand_fit_scores(weights[..., 1], votes[..., 1], lattice, torch.tensor([0.0]), 3.0)
    assert fit.shape == (1, 12) and fit[0, 0].item() == pytest.approx(0.0)  # the hand exactly in place
    assert fit[0, 6].item() == pytest.approx(math.log(1e-4))  # 15 degrees off: exp(-12.5), below the floor
    assert fit[0, 9].item() == pytest.approx(-0.5 * 2.5 ** 2)  # 7.5 degrees off
    assert fit[0, 1].item() == pytest.approx(-0.5 * (2.5 / 3.0) ** 2)  # the neighbouring mark: 2.5 degrees off
    config = ClockReaderConfig(head="angles", **SMALL_POLAR)
    assert config.hand_fit_weight == 0.0 and config.hand_fit_sigma == 3.0
    reader = ClockReader(config)
    _, minutes = reader.decode_votes(weights, votes)
    assert [t.item() for t in split_dial_minutes(minutes)] == [9, 30]
    reader.config.hand_fit_weight = 2.0
    _, minutes = reader.decode_votes(weights, votes)
    assert [t.item() for t in split_dial_minutes(minutes)] == [3, 0]
    # the neighbouring mark is only 2.5 degrees off the hand, so between neighbours the marker still decides
    weights[0, 36, 0], weights[0, 6, 0], weights[0, 0, 0] = 0.0, 0.9, 0.1  # 30 degrees (mark 1) and 0
    _, minutes = reader.decode_votes(weights, votes)
    assert [t.item() for t in split_dial_minutes(minutes)] == [1, 55]


@pytest.mark.parametrize(("overrides", "match"), [
    ({"hand_fit_weight": -1.0}, "hand_fit_weight"),
    ({"hand_fit_weight": float("nan")}, "hand_fit_weight"),
    ({"hand_fit_sigma": 0.0}, "hand_fit_sigma"),
    ({"hand_fit_sigma": "3"}, "hand_fit_sigma"),
    ({"hand_fit_weight": 1.0, "head": "periodic"}, "`hand_fit_weight` > 0 needs the `angles` head"),
])
def test_hand_fit_options_are_checked(overrides, match):
    with pytest.raises(ValueError, match=match):
        ClockReaderConfig(**{"head": "angles", **SMALL_POLAR, **overrides})


def test_mark_votes_add_a_sector_softmax_per_column_trained_with_the_marker():
    """``mark_votes`` adds twelve outputs per column and a per-direction prior table; both learn from the
    true 12 o'clock; without it the reader's weights are the ones saved before (no new tensors)."""
    torch.manual_seed(0)
    plain = ClockReader(ClockReaderConfig(head="angles", angle_channels=True, **SMALL_POLAR))
    voting = ClockReader(ClockReaderConfig(head="angles", angle_channels=True, mark_votes=True, **SMALL_POLAR))
    assert plain.out.out_features == 8 and voting.out.out_features == 20
    assert "mark_prior" not in dict(plain.named_parameters())
    assert voting.mark_prior.shape == (voting.config.feature_map_shape[1], 12)
    image = torch.randn(3, 1, 32, 32)
    targets = dict(dial_rotation=torch.tensor([0.0, 90.0, 200.0]), hour_hand_angle=torch.tensor([10.0, 100.0, 300.0]),
                   minute_hand_angle=torch.tensor([50.0, 170.0, 20.0]))
    voting.train()
    loss = voting(pixel_values=image, **targets).loss
    loss.backward()
    assert voting.mark_prior.grad.abs().sum() > 0 and voting.out.weight.grad[8:].abs().sum() > 0
    voting.config.mark_vote_loss_weight = 0.0
    assert voting(pixel_values=image, **targets).loss.item() < loss.item()
    voting.eval()
    with torch.no_grad():
        weights, votes, marks = voting.column_votes(image)
        directions, evidence = marks
        assert directions.shape == (3, voting.config.feature_map_shape[1]) and evidence.shape == (*directions.shape, 12)
        # the evidence is the columns' log-probabilities less the prior table's; with up hidden, the former alone
        _, _, _, sectors = voting.column_readout(voting.backbone(image))
        torch.testing.assert_close(evidence, sectors - voting.mark_prior.log_softmax(-1)[None])
        assert plain.column_votes(image)[2] is None


def test_mark_vote_dial_loss_trains_the_summed_votes_against_the_marker_softmax():
    """The dial-level loss scores the twelve marks of the true lattice as reading does: evidence that puts 12
    where the marker's mass already is costs little, evidence for another mark costs more, and it only trains
    the columns' sector outputs (not the marker softmax nor the prior table)."""
    torch.manual_seed(0)
    config = ClockReaderConfig(head="angles", angle_channels=True, mark_votes=True, mark_vote_dial_loss_weight=1.0,
                               mark_vote_weight=1.0, mark_vote_loss_weight=0.0, **SMALL_POLAR)
    reader = ClockReader(config)
    cols = config.feature_map_shape[1]
    directions = torch.arange(cols, dtype=torch.float32) * 360 / cols
    weights = torch.zeros(1, cols)
    weights[0, cols // 4] = 1.0  # the marker's mass at 90 degrees: the true 12 here
    votes = directions[None].clone()
    marker = torch.tensor([90.0])
    with torch.no_grad():
        reader.mark_prior.zero_()

    def loss_for(twelve):
        sectors = sector_shares(directions[None], torch.tensor([twelve])).clamp(min=1e-3).log()
        return reader.mark_vote_dial_loss(weights, votes, sectors, directions, marker).item()

    agreeing, disagreeing = loss_for(90.0), loss_for(210.0)
    assert agreeing < 0.01 < disagreeing
    # a marker with no mass at the true 12 leaves all of the choice to the votes
    weights.zero_()
    weights[0, cols // 2] = 1.0  # 180 degrees
    assert loss_for(90.0) < math.log(12) < loss_for(210.0)

    image = torch.randn(2, 1, 32, 32)
    targets = dict(dial_rotation=torch.tensor([0.0, 200.0]), hour_hand_angle=torch.tensor([10.0, 100.0]),
                   minute_hand_angle=torch.tensor([50.0, 170.0]))
    reader.train()
    with_dial = reader(pixel_values=image, **targets).loss
    reader.config.mark_vote_dial_loss_weight = 0.0
    assert reader(pixel_values=image, **targets).loss.item() != pytest.approx(with_dial.item())
    reader.config.mark_vote_dial_loss_weight = 1.0
    log_weights, column_votes, directions, sectors = reader.column_readout(reader.backbone(image))
    dial = reader.mark_vote_dial_loss(log_weights[..., 0].exp(), column_votes[..., 0], sectors, directions,
                                      targets["dial_rotation"])
    reader.zero_grad()
    dial.backward()
    assert reader.out.weight.grad[8:].abs().sum() > 0  # the sector outputs learn
    assert reader.out.weight.grad[0].abs().sum() == 0 and reader.out.weight.grad[4].abs().sum() == 0  # not the marker
    assert reader.mark_prior.grad is None or reader.mark_prior.grad.abs().sum() == 0


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"head": "clockwise"}, "`head`"),
        ({"interval_minutes": 7}, "`interval_minutes`"),
        ({"interval_minutes": 0}, "`interval_minutes`"),
        ({"dropout": 1.5}, "`dropout`"),
        ({"activation": "swish"}, "`activation`"),
        ({"fc_activation": "swish"}, "`fc_activation`"),
        ({"initializer": "zeros"}, "`initializer`"),
        ({"conv_strides": [2]}, "`conv_strides`"),
        ({"conv_filters": []}, "`conv_filters`"),
        ({"num_channels": 2}, "`num_channels`"),
        ({"angle_loss_weights": [1.0, 1.0]}, "`angle_loss_weights`"),
        ({"column_attention_layers": -1}, "`column_attention_layers`"),
        ({"up_dropout": 1.5, "angle_channels": True}, "`up_dropout`"),
        ({"up_dropout": 0.25, "angle_channels": False}, "`up_dropout` needs `angle_channels`"),
        ({"column_attention_layers": 1}, "`column_attention_layers` needs the `angles` head on the polar grid"),
        ({"mark_votes": True}, "`mark_votes` needs the `angles` head on the polar grid"),
        ({"mark_vote_weight": -0.1}, "`mark_vote_weight`"),
        ({"mark_vote_loss_weight": float("nan")}, "`mark_vote_loss_weight`"),
        ({"mark_vote_dial_loss_weight": -1.0}, "`mark_vote_dial_loss_weight`"),
        ({"mark_vote_dial_loss_weight": 0.5}, "`mark_vote_dial_loss_weight` > 0 needs `mark_votes`"),
        ({"hour_lattice_window": -1.0}, "`hour_lattice_window`"),
        ({"hour_lattice_window": 15.0, "head": "angles", "polar": True}, "`hour_lattice_window` must be below 15"),
        ({"hour_lattice_window": "6"}, "`hour_lattice_window` must be a number"),
        ({"hour_lattice_window": float("inf"), "head": "angles", "polar": True}, "`hour_lattice_window` must be a number"),
        ({"hour_lattice_window": 6.0}, "`hour_lattice_window` > 0 needs the `angles` head on the polar grid"),
        ({"column_attention_width": 10, "column_attention_heads": 4}, "`column_attention_width`"),
        ({"image_size": 8, "conv_strides": [4, 1]}, "shrank below the pooling window"),
    ],
)
def test_config_validation_names_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        ClockReaderConfig(**{**SMALL, **overrides})


def test_config_defaults_keep_spatial_information():
    config = ClockReaderConfig()
    assert config.head == "angles" and config.model_type == "tinyvision_clock"
    assert min(config.feature_map_shape) > 1  # flattened / read per column, not globally pooled
    assert ClockReaderConfig(head="periodic").fc_activation == "tanh"
    assert ClockReaderConfig(head="classification", interval_minutes=5).num_outputs == 144


# ----------------------------------------------------------------------- save and load
def _saved_reader(folder: Path, head: str = "angles", small: dict = SMALL_POLAR) -> ClockReader:
    torch.manual_seed(0)
    model = ClockReader(ClockReaderConfig(head=head, batch_norm=True, **small)).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, so that they must be saved too
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
        if model.config.column_attention_layers:
            _with_live_column_attention(model)
    model.save_pretrained(folder)
    TinyVisionImageProcessor(size={"height": 32, "width": 32}, num_channels=1, image_mean=[0.4], image_std=[0.3]
                             ).save_pretrained(folder)
    return model


@pytest.mark.parametrize("head, small", [
    ("hybrid", SMALL), ("angles", SMALL_POLAR),
    ("angles", {**SMALL_POLAR, "column_attention_layers": 1, "column_attention_width": 8, "column_attention_heads": 2}),
])
def test_save_load_gives_identical_outputs(tmp_path, head, small):
    model = _saved_reader(tmp_path, head, small)
    loaded = AutoModel.from_pretrained(tmp_path).eval()
    assert type(loaded) is ClockReader and loaded.config.head == head
    pixels = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        a, b = model(pixel_values=pixels), loaded(pixel_values=pixels)
    torch.testing.assert_close(a.logits, b.logits, rtol=0, atol=0)
    assert torch.equal(a.hour, b.hour) and torch.equal(a.minute, b.minute)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_clock.ClockReader"
    assert config["custom_pipelines"]["clock-reading"]["impl"] == "pipeline_clock.ClockReadingPipeline"
    for name in ("modeling_clock.py", "clock_heads.py", "configuration_clock.py", "layers.py", "modeling_utils.py",
                 "pipeline_clock.py", "image_processing_tinyvision.py"):
        assert (tmp_path / name).exists(), name
    assert type(AutoConfig.from_pretrained(tmp_path)) is ClockReaderConfig


def _images():
    rng = np.random.default_rng(0)
    return [
        Image.fromarray(rng.integers(0, 255, (150, 150), dtype=np.uint8), mode="L"),
        Image.fromarray(rng.integers(0, 255, (37, 53, 3), dtype=np.uint8), mode="RGB"),
        Image.fromarray(rng.integers(0, 255, (61, 29, 4), dtype=np.uint8), mode="RGBA"),
    ]


def test_clock_reading_pipeline_on_any_image(tmp_path, monkeypatch):
    model = _saved_reader(tmp_path)

    prompts = []

    def no_prompt(*args, **kwargs):  # transformers swallows errors of optional components: record instead
        prompts.append(args)
        raise EOFError

    monkeypatch.setattr("builtins.input", no_prompt)
    reader = pipeline("clock-reading", model=str(tmp_path))
    assert prompts == [], "the pipeline asked whether to trust remote code; the registered classes must do"
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    for image in _images():
        result = reader(image)
        assert set(result) == {"hour", "minute", "time"}
        assert 0 <= result["hour"] <= 11 and 0 <= result["minute"] <= 59
        assert result["time"] == f"{result['hour']}:{result['minute']:02d}"
        with torch.no_grad():
            out = model(**processor(image, return_tensors="pt"))
        assert (result["hour"], result["minute"]) == (out.hour.item(), out.minute.item())
    batch = reader(_images())
    assert [r["time"] for r in batch] == [reader(image)["time"] for image in _images()]


REMOTE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch
    from PIL import Image
    from transformers import AutoModel, pipeline

    folder = sys.argv[1]
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    out = model(pixel_values=torch.load(sys.argv[2]))
    images = [Image.open(path) for path in sys.argv[3:]]
    by_task = pipeline("clock-reading", model=folder, trust_remote_code=True)
    inferred = pipeline(model=folder, trust_remote_code=True)
    print(json.dumps({
        "module": type(model).__module__, "pipeline": type(by_task).__module__,
        "logits": out.logits.tolist(), "hour": out.hour.tolist(), "minute": out.minute.tolist(),
        "by_task": [by_task(image) for image in images], "inferred": [inferred(image) for image in images],
    }))
    """
)


def test_trust_remote_code_round_trip_and_pipeline_without_tinyvision(tmp_path):
    folder = tmp_path / "model"
    model = _saved_reader(folder, "hybrid")
    pixels = torch.randn(3, 1, 32, 32)
    torch.save(pixels, tmp_path / "pixels.pt")
    paths = []
    for index, image in enumerate(_images()):
        paths.append(str(tmp_path / f"clock{index}.png"))
        image.save(paths[-1])
    payload = run_without_tinyvision(REMOTE_SCRIPT, folder, tmp_path / "pixels.pt", *paths, cwd=tmp_path)
    assert payload["module"].startswith("transformers_modules")
    assert payload["pipeline"].startswith("transformers_modules")
    with torch.no_grad():
        local = model(pixel_values=pixels)
    torch.testing.assert_close(torch.tensor(payload["logits"]), local.logits)
    assert payload["hour"] == local.hour.tolist() and payload["minute"] == local.minute.tolist()
    reader = pipeline("clock-reading", model=str(folder))
    expected = [reader(Image.open(path)) for path in paths]
    assert payload["by_task"] == expected and payload["inferred"] == expected


# ------------------------------------------------------------------------- data and step
def test_quarter_turns_rotate_clockwise_and_shift_the_angles():
    image = torch.zeros(2, 1, 5, 5, dtype=torch.uint8)
    image[:, 0, 0, 2] = 255  # a dot straight up
    angles = {"dial_rotation": torch.tensor([0.0, 300.0])}
    rotated, shifted = rotate_quarter_turns(image, angles, torch.tensor([1, 2]))
    assert rotated[0, 0, 2, 4] == 255  # up → right: a quarter turn clockwise
    assert rotated[1, 0, 4, 2] == 255  # half a turn: down
    assert shifted["dial_rotation"].tolist() == [90.0, 120.0]


def test_clock_step_measures_common_sense_error():
    torch.manual_seed(0)
    model = ClockReader(ClockReaderConfig(head="hybrid", **SMALL)).eval()
    processor = TinyVisionImageProcessor(size={"height": 32, "width": 32}, num_channels=1)
    step = ClockStep(model, processor)
    batch = {"pixel_values": torch.randint(0, 255, (5, 1, 32, 32), dtype=torch.uint8),
             "hour": torch.tensor([0, 1, 2, 3, 4]), "minute": torch.tensor([0, 10, 20, 30, 40])}
    values = step.eval_step(batch)
    with torch.no_grad():
        out = model(pixel_values=processor.normalize_uint8(batch["pixel_values"]))
    expected = common_sense_error(out.hour, out.minute, batch["hour"], batch["minute"]).float()
    torch.testing.assert_close(values["cse"], expected)
    metrics = step.compute_metrics(values)
    assert metrics["cse_mean"] == pytest.approx(expected.mean().item())
    assert set(metrics) == {"cse_mean", "cse_median", "cse_p90", "hour_accuracy", "loss"}


def test_course_npy_loader(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (30, 40, 40), dtype=np.uint8)
    labels = np.stack([rng.integers(0, 12, 30), rng.integers(0, 60, 30)], axis=1)
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "labels.npy", labels)
    data = load_reader_data(ClockArguments(model="reader", dataset_name=str(tmp_path), head="hybrid", image_size=24))
    assert (len(data.train), len(data.validation), len(data.test)) == (24, 3, 3)
    assert data.train.columns["pixel_values"].shape == (24, 1, 24, 24)
    assert data.train.columns["pixel_values"].dtype == torch.uint8 and not data.has_columns(ANGLE_COLUMNS)
    # Rows keep their labels, and pixels match the image processor's resize of the same image.
    processor = TinyVisionImageProcessor(size={"height": 24, "width": 24}, num_channels=1)
    expected = torch.stack([processor.to_uint8(Image.fromarray(image)) for image in images])
    for split in (data.train, data.validation, data.test):
        for pixels, hour, minute in zip(split.columns["pixel_values"], split.columns["hour"], split.columns["minute"]):
            row = (expected == pixels).flatten(1).all(1).nonzero()[0, 0].item()
            assert (hour.item(), minute.item()) == tuple(labels[row])


def test_local_dataset_loader_with_and_without_angles(tmp_path):
    import datasets

    from tinyvision.data.clocks import make_clock_dataset

    clocks = make_clock_dataset(24, size=48, seed=3, num_proc=1)
    saved = tmp_path / "clocks"
    datasets.DatasetDict(train=clocks.select(range(20)), test=clocks.select(range(20, 24))).save_to_disk(str(saved))
    data = load_reader_data(ClockArguments(model="reader", dataset_name=str(saved), image_size=32), cache_dir=None)
    assert data.has_columns(ANGLE_COLUMNS) and len(data.test) == 4 and len(data.train) + len(data.validation) == 20
    assert data.train.columns["pixel_values"].shape[1:] == (1, 32, 32)
    assert data.test.columns["hour"].tolist() == clocks["hour"][20:]
    assert data.test.columns["dial_rotation"].tolist() == pytest.approx(clocks["dial_rotation"][20:])

    plain = tmp_path / "plain"
    plain.mkdir()
    clocks.select_columns(["image", "hour", "minute"]).to_parquet(str(plain / "train-00000-of-00001.parquet"))
    data = load_reader_data(ClockArguments(model="reader", dataset_name=str(plain), image_size=32), cache_dir=None)
    assert not data.has_columns(ANGLE_COLUMNS) and (len(data.train), len(data.validation), len(data.test)) == (20, 2, 2)
    with pytest.raises(ValueError, match="'angles' head needs the columns"):
        train_clock(ClockArguments(model="reader", dataset_name=str(plain), image_size=32),
                    TrainingArguments(output_dir=str(tmp_path / "out")))
    with pytest.raises(ValueError, match=r"unknown ClockReaderConfig field\(s\) \['polar_colz'\]"):
        build_clock_reader(ClockArguments(model="reader", head="hybrid", config_overrides='{"polar_colz": 64}'), data)


def test_max_rotation_makes_upright_clocks_and_is_refused_where_it_cannot_apply(tmp_path):
    args = ClockArguments(model="reader", image_size=32, num_train_examples=40, num_eval_examples=8, num_test_examples=8,
                          num_proc=1, max_rotation=0.0)
    data = load_reader_data(args, cache_dir=None)
    assert "dials within ±0°" in data.source
    for split in (data.train, data.validation, data.test):
        assert ((split.columns["dial_rotation"] + 180) % 360 - 180).abs().max() <= 6
    with pytest.raises(ValueError, match="max_rotation must be in"):
        ClockArguments(model="reader", max_rotation=-5)
    with pytest.raises(ValueError, match="--max_rotation shapes generated clocks only"):
        ClockArguments(model="reader", dataset_name=str(tmp_path), max_rotation=10)


# ------------------------------------------------------------------------------- script
def test_train_clock_script_smoke_size_end_to_end(tmp_path):
    out = tmp_path / "clock-reader"
    result = accelerate_launch("train_clock.py", [
        "--model", "reader",
        "--num_train_examples", "512", "--num_train_epochs", "1", "--image_size", "64", "--num_eval_examples", "64",
        "--num_test_examples", "128", "--output_dir", out, "--disable_tqdm", "true"], tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    for name in ("config.json", "model.safetensors", "preprocessor_config.json", "all_results.json",
                 "history.json", "run_config.json", "modeling_clock.py", "pipeline_clock.py"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "all_results.json").read_text())
    assert metrics["test_num_examples"] == 128 and metrics["eval_num_examples"] == 64
    for name in ("test_cse_mean", "test_cse_median", "test_cse_p90", "test_hour_accuracy"):
        assert 0 <= metrics[name] <= (360 if "cse" in name else 1), name
    assert metrics["epochs"] == 1
    config = json.loads((out / "config.json").read_text())
    assert config["head"] == "angles" and config["image_size"] == 64
    run = json.loads((out / "run_config.json").read_text())
    assert run["training_args"]["optimizer"] == "adamw"
    reader = pipeline("clock-reading", model=str(out))
    assert set(reader(Image.new("RGB", (150, 150), "white"))) == {"hour", "minute", "time"}
    assert math.isfinite(json.loads((out / "history.json").read_text())[0]["train_loss"])


def test_from_pretrained_checks_an_overridden_hour_lattice_window(tmp_path):
    """A window given to ``from_pretrained`` is checked like the config's own (it is set after the config's
    checks; the model checks again)."""
    ClockReader(ClockReaderConfig(head="angles", **SMALL_POLAR)).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="`hour_lattice_window` must be below 15"):
        ClockReader.from_pretrained(tmp_path, hour_lattice_window=20.0)
    assert ClockReader.from_pretrained(tmp_path, hour_lattice_window=4.0).config.hour_lattice_window == 4.0
